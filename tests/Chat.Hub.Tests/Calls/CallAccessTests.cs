using System.Net.Http.Json;
using Chat.Hub.Features.Calls;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Moderation;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Calls;

/// <summary>
/// Someone who loses the right to act in a chat during its live call — leaves the school, is removed from the chat, is
/// blocked — is taken out of the call at once: the class hears they left, their own devices hear it, and every call
/// method refuses them from then on.
/// </summary>
public sealed class CallAccessTests(ChatApp app) : IClassFixture<ChatApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task PupilLeavesTheSchoolMidLesson_TakenOutOfTheCall_TheClassAndTheirDevicesHearIt()
    {
        var l = await Lesson.CreateAsync(app);
        await using var t = await HubClient.ConnectAsync(app, l.Teacher);
        await using var p = await HubClient.ConnectAsync(app, l.Pupil);
        await using var p2 = await HubClient.ConnectAsync(app, l.Pupil2);
        var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true)).Call.CallId;
        await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await p2.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        var (teacherHears, pupilHears) = (LeftSeen(t, callId), OutSeen(p, l.Pupil.AccountId));

        await (await l.School.Admin.Http.PostAsJsonAsync($"{l.School.Api}/students/{l.Pupil.AccountId}/leave", new { reason = "Переезд" })).EnsureOkAsync();

        Assert.Equal(l.Pupil.AccountId, await teacherHears.WaitAsync(Wait));
        await pupilHears.WaitAsync(Wait);
        var call = await t.Connection.InvokeAsync<CallDto>("GetCall", callId);
        Assert.DoesNotContain(call.Participants, x => x.AccountId == l.Pupil.AccountId);
        Assert.Contains(call.Participants, x => x.AccountId == l.Pupil2.AccountId);
        await p.Connection.InvokeAsync<CallDto>("RaiseHand", callId, true).ExpectHubErrorAsync("chat_not_found");
        await p.Connection.InvokeAsync<string>("Subscribe", callId, 5L).ExpectHubErrorAsync("chat_not_found");
        await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId).ExpectHubErrorAsync("chat_not_found");

        await t.Connection.InvokeAsync("EndCall", callId);
    }

    /// <summary>
    /// The operator suspends a school mid-lesson: its live call ends for everyone at once (their media would otherwise
    /// go on through Janus for as long as they stayed), and nobody can start or join one while it is suspended.
    /// </summary>
    [Fact]
    public async Task SchoolSuspendedMidLesson_TheCallEndsForEveryone()
    {
        var l = await Lesson.CreateAsync(app);
        var op = await app.OperatorAsync(SchoolBuilder.NewPhone());
        await using var t = await HubClient.ConnectAsync(app, l.Teacher);
        await using var p = await HubClient.ConnectAsync(app, l.Pupil);
        var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true)).Call.CallId;
        await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        var ended = new TaskCompletionSource<Guid>(TaskCreationOptions.RunContinuationsAsynchronously);
        p.Connection.On<Guid>("CallEnded", id => ended.TrySetResult(id));

        await (await op.Http.PostAsync($"/api/platform/schools/{l.School.Id}/suspend", null)).EnsureOkAsync();

        Assert.Equal(callId, await ended.Task.WaitAsync(Wait));
        Assert.Equal(1, await app.ExecuteSqlAsync("UPDATE calls SET ended_at = ended_at WHERE id = @callId AND ended_at IS NOT NULL", new { callId }));
        await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId).ExpectHubErrorAsync("call_not_found");
        await t.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true).ExpectHubErrorAsync("chat_not_found");
    }

    [Fact]
    public async Task ModeratorBlocksOrRemovesSomeoneMidCall_TakenOutOfTheCall_CannotComeBack()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var t = await HubClient.ConnectAsync(app, room.Teacher);
        await using var petya = await HubClient.ConnectAsync(app, room.Petya);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        var rule = (await t.Connection.InvokeAsync<List<RuleDto>>("GetRules", room.School.Id)).First();

        // Blocked in the class chat during a lesson (after four recorded violations, as the rules require).
        var lesson = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", room.ChatId, true)).Call.CallId;
        await petya.Connection.InvokeAsync<CallJoinDto>("JoinCall", lesson);
        var (teacherHears, petyaHears) = (LeftSeen(t, lesson), OutSeen(petya, room.Petya.AccountId));
        await Moderate.BlockAsync(t.Connection, room.ChatId, room.Petya.AccountId, rule.Id, DateTimeOffset.UtcNow.AddDays(7), "Флуд на уроке");
        Assert.Equal(room.Petya.AccountId, await teacherHears.WaitAsync(Wait));
        await petyaHears.WaitAsync(Wait);
        Assert.DoesNotContain((await t.Connection.InvokeAsync<CallDto>("GetCall", lesson)).Participants, x => x.AccountId == room.Petya.AccountId);
        await petya.Connection.InvokeAsync<CallDto>("RaiseHand", lesson, true).ExpectHubErrorAsync("member_blocked");
        await petya.Connection.InvokeAsync<CallJoinDto>("JoinCall", lesson).ExpectHubErrorAsync("member_blocked");
        await t.Connection.InvokeAsync("EndCall", lesson);

        // Removed from a hand-made group during its call.
        var club = await t.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(room.School.Id, "group", "Шахматный кружок", null, null, [room.Petya.AccountId, room.Masha.AccountId]));
        var call = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", club.Id, false)).Call.CallId;
        await masha.Connection.InvokeAsync<CallJoinDto>("JoinCall", call);
        var (hostHears, mashaHears) = (LeftSeen(t, call), OutSeen(masha, room.Masha.AccountId));
        await t.Connection.InvokeAsync("RemoveChatMember", new RemoveMemberRequest(club.Id, room.Masha.AccountId, rule.Id, "Мешает"));
        Assert.Equal(room.Masha.AccountId, await hostHears.WaitAsync(Wait));
        await mashaHears.WaitAsync(Wait);
        Assert.DoesNotContain((await t.Connection.InvokeAsync<CallDto>("GetCall", call)).Participants, x => x.AccountId == room.Masha.AccountId);
        await masha.Connection.InvokeAsync<CallJoinDto>("JoinCall", call).ExpectHubErrorAsync("chat_not_found");
        await t.Connection.InvokeAsync("EndCall", call);
    }

    /// <summary>
    /// The school channel: a verified teacher who only reads it cannot start (or plan, or take over) a call there — a
    /// two-way call in the channel would show its readers to each other and let any parent talk to any pupil; its admin
    /// starts a broadcast only.
    /// </summary>
    [Fact]
    public async Task SchoolChannel_AReadingTeacherStartsNothing_TheAdminOnlyABroadcast()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("6А");
        var teacher = await school.AddVerifiedTeacherAsync("Нина Петровна", a.Id);
        var pupil = await school.AddStudentAsync("Дима", a.Id);
        await using var admin = await HubClient.ConnectAsync(app, school.Admin);
        await using var t = await HubClient.ConnectAsync(app, teacher);
        await using var p = await HubClient.ConnectAsync(app, pupil);
        var channel = Assert.Single(await t.ChatsAsync(school.Id), c => c.Title == "Общешкольный канал");
        Assert.Equal(("member", false), (channel.Role, channel.CanPost));

        await t.Connection.InvokeAsync<CallJoinDto>("StartCall", channel.Id, false).ExpectHubErrorAsync("call_start_not_allowed");
        await t.Connection.InvokeAsync<CallJoinDto>("StartBroadcast", channel.Id).ExpectHubErrorAsync("call_start_not_allowed");
        await t.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(channel.Id, "Собрание", DateTimeOffset.UtcNow.AddHours(2), "call"))
            .ExpectHubErrorAsync("call_start_not_allowed");
        await admin.Connection.InvokeAsync<CallJoinDto>("StartCall", channel.Id, false).ExpectHubErrorAsync("channel_broadcast_only");
        await admin.Connection.InvokeAsync<CallPlanDto>("ScheduleCall", new ScheduleCallRequest(channel.Id, "Собрание", DateTimeOffset.UtcNow.AddHours(2), "call"))
            .ExpectHubErrorAsync("channel_broadcast_only");

        var broadcast = await admin.Connection.InvokeAsync<CallJoinDto>("StartBroadcast", channel.Id);
        Assert.Equal("broadcast", broadcast.Call.Kind);
        var watching = await t.Connection.InvokeAsync<CallJoinDto>("JoinCall", broadcast.Call.CallId);
        Assert.False(watching.MayHost);
        await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", broadcast.Call.CallId);
        await admin.Connection.InvokeAsync("LeaveCall", broadcast.Call.CallId);
        await t.Connection.InvokeAsync<CallDto>("TakeOverCall", broadcast.Call.CallId).ExpectHubErrorAsync("call_start_not_allowed");
        await admin.Connection.InvokeAsync("EndCall", broadcast.Call.CallId);

        // A plan of a plain call there, made before this rule (written here as it was stored then), opens nothing.
        var planId = Guid.NewGuid();
        await app.ExecuteSqlAsync(
            "INSERT INTO call_plans (id, chat_id, host_id, kind, title, starts_at) VALUES (@planId, @channel, @host, 'call', 'Собрание', now() + interval '5 minutes')",
            new { planId, channel = channel.Id, host = teacher.AccountId });
        await p.Connection.InvokeAsync<CallJoinDto>("JoinScheduledCall", planId).ExpectHubErrorAsync("channel_broadcast_only");
        Assert.Null(await p.Connection.InvokeAsync<CallDto?>("GetChatCall", channel.Id));
    }

    /// <summary>
    /// A member muted in the chat attends its lesson but sends nothing: what she had turned on goes off and her feeds
    /// leave the call at the mute, and she cannot turn her microphone or camera on again while it lasts (before, after
    /// the teacher's «Выключить микрофон» her own «Включить микрофон» made the media server forward her again).
    /// </summary>
    [Fact]
    public async Task MutedPupil_AttendsTheLessonAndReceives_ButPublishesNothing()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync();
        await using var t = await HubClient.ConnectAsync(app, room.Teacher);
        await using var masha = await HubClient.ConnectAsync(app, room.Masha);
        var rule = (await t.Connection.InvokeAsync<List<RuleDto>>("GetRules", room.School.Id)).First();
        var lesson = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", room.ChatId, true)).Call.CallId;
        await masha.Connection.InvokeAsync<CallJoinDto>("JoinCall", lesson);

        // Before the mute she has the word, her microphone and camera on and a camera feed (stored as Publish stores
        // it: no media server here).
        await t.Connection.InvokeAsync<CallDto>("AllowToSpeak", lesson, room.Masha.AccountId, true);
        await masha.Connection.InvokeAsync<CallDto>("SetMuted", lesson, false, false);
        await app.ExecuteSqlAsync("UPDATE call_participants SET feed_id = 4242 WHERE call_id = @lesson AND account_id = @masha",
            new { lesson, masha = room.Masha.AccountId });
        var silenced = new TaskCompletionSource<CallParticipantDto>(TaskCreationOptions.RunContinuationsAsynchronously);
        t.Connection.On<CallDto>("CallStateChanged", c =>
        {
            if (c.CallId == lesson && c.Participants.FirstOrDefault(x => x.AccountId == room.Masha.AccountId) is { AudioMuted: true } m)
            {
                silenced.TrySetResult(m);
            }
        });

        // A mute limits writing in the chat: she stays in the lesson, sees it, raises her hand, receives the teacher; what
        // she sent stops at once, and the class sees it.
        await t.Connection.InvokeAsync<RestrictionDto>("MuteMember", new MuteRequest(room.ChatId, room.Masha.AccountId, rule.Id, 30, "Флуд"));
        var seen = await silenced.Task.WaitAsync(Wait);
        Assert.True(seen.VideoMuted);
        Assert.Null(seen.FeedId);
        Assert.Contains((await t.Connection.InvokeAsync<CallDto>("GetCall", lesson)).Participants, x => x.AccountId == room.Masha.AccountId);
        Assert.Equal(lesson, (await masha.Connection.InvokeAsync<CallDto?>("GetChatCall", room.ChatId))!.CallId);
        await masha.Connection.InvokeAsync<CallDto>("RaiseHand", lesson, true);
        await masha.Connection.InvokeAsync<string>("Subscribe", lesson, 5L).ExpectHubErrorAsync("feed_not_found");
        await masha.Connection.InvokeAsync<CallJoinDto>("JoinCall", lesson);

        // Publishing is speaking: refused while muted, even though the teacher gave her the word. Turning the microphone
        // or the camera on again is refused too; off stays allowed.
        await masha.Connection.InvokeAsync<string>("Publish", lesson, "v=0").ExpectHubErrorAsync("member_muted");
        await masha.Connection.InvokeAsync<string>("PublishScreen", lesson, "v=0").ExpectHubErrorAsync("member_muted");
        await masha.Connection.InvokeAsync<CallDto>("SetMuted", lesson, false, false).ExpectHubErrorAsync("member_muted");
        await masha.Connection.InvokeAsync<CallDto>("SetMuted", lesson, true, false).ExpectHubErrorAsync("member_muted");
        await masha.Connection.InvokeAsync<CallDto>("SetMuted", lesson, true, true);
        Assert.Contains((await t.Connection.InvokeAsync<CallDto>("GetCall", lesson)).Participants,
            x => x.AccountId == room.Masha.AccountId && x is { AudioMuted: true, VideoMuted: true, SpeakAllowed: true, FeedId: null });

        await t.Connection.InvokeAsync("EndCall", lesson);
    }

    /// <summary>Who the call's chat hears left (ParticipantLeft), first time.</summary>
    private static Task<Guid> LeftSeen(HubClient client, Guid callId)
    {
        var seen = new TaskCompletionSource<Guid>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Connection.On<Guid, Guid>("ParticipantLeft", (call, who) =>
        {
            if (call == callId)
            {
                seen.TrySetResult(who);
            }
        });
        return seen.Task;
    }

    /// <summary>The person's own devices hear a state of the call without them.</summary>
    private static Task OutSeen(HubClient client, Guid accountId)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Connection.On<CallDto>("CallStateChanged", c =>
        {
            if (c.Participants.All(x => x.AccountId != accountId))
            {
                seen.TrySetResult();
            }
        });
        return seen.Task;
    }
}
