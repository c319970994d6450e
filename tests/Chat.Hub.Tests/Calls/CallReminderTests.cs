using System.Collections.Concurrent;
using System.Net.Http.Json;
using Chat.Hub.Features.Calls;
using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Calls;

/// <summary>Reminders two seconds ahead, looked for five times a second: short enough for tests.</summary>
public sealed class RemindersApp : ChatApp
{
    public static readonly Dictionary<string, string?> Settings = new()
    {
        ["Calls:Reminders:Lead"] = "00:00:02",
        ["Calls:Reminders:Poll"] = "00:00:00.200",
    };

    protected override IDictionary<string, string?> ExtraSettings => Settings;
}

/// <summary>
/// Two server processes and Redis (<see cref="ClusterApp"/>), all with short reminders; the in-process app is on the
/// same Redis too, so three nodes race for every reminder.
/// </summary>
public sealed class RemindersClusterApp : ClusterApp
{
    protected override IDictionary<string, string?> ExtraSettings =>
        new Dictionary<string, string?>(RemindersApp.Settings) { ["ConnectionStrings:Redis"] = Redis.ConnectionString };

    protected override IDictionary<string, string?> NodeSettings =>
        RemindersApp.Settings.ToDictionary(x => x.Key.Replace(":", "__", StringComparison.Ordinal), x => x.Value);
}

/// <summary>The CallReminder events one connection received.</summary>
internal sealed class ReminderLog
{
    private readonly ConcurrentQueue<CallReminderDto> all = new();

    public static ReminderLog Of(HubConnection connection)
    {
        var log = new ReminderLog();
        connection.On<CallReminderDto>("CallReminder", r => log.all.Enqueue(r));
        return log;
    }

    public IReadOnlyList<CallReminderDto> All => all.ToList();

    /// <summary>The reminders of one plan in arrival order: false = "starts soon", true = "starts now".</summary>
    public IReadOnlyList<bool> For(Guid planId) => all.Where(r => r.PlanId == planId).Select(r => r.AtStart).ToList();

    public Task StartOfAsync(Guid planId, string who) =>
        HubClient.EventuallyAsync(() => For(planId).Contains(true), $"{who}: the start reminder of {planId}", 30_000);
}

/// <summary>Scheduled calls remind the chat's members shortly before they start and at the start, once, from one node.</summary>
public sealed class CallReminderTests(RemindersApp app) : IClassFixture<RemindersApp>
{
    /// <summary>Long enough after the last expected reminder for a duplicate (a poll every 200 ms) to have shown up.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1.5);

    [Fact]
    public async Task PlannedLesson_MembersRemindedSoonThenAtStart_Once_OtherClassNot()
    {
        var l = await Lesson.CreateAsync(app);
        await using var t = await HubClient.ConnectAsync(app, l.Teacher);
        await using var p = await HubClient.ConnectAsync(app, l.Pupil);
        await using var p2 = await HubClient.ConnectAsync(app, l.Pupil2);
        await using var s = await HubClient.ConnectAsync(app, l.Stranger);
        var (teacherLog, pupilLog, pupil2Log, strangerLog) = (ReminderLog.Of(t.Connection), ReminderLog.Of(p.Connection), ReminderLog.Of(p2.Connection), ReminderLog.Of(s.Connection));

        var plan = await t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(l.Chat.Id, "Математика", DateTimeOffset.UtcNow.AddSeconds(5), "lesson"));
        foreach (var (log, who) in new[] { (teacherLog, "teacher"), (pupilLog, "pupil"), (pupil2Log, "pupil 2") })
        {
            await log.StartOfAsync(plan.PlanId, who);
        }

        await Task.Delay(Settle);
        foreach (var log in new[] { teacherLog, pupilLog, pupil2Log })
        {
            Assert.Equal([false, true], log.For(plan.PlanId));
        }

        var reminder = pupilLog.All.Single(r => r.PlanId == plan.PlanId && r.AtStart);
        Assert.Equal((l.Chat.Id, l.Teacher.AccountId, "lesson", "Математика", plan.StartsAt, plan.OpensAt),
            (reminder.ChatId, reminder.HostId, reminder.Kind, reminder.Title, reminder.StartsAt, reminder.OpensAt));
        Assert.Empty(strangerLog.All);

        // The reminder leads to the lesson: the pupil joins the plan it names.
        var joined = await p.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", reminder.PlanId);
        Assert.Equal(l.Teacher.AccountId, joined.Call.HostId);
        await t.Connection.InvokeAsync("EndCall", joined.Call.CallId);
    }

    [Fact]
    public async Task PageOpenedAfterTheReminders_GetsThemFromGetCallReminders_UntilTheLessonOpens_NotOtherClassesOrTheBlocked()
    {
        var l = await Lesson.CreateAsync(app);
        await using var t = await HubClient.ConnectAsync(app, l.Teacher);
        var teacherLog = ReminderLog.Of(t.Connection);
        var rule = (await t.Connection.InvokeAsync<List<Chat.Hub.Features.Moderation.RuleDto>>("GetRules", l.School.Id)).First();
        await Moderate.BlockAsync(t.Connection, l.Chat.Id, l.Pupil2.AccountId, rule.Id, DateTimeOffset.UtcNow.AddDays(1), "Флуд");

        // Nothing reminded yet: nothing to catch up. Then the "soon" reminder goes out while no page of the pupil is open.
        await using (var early = await HubClient.ConnectAsync(app, l.Pupil))
        {
            Assert.Empty(await early.Connection.InvokeAsync<List<CallReminderDto>>("GetCallReminders"));
        }

        var plan = await t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(l.Chat.Id, "Русский язык", DateTimeOffset.UtcNow.AddSeconds(4), "lesson"));
        await HubClient.EventuallyAsync(() => teacherLog.For(plan.PlanId).Contains(false), "the soon reminder", 30_000);
        async Task<List<CallReminderDto>> CaughtUpAsync(TestUser who)
        {
            await using var page = await HubClient.ConnectAsync(app, who);
            return await page.Connection.InvokeAsync<List<CallReminderDto>>("GetCallReminders");
        }

        var soon = Assert.Single(await CaughtUpAsync(l.Pupil));
        Assert.Equal((plan.PlanId, l.Chat.Id, "lesson", "Русский язык", false, plan.StartsAt, plan.OpensAt),
            (soon.PlanId, soon.ChatId, soon.Kind, soon.Title, soon.AtStart, soon.StartsAt, soon.OpensAt));
        Assert.Empty(await CaughtUpAsync(l.Stranger));
        Assert.Empty(await CaughtUpAsync(l.Pupil2)); // blocked in the chat: may not join the lesson

        // The start reminder went out: now that one; once the lesson is open, none (the chat says it is live instead).
        await teacherLog.StartOfAsync(plan.PlanId, "teacher");
        Assert.True(Assert.Single(await CaughtUpAsync(l.Pupil)).AtStart);
        var lesson = await t.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", plan.PlanId);
        Assert.Empty(await CaughtUpAsync(l.Pupil));
        await t.Connection.InvokeAsync("EndCall", lesson.Call.CallId);

        // A plan whose lesson the teacher began by hand (an ordinary call, not through the plan) is over too, also once
        // that call has ended.
        var second = await t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(l.Chat.Id, "Литература", DateTimeOffset.UtcNow.AddSeconds(6), "lesson"));
        await HubClient.EventuallyAsync(() => teacherLog.For(second.PlanId).Contains(false), "the second plan's soon reminder", 30_000);
        Assert.Equal(second.PlanId, Assert.Single(await CaughtUpAsync(l.Pupil)).PlanId);
        var byHand = await t.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true);
        await t.Connection.InvokeAsync("EndCall", byHand.Call.CallId);
        Assert.Empty(await CaughtUpAsync(l.Pupil));
    }

    [Fact]
    public async Task CancelledPlan_PlanWhoseCallStarted_PlanOfChatWithLiveCall_GetNoReminder()
    {
        var l = await Lesson.CreateAsync(app);
        await using var t = await HubClient.ConnectAsync(app, l.Teacher);
        await using var p = await HubClient.ConnectAsync(app, l.Pupil);
        var (teacherLog, pupilLog) = (ReminderLog.Of(t.Connection), ReminderLog.Of(p.Connection));
        var direct = await (await l.Pupil.Http.PostAsJsonAsync($"{l.School.Api}/direct-chats", new { accountId = l.Teacher.AccountId })).ReadAsync<ChatSummaryDto>();

        // Planned far enough ahead that nothing is due yet; then everything is moved to start in 1.9 s at once: «soon»
        // is due at the next poll (the lead is 2 s) and is sent only while the start is ahead, so a poll delayed by a busy
        // machine still has most of the lead to catch it (with one second it missed once in a full run).
        Task<CallPlanDto> Plan(Guid chatId, string title, TimeSpan after) =>
            t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(chatId, title, DateTimeOffset.UtcNow + after, "lesson"));
        var cancelled = await Plan(l.Chat.Id, "Отменённый урок", TimeSpan.FromHours(1));
        Assert.True((await t.Connection.InvokeAsync<CallPlanDto>("CancelScheduledCall", cancelled.PlanId)).Cancelled);
        var started = await Plan(l.Chat.Id, "Начатый урок", TimeSpan.FromMinutes(5));
        var call = await p.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", started.PlanId);
        var duringCall = await Plan(l.Chat.Id, "Урок во время звонка", TimeSpan.FromHours(1));
        var control = await Plan(direct.Id, "Консультация", TimeSpan.FromHours(1));
        await app.ExecuteSqlAsync(
            "UPDATE call_plans SET starts_at = now() + interval '1900 milliseconds' WHERE id = ANY(@ids)",
            new { ids = new[] { cancelled.PlanId, started.PlanId, duringCall.PlanId, control.PlanId } });

        await pupilLog.StartOfAsync(control.PlanId, "pupil");
        await teacherLog.StartOfAsync(control.PlanId, "teacher");
        await Task.Delay(Settle);
        foreach (var log in new[] { teacherLog, pupilLog })
        {
            Assert.Equal([false, true], log.For(control.PlanId));
            Assert.Empty(log.For(cancelled.PlanId));
            Assert.Empty(log.For(started.PlanId));
            Assert.Empty(log.For(duringCall.PlanId));
        }

        await t.Connection.InvokeAsync("EndCall", call.Call.CallId);
    }
}

/// <summary>Three nodes on one database and Redis race for every reminder: members on either node get each one once.</summary>
public sealed class CallReminderClusterTests(RemindersClusterApp cluster) : IClassFixture<RemindersClusterApp>
{
    [Fact]
    public async Task ThreeNodesPolling_EachReminderOfEachPlanReachesMembersOnBothNodesOnce()
    {
        var l = await Lesson.CreateAsync(cluster);
        await using var teacher = new NodeMember(l.Teacher);
        await using var pupil = new NodeMember(l.Pupil);
        await using var pupil2 = new NodeMember(l.Pupil2);
        await using var stranger = new NodeMember(l.Stranger);
        await teacher.ConnectAsync(cluster.NodeA.BaseAddress, []);
        await pupil.ConnectAsync(cluster.NodeB.BaseAddress, []);
        await pupil2.ConnectAsync(cluster.NodeA.BaseAddress, []);
        await stranger.ConnectAsync(cluster.NodeB.BaseAddress, []);
        var logs = new[] { (ReminderLog.Of(teacher.Connection), "teacher on A"), (ReminderLog.Of(pupil.Connection), "pupil on B"), (ReminderLog.Of(pupil2.Connection), "pupil 2 on A") };
        var strangerLog = ReminderLog.Of(stranger.Connection);

        // Several plans due at the same moment, so the nodes really race.
        var startsAt = DateTimeOffset.UtcNow.AddSeconds(5);
        var plans = new List<CallPlanDto>();
        foreach (var title in new[] { "Математика", "Русский язык", "Чтение" })
        {
            plans.Add(await teacher.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(l.Chat.Id, title, startsAt, "lesson")));
        }

        foreach (var plan in plans)
        {
            foreach (var (log, who) in logs)
            {
                await log.StartOfAsync(plan.PlanId, who);
            }
        }

        await Task.Delay(TimeSpan.FromSeconds(1.5));
        foreach (var plan in plans)
        {
            foreach (var (log, who) in logs)
            {
                Assert.True(log.For(plan.PlanId).SequenceEqual([false, true]), $"{who} got {string.Join(",", log.For(plan.PlanId))} for {plan.Title}");
            }
        }

        Assert.Empty(strangerLog.All);
    }
}
