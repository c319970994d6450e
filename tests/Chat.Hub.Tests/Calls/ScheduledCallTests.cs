using System.Net.Http.Json;
using Chat.Hub.Features.Calls;
using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Calls;

/// <summary>Scheduled lessons: announced in the chat, joinable ten minutes before, the first comer opens the call with the teacher as host.</summary>
public sealed class ScheduledCallTests(CallsApp app) : IClassFixture<CallsApp>
{
    /// <summary>
    /// The lesson is over and a pupil reloads its page (the address still names the plan): the plan does not open a new
    /// lesson hosted by a teacher who is gone — «Звонок не найден или уже завершён.» — nor does a plan long past that
    /// never opened; the teacher, who may start a lesson here anyway, still opens it.
    /// </summary>
    [Fact]
    public async Task LessonOver_PupilOpensThePlanAgain_CallNotFound_NorALongPastPlan_TheTeacherStillMay()
    {
        var l = await Lesson.CreateAsync(app);
        await using var t = await HubClient.ConnectAsync(app, l.Teacher);
        await using var p = await HubClient.ConnectAsync(app, l.Pupil);
        var plan = await t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(l.Chat.Id, "Литература", DateTimeOffset.UtcNow.AddMinutes(5), "lesson"));
        var lesson = await p.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", plan.PlanId);
        await t.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", plan.PlanId);
        await t.Connection.InvokeAsync("EndCall", lesson.Call.CallId);

        await p.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", plan.PlanId).ExpectHubErrorAsync("call_not_found");
        Assert.Null(await p.Connection.InvokeAsync<CallDto?>("GetChatCall", l.Chat.Id));

        // A plan seven hours past that nobody opened: the same for the pupil.
        var missed = await t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(l.Chat.Id, "Музыка", DateTimeOffset.UtcNow.AddMinutes(5), "lesson"));
        await using (var db = new Npgsql.NpgsqlConnection(app.ConnectionString))
        {
            await Dapper.SqlMapper.ExecuteAsync(db, "UPDATE call_plans SET starts_at = now() - interval '7 hours' WHERE id = @id", new { id = missed.PlanId });
        }

        await p.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", missed.PlanId).ExpectHubErrorAsync("call_not_found");
        Assert.Null(await p.Connection.InvokeAsync<CallDto?>("GetChatCall", l.Chat.Id));

        // The teacher starts the lesson again from the chat: the pupil's link of the plan takes him into it.
        var restarted = await t.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true);
        Assert.Equal(restarted.Call.CallId, (await p.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", plan.PlanId)).Call.CallId);
        await t.Connection.InvokeAsync("EndCall", restarted.Call.CallId);

        var again = await t.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", plan.PlanId);
        Assert.NotEqual(lesson.Call.CallId, again.Call.CallId);
        Assert.Equal(l.Teacher.AccountId, again.Call.HostId);
        await t.Connection.InvokeAsync("EndCall", again.Call.CallId);
    }

    [Fact]
    public async Task TeacherPlansLesson_ChatIsTold_TooEarlyRefused_InTheWindowPupilOpensItWithTeacherAsHost_CancelledPlanGone()
    {
        var l = await Lesson.CreateAsync(app);
        var (teacher, pupil, chat) = (l.Teacher, l.Pupil, l.Chat);
        await using var t = await HubClient.ConnectAsync(app, teacher);
        await using var p = await HubClient.ConnectAsync(app, pupil);
        await using var s = await HubClient.ConnectAsync(app, l.Stranger);

        var announced = new TaskCompletionSource<CallPlanDto>(TaskCreationOptions.RunContinuationsAsynchronously);
        p.Connection.On<CallPlanDto>("CallScheduled", plan => announced.TrySetResult(plan));
        await p.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(chat.Id, "Математика", DateTimeOffset.UtcNow.AddHours(2), "lesson"))
            .ExpectHubErrorAsync("call_start_not_allowed");
        await t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(chat.Id, "", DateTimeOffset.UtcNow.AddHours(2), "lesson"))
            .ExpectHubErrorAsync("validation_failed");
        await t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(chat.Id, "Вчера", DateTimeOffset.UtcNow.AddDays(-1), "lesson"))
            .ExpectHubErrorAsync("validation_failed");
        var later = await t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(chat.Id, "Математика", DateTimeOffset.UtcNow.AddHours(2), "lesson"));
        Assert.Equal(later.PlanId, (await announced.Task.WaitAsync(TimeSpan.FromSeconds(10))).PlanId);
        Assert.Contains(await p.HistoryAsync(chat.Id), m => m.Text != null && m.Text.Contains("Математика", StringComparison.Ordinal));
        // The announcement gives the start as ISO 8601 UTC, which clients show in local time.
        var iso = later.StartsAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(await p.HistoryAsync(chat.Id), m => m.Text == $"Запланирован урок «Математика» на {iso}. Подключиться можно за 10 минут до начала.");

        // «Запланировать» pressed again after a lost answer (the same dialog's id): the same plan, one announcement.
        var dialog = Guid.NewGuid();
        var once = await t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(chat.Id, "Физика", DateTimeOffset.UtcNow.AddHours(3), "lesson", dialog));
        var twice = await t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(chat.Id, "Физика", DateTimeOffset.UtcNow.AddHours(3), "lesson", dialog));
        Assert.Equal((dialog, dialog), (once.PlanId, twice.PlanId));
        Assert.Single(await p.Connection.InvokeAsync<List<CallPlanDto>>("GetScheduledCalls", chat.Id), x => x.Title == "Физика");
        Assert.Single(await p.HistoryAsync(chat.Id), m => m.Text != null && m.Text.Contains("«Физика»", StringComparison.Ordinal));
        // The id of a plan in another chat (or someone else's) is not taken over.
        var staffRoom = (await t.ChatsAsync(l.School.Id)).Single(x => x.Kind == "staff_room");
        await t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(staffRoom.Id, "Педсовет", DateTimeOffset.UtcNow.AddHours(3), "call", dialog))
            .ExpectHubErrorAsync("conflict");

        // Too early: refused with the time it opens; another class learns nothing.
        await p.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", later.PlanId).ExpectHubErrorAsync("call_not_open_yet");
        await s.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", later.PlanId).ExpectHubErrorAsync("chat_not_found");
        await s.Connection.InvokeAsync<List<CallPlanDto>>("GetScheduledCalls", chat.Id).ExpectHubErrorAsync("chat_not_found");

        // A lesson in five minutes is open already: the pupil comes first and the teacher still hosts it.
        var soon = await t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(chat.Id, "Русский язык", DateTimeOffset.UtcNow.AddMinutes(5), "lesson"));
        var first = await p.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", soon.PlanId);
        Assert.Equal(teacher.AccountId, first.Call.HostId);
        Assert.True(first.Call.LessonMode);
        Assert.False(first.Call.Participants.Single(x => x.AccountId == pupil.AccountId).SpeakAllowed);
        var second = await t.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", soon.PlanId);
        Assert.Equal(first.Call.CallId, second.Call.CallId);
        var listed = await p.Connection.InvokeAsync<List<CallPlanDto>>("GetScheduledCalls", chat.Id);
        Assert.Equal(first.Call.CallId, listed.Single(x => x.PlanId == soon.PlanId).CallId);
        await t.Connection.InvokeAsync<CallDto>("AllowToSpeak", first.Call.CallId, pupil.AccountId, true);

        // Only the planner (or a moderator) cancels; a cancelled plan cannot be joined.
        await p.Connection.InvokeAsync<CallPlanDto>("CancelScheduledCall", later.PlanId).ExpectHubErrorAsync("call_host_only");
        Assert.True((await t.Connection.InvokeAsync<CallPlanDto>("CancelScheduledCall", later.PlanId)).Cancelled);
        // The chat is told under the announcement, once (cancelling again is refused: the plan is gone).
        await t.Connection.InvokeAsync<CallPlanDto>("CancelScheduledCall", later.PlanId).ExpectHubErrorAsync("call_plan_not_found");
        Assert.Single(await p.HistoryAsync(chat.Id), m => m.Text == $"Отменён урок «Математика», запланированный на {iso}.");
        await p.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", later.PlanId).ExpectHubErrorAsync("call_plan_not_found");
        Assert.DoesNotContain(await p.Connection.InvokeAsync<List<CallPlanDto>>("GetScheduledCalls", chat.Id), x => x.PlanId == later.PlanId);

        await t.Connection.InvokeAsync("EndCall", first.Call.CallId);
    }

    /// <summary>
    /// A teacher who leaves the school hosts nothing there any more: her planned lessons are cancelled (no reminder,
    /// nobody opens a lesson whose mute and «разрешить говорить» would belong to nobody), and the chat sees them go.
    /// </summary>
    [Fact]
    public async Task TeacherLeavesTheSchool_HerPlannedLessonsAreCancelled_ThePupilsSeeThemGo()
    {
        var l = await Lesson.CreateAsync(app);
        await using var t = await HubClient.ConnectAsync(app, l.Teacher);
        await using var p = await HubClient.ConnectAsync(app, l.Pupil);
        var plan = await t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(l.Chat.Id, "Геометрия", DateTimeOffset.UtcNow.AddHours(3), "lesson"));
        var cancelled = new TaskCompletionSource<CallPlanDto>(TaskCreationOptions.RunContinuationsAsynchronously);
        p.Connection.On<CallPlanDto>("CallScheduled", x => { if (x.PlanId == plan.PlanId && x.Cancelled) cancelled.TrySetResult(x); });

        (await l.School.Admin.Http.PostAsJsonAsync($"{l.School.Api}/staff/{l.Teacher.AccountId}/leave", new { reason = "Переезд" })).EnsureSuccessStatusCode();

        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(await p.Connection.InvokeAsync<List<CallPlanDto>>("GetScheduledCalls", l.Chat.Id), x => x.PlanId == plan.PlanId);
        await p.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", plan.PlanId).ExpectHubErrorAsync("call_plan_not_found");
    }
}
