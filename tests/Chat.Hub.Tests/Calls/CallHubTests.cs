using Chat.Hub.Features.Calls;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Moderation;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Calls;

/// <summary>The app with TURN configured and no Janus: signaling and authorization without media.</summary>
public sealed class CallsApp : ChatApp
{
    public const string TurnSecret = "turn-test-secret";

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Calls:Turn:Secret"] = TurnSecret,
        ["Calls:Turn:Urls:0"] = "turn:127.0.0.1:3478?transport=udp",
        ["Calls:Turn:Lifetime"] = "00:10:00",
    };
}

/// <summary>Calls through the hub: who may start and join, lesson mode, host moderation, validation, recovery from the database.</summary>
public sealed class CallHubTests(CallsApp app) : IClassFixture<CallsApp>
{
    private static string Offer => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "chromium-offer-sendrecv.sdp"));

    [Fact]
    public async Task TeacherStartsLesson_PupilsJoinMuted_UnmuteRefusedUntilAllowed_OtherClassGetsChatNotFound()
    {
        var l = await Lesson.CreateAsync(app);
        await using var teacher = await HubClient.ConnectAsync(app, l.Teacher);
        await using var pupil = await HubClient.ConnectAsync(app, l.Pupil);
        await using var pupil2 = await HubClient.ConnectAsync(app, l.Pupil2);
        await using var stranger = await HubClient.ConnectAsync(app, l.Stranger);
        var started = new TaskCompletionSource<CallDto>(TaskCreationOptions.RunContinuationsAsynchronously);
        pupil.Connection.On<CallDto>("CallStarted", c => started.TrySetResult(c));

        // A pupil cannot start a call in the class chat; the teacher can.
        await pupil.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true).ExpectHubErrorAsync("call_start_not_allowed");
        var start = await teacher.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true);
        var callId = start.Call.CallId;
        Assert.True(start.Call.LessonMode);
        Assert.Equal(l.Teacher.AccountId, start.Call.HostId);
        Assert.Equal(callId, (await started.Task.WaitAsync(TimeSpan.FromSeconds(10))).CallId);

        // TURN credentials are per user and short-lived; the SFU room and its secret never reach clients.
        var ice = Assert.Single(start.IceServers);
        Assert.EndsWith(":" + l.Teacher.AccountId.ToString("N"), ice.Username, StringComparison.Ordinal);
        Assert.Equal(Chat.Signaling.Turn.TurnCredentials.Password(CallsApp.TurnSecret, ice.Username!), ice.Credential);
        Assert.InRange(start.IceServersExpireAt!.Value, DateTimeOffset.UtcNow.AddMinutes(9), DateTimeOffset.UtcNow.AddMinutes(11));

        // A pupil of 5Б learns nothing about 5А's call.
        await stranger.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId).ExpectHubErrorAsync("chat_not_found");
        await stranger.Connection.InvokeAsync<string>("Subscribe", callId, 1L).ExpectHubErrorAsync("chat_not_found");
        await stranger.Connection.InvokeAsync<CallDto>("GetCall", callId).ExpectHubErrorAsync("chat_not_found");

        var joined = await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        var me = joined.Call.Participants.Single(p => p.AccountId == l.Pupil.AccountId);
        Assert.True(me.AudioMuted);
        Assert.True(me.VideoMuted);
        Assert.False(me.SpeakAllowed);
        Assert.NotEqual(start.IceServers[0].Username, joined.IceServers[0].Username);

        // Fresh credentials on demand for someone in the call (a lesson outlasts them); not for someone who is not in it.
        var renewed = await pupil.Connection.InvokeAsync<IceServersDto>("GetIceServers", callId);
        var fresh = Assert.Single(renewed.IceServers);
        Assert.EndsWith(":" + l.Pupil.AccountId.ToString("N"), fresh.Username, StringComparison.Ordinal);
        Assert.Equal(Chat.Signaling.Turn.TurnCredentials.Password(CallsApp.TurnSecret, fresh.Username!), fresh.Credential);
        Assert.InRange(renewed.ExpireAt!.Value, joined.IceServersExpireAt!.Value, DateTimeOffset.UtcNow.AddMinutes(11));
        await pupil2.Connection.InvokeAsync<IceServersDto>("GetIceServers", callId).ExpectHubErrorAsync("not_in_call");
        await stranger.Connection.InvokeAsync<IceServersDto>("GetIceServers", callId).ExpectHubErrorAsync("chat_not_found");
        await pupil2.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        // Unmuting or publishing is refused until the host allows it; raising a hand is fine.
        await pupil.Connection.InvokeAsync<CallDto>("SetMuted", callId, false, true).ExpectHubErrorAsync("speak_not_allowed");
        await pupil.Connection.InvokeAsync<string>("Publish", callId, Offer).ExpectHubErrorAsync("speak_not_allowed");
        var hand = await pupil.Connection.InvokeAsync<CallDto>("RaiseHand", callId, true);
        Assert.True(hand.Participants.Single(p => p.AccountId == l.Pupil.AccountId).HandRaised);
        await pupil.Connection.InvokeAsync<CallDto>("AllowToSpeak", callId, l.Pupil2.AccountId, true).ExpectHubErrorAsync("call_host_only");
        var allowed = await teacher.Connection.InvokeAsync<CallDto>("AllowToSpeak", callId, l.Pupil.AccountId, true);
        Assert.True(allowed.Participants.Single(p => p.AccountId == l.Pupil.AccountId).SpeakAllowed);
        var unmuted = await pupil.Connection.InvokeAsync<CallDto>("SetMuted", callId, false, false);
        Assert.False(unmuted.Participants.Single(p => p.AccountId == l.Pupil.AccountId).AudioMuted);

        // The host mutes everyone, removes one pupil (who cannot come back) and locks the call.
        var mutedAll = await teacher.Connection.InvokeAsync<CallDto>("MuteParticipant", callId, null);
        Assert.All(mutedAll.Participants.Where(p => !p.IsHost), p => Assert.True(p.AudioMuted));
        await teacher.Connection.InvokeAsync<CallDto>("RemoveParticipant", callId, l.Pupil2.AccountId);
        await pupil2.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId).ExpectHubErrorAsync("removed_from_call");
        await teacher.Connection.InvokeAsync<CallDto>("LockCall", callId, true);
        await pupil.Connection.InvokeAsync("LeaveCall", callId);
        // The host acting on someone who has just left is told so (not «join the call first», as if the host were out).
        var gone = await teacher.Connection.InvokeAsync<CallDto>("MuteParticipant", callId, l.Pupil.AccountId).ExpectHubErrorAsync("participant_gone");
        Assert.Contains("уже нет в звонке", HubCalls.ServerMessage(gone), StringComparison.Ordinal);
        await teacher.Connection.InvokeAsync<CallDto>("AllowToSpeak", callId, l.Pupil.AccountId, true).ExpectHubErrorAsync("participant_gone");
        await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId).ExpectHubErrorAsync("call_locked");
        await teacher.Connection.InvokeAsync<CallDto>("LockCall", callId, false);
        await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        // Only the host ends the call; then it is gone for everyone.
        var ended = new TaskCompletionSource<Guid>(TaskCreationOptions.RunContinuationsAsynchronously);
        pupil.Connection.On<Guid>("CallEnded", id => ended.TrySetResult(id));
        await pupil.Connection.InvokeAsync("EndCall", callId).ExpectHubErrorAsync("call_host_only");
        await teacher.Connection.InvokeAsync("EndCall", callId);
        Assert.Equal(callId, await ended.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId).ExpectHubErrorAsync("call_not_found");
    }

    [Fact]
    public async Task GetChatCall_LiveCallForMembersWhoOpenTheChatLater_NullWithoutOne_OtherClassGetsChatNotFound()
    {
        var l = await Lesson.CreateAsync(app);
        await using var teacher = await HubClient.ConnectAsync(app, l.Teacher);
        await using var stranger = await HubClient.ConnectAsync(app, l.Stranger);
        await using (var early = await HubClient.ConnectAsync(app, l.Pupil))
        {
            Assert.Null(await early.Connection.InvokeAsync<CallDto?>("GetChatCall", l.Chat.Id));
        }

        var callId = (await teacher.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true)).Call.CallId;

        // A pupil who connects after CallStarted asks the chat for its call and joins it.
        await using var pupil = await HubClient.ConnectAsync(app, l.Pupil);
        var live = await pupil.Connection.InvokeAsync<CallDto?>("GetChatCall", l.Chat.Id);
        Assert.NotNull(live);
        Assert.Equal((callId, l.Chat.Id, l.Teacher.AccountId, true), (live.CallId, live.ChatId, live.HostId, live.LessonMode));
        Assert.Contains(live.Participants, p => p.AccountId == l.Teacher.AccountId && p.IsHost);
        await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", live.CallId);

        // Someone outside the chat learns nothing, not even whether a call is on.
        await stranger.Connection.InvokeAsync<CallDto?>("GetChatCall", l.Chat.Id).ExpectHubErrorAsync("chat_not_found");
        Assert.Null(await stranger.Connection.InvokeAsync<CallDto?>("GetChatCall", l.OtherChat.Id));

        await teacher.Connection.InvokeAsync("EndCall", callId);
        Assert.Null(await pupil.Connection.InvokeAsync<CallDto?>("GetChatCall", l.Chat.Id));
    }

    [Fact]
    public async Task GetChats_MarksTheLiveCallWithItsKind_NotForAMemberBlockedThere_NorOnceItEnded()
    {
        var l = await Lesson.CreateAsync(app);
        await using var teacher = await HubClient.ConnectAsync(app, l.Teacher);
        await using var pupil = await HubClient.ConnectAsync(app, l.Pupil);
        await using var blocked = await HubClient.ConnectAsync(app, l.Pupil2);
        await using var stranger = await HubClient.ConnectAsync(app, l.Stranger);
        async Task<LiveCallSummaryDto?> LiveIn(HubClient who, Guid chatId) =>
            (await who.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", l.School.Id)).Single(c => c.Id == chatId).LiveCall;

        Assert.Null(await LiveIn(pupil, l.Chat.Id));
        var rule = (await teacher.Connection.InvokeAsync<List<RuleDto>>("GetRules", l.School.Id)).First();
        await Moderate.BlockAsync(teacher.Connection, l.Chat.Id, l.Pupil2.AccountId, rule.Id, DateTimeOffset.UtcNow.AddDays(1), "Флуд");

        var lesson = (await teacher.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true)).Call.CallId;
        Assert.Equal(new LiveCallSummaryDto(lesson, "lesson"), await LiveIn(pupil, l.Chat.Id));
        Assert.Equal(new LiveCallSummaryDto(lesson, "lesson"), await LiveIn(teacher, l.Chat.Id));
        // Blocked in the chat: may not join the lesson (GetChatCall refuses), so the list does not offer it either.
        Assert.Null(await LiveIn(blocked, l.Chat.Id));
        Assert.Null(await LiveIn(stranger, l.OtherChat.Id));
        await teacher.Connection.InvokeAsync("EndCall", lesson);
        Assert.Null(await LiveIn(pupil, l.Chat.Id));

        var call = (await teacher.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, false)).Call.CallId;
        Assert.Equal(new LiveCallSummaryDto(call, "call"), await LiveIn(pupil, l.Chat.Id));
        await teacher.Connection.InvokeAsync("EndCall", call);
    }

    [Fact]
    public async Task MediaRequestsFlood_RateLimitedForTheFlooderOnly_AfterABurstAJoiningPageNeeds()
    {
        var l = await Lesson.CreateAsync(app);
        await using var teacher = await HubClient.ConnectAsync(app, l.Teacher);
        await using var pupil = await HubClient.ConnectAsync(app, l.Pupil);
        var callId = (await teacher.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, false)).Call.CallId;
        await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        // The teacher's page asks the media server for work as fast as the hub answers (each request fails further on:
        // no subscription here), until it is stopped; the burst (1000) covers a page joining a call of 128.
        var answered = 0;
        string? code = null;
        for (var i = 0; i < 5000 && code != "rate_limited"; i++)
        {
            var error = await Assert.ThrowsAsync<Microsoft.AspNetCore.SignalR.HubException>(() => teacher.Connection.InvokeAsync("SetFeedStream", callId, 5L, "1", false));
            code = HubCalls.CodeOf(error);
            Assert.True(code is "feed_not_found" or "rate_limited", error.Message);
            answered++;
        }

        Assert.Equal("rate_limited", code);
        Assert.True(answered > 1000, $"the burst of 1000 was allowed ({answered - 1} answered before the limit)");
        await teacher.Connection.InvokeAsync<string>("Subscribe", callId, 5L).ExpectHubErrorAsync("rate_limited");

        // The pupil in the same call is not slowed down; the teacher's other calls work.
        await pupil.Connection.InvokeAsync("SetFeedStream", callId, 5L, "1", false).ExpectHubErrorAsync("feed_not_found");
        Assert.Equal(callId, (await teacher.Connection.InvokeAsync<CallDto>("GetCall", callId)).CallId);
    }

    [Fact]
    public async Task SdpAndCandidatesAreValidated_BeforeTheMediaServer()
    {
        var l = await Lesson.CreateAsync(app);
        await using var teacher = await HubClient.ConnectAsync(app, l.Teacher);
        var callId = (await teacher.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, false)).Call.CallId;

        await teacher.Connection.InvokeAsync<string>("Publish", callId, "v=0\r\nnonsense").ExpectHubErrorAsync("media_invalid");
        await teacher.Connection.InvokeAsync<string>("Publish", callId, Offer.Replace("UDP/TLS/RTP/SAVPF", "RTP/AVP", StringComparison.Ordinal)).ExpectHubErrorAsync("media_invalid");
        await teacher.Connection.InvokeAsync<string>("Publish", callId, Offer + new string('a', 40_000)).ExpectHubErrorAsync("media_invalid");
        await teacher.Connection.InvokeAsync("Trickle", new TrickleRequest(callId, null, "candidate:1 1 udp 1 evil.example.com 9 typ host", "0", 0)).ExpectHubErrorAsync("media_invalid");
        await teacher.Connection.InvokeAsync("Trickle", new TrickleRequest(callId, null, "candidate:1 1 udp 1 x.local 9 typ host", "0", 0)).ExpectHubErrorAsync("media_invalid");
        await teacher.Connection.InvokeAsync("Trickle", new TrickleRequest(callId, null, "candidate:1 1 udp 2122260223 127.0.0.1 9 typ host", "0", 99)).ExpectHubErrorAsync("media_invalid");
        await teacher.Connection.InvokeAsync("Answer", callId, 5L, Offer).ExpectHubErrorAsync("media_invalid");

        // An ICE restart: the offer is validated like a publish; only a camera that is published can restart.
        await teacher.Connection.InvokeAsync<string>("RestartIce", callId, "v=0\r\nnonsense").ExpectHubErrorAsync("media_invalid");
        await teacher.Connection.InvokeAsync<string>("RestartIce", callId, Offer).ExpectHubErrorAsync("feed_not_found");
        await teacher.Connection.InvokeAsync<string>("RestartSubscriptionIce", callId, 5L).ExpectHubErrorAsync("feed_not_found");

        // Pausing a subscription's video: only a plain mid, only my own subscriptions, only in the call, only for members.
        await teacher.Connection.InvokeAsync("SetFeedStream", callId, 5L, "1\r\nx", false).ExpectHubErrorAsync("validation_failed");
        await teacher.Connection.InvokeAsync("SetFeedStream", callId, 5L, "", false).ExpectHubErrorAsync("validation_failed");
        await teacher.Connection.InvokeAsync("SetFeedStream", callId, 5L, "1", false).ExpectHubErrorAsync("feed_not_found");
        await using (var pupil = await HubClient.ConnectAsync(app, l.Pupil))
        await using (var stranger = await HubClient.ConnectAsync(app, l.Stranger))
        {
            await pupil.Connection.InvokeAsync("SetFeedStream", callId, 5L, "1", false).ExpectHubErrorAsync("not_in_call");
            await stranger.Connection.InvokeAsync("SetFeedStream", callId, 5L, "1", false).ExpectHubErrorAsync("chat_not_found");
        }

        // A valid offer passes validation and then needs the media server, which this app does not have.
        await teacher.Connection.InvokeAsync<string>("Publish", callId, Offer).ExpectHubErrorAsync("media_unavailable");
        await teacher.Connection.InvokeAsync("EndCall", callId);
    }

    [Fact]
    public async Task CallLivesInTheDatabase_LastLeaverEndsIt_AndATokenRefreshDoesNotEndIt()
    {
        var l = await Lesson.CreateAsync(app);
        CallJoinDto start;
        await using (var teacher = await HubClient.ConnectAsync(app, l.Teacher))
        {
            start = await teacher.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, false);
        }

        // The teacher's connection is gone (a new token, a new device, a server restart): the call goes on.
        await using var again = await HubClient.ConnectAsync(app, l.Teacher);
        var rejoined = await again.Connection.InvokeAsync<CallJoinDto>("JoinCall", start.Call.CallId);
        Assert.Equal(start.Call.CallId, rejoined.Call.CallId);
        await using var pupil = await HubClient.ConnectAsync(app, l.Pupil);
        var second = await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", start.Call.CallId);
        Assert.Equal(2, second.Call.Participants.Count);

        // Starting again in the same chat joins the live call instead of making a second one.
        var same = await again.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, false);
        Assert.Equal(start.Call.CallId, same.Call.CallId);

        await again.Connection.InvokeAsync("LeaveCall", start.Call.CallId);
        var stillOn = await pupil.Connection.InvokeAsync<CallDto>("GetCall", start.Call.CallId);
        Assert.False(stillOn.Ended);
        Assert.Equal(l.Pupil.AccountId, Assert.Single(stillOn.Participants).AccountId);
        await pupil.Connection.InvokeAsync("LeaveCall", start.Call.CallId);
        await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", start.Call.CallId).ExpectHubErrorAsync("call_not_found");
        var next = await again.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, false);
        Assert.NotEqual(start.Call.CallId, next.Call.CallId);
        await again.Connection.InvokeAsync("EndCall", next.Call.CallId);
    }

    /// <summary>
    /// The teacher's laptop dies in the middle of a lesson, or the planner of a lesson never comes: a colleague in the
    /// call who could have started it takes the host's place, lets pupils speak and can end it; pupils cannot, nor can
    /// anyone while the host is there. The teacher, back, is a participant who may still speak, whom the stand-in can
    /// neither silence nor remove, and who takes her place back at any time.
    /// </summary>
    [Fact]
    public async Task HostAway_AColleagueWhoMayStartCallsTakesOver_PupilsCannot_TheFormerHostTakesItBackLater()
    {
        var l = await Lesson.CreateAsync(app);
        var colleague = await l.School.AddVerifiedTeacherAsync("Ольга Заменяющая");
        await using var teacher = await HubClient.ConnectAsync(app, l.Teacher);
        await using var pupil = await HubClient.ConnectAsync(app, l.Pupil);
        await using var substitute = await HubClient.ConnectAsync(app, colleague);
        var chat = await teacher.Connection.InvokeAsync<ChatSummaryDto>("CreateChat",
            new CreateChatRequest(l.School.Id, "subject", "Математика 5А", null, null, [l.Pupil.AccountId, colleague.AccountId]));
        var started = await teacher.Connection.InvokeAsync<CallJoinDto>("StartCall", chat.Id, true);
        var callId = started.Call.CallId;
        Assert.True(started.MayHost);
        var pupilJoin = await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        Assert.False(pupilJoin.MayHost);
        var substituteJoin = await substitute.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        Assert.True(substituteJoin.MayHost);

        // Nobody takes the place of a host who is there; a pupil never does.
        await substitute.Connection.InvokeAsync<CallDto>("TakeOverCall", callId).ExpectHubErrorAsync("call_host_present");
        await pupil.Connection.InvokeAsync<CallDto>("TakeOverCall", callId).ExpectHubErrorAsync("call_start_not_allowed");

        // The teacher is gone (her page was taken out after a minute without a connection, or she left).
        await teacher.Connection.InvokeAsync("LeaveCall", callId);
        await pupil.Connection.InvokeAsync<CallDto>("TakeOverCall", callId).ExpectHubErrorAsync("call_start_not_allowed");
        var changed = new TaskCompletionSource<CallDto>(TaskCreationOptions.RunContinuationsAsynchronously);
        pupil.Connection.On<CallDto>("CallStateChanged", c => { if (c.HostId == colleague.AccountId) changed.TrySetResult(c); });
        var taken = await substitute.Connection.InvokeAsync<CallDto>("TakeOverCall", callId);
        Assert.Equal(colleague.AccountId, taken.HostId);
        Assert.True(taken.Participants.Single(p => p.AccountId == colleague.AccountId).IsHost);
        Assert.Equal(colleague.AccountId, (await changed.Task.WaitAsync(TimeSpan.FromSeconds(10))).HostId);

        // The new host runs the lesson: lets the pupil speak; the call stays hers when read again from the database.
        var allowed = await substitute.Connection.InvokeAsync<CallDto>("AllowToSpeak", callId, l.Pupil.AccountId, true);
        Assert.True(allowed.Participants.Single(p => p.AccountId == l.Pupil.AccountId).SpeakAllowed);
        Assert.Equal(colleague.AccountId, (await pupil.Connection.InvokeAsync<CallDto>("GetCall", callId)).HostId);

        // The teacher comes back: a participant who may speak, not the host; the stand-in can neither take the word from
        // her nor remove her (she could not come back to her own lesson), and she takes her place back at once.
        var back = await teacher.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        var teacherBack = back.Call.Participants.Single(p => p.AccountId == l.Teacher.AccountId);
        Assert.Equal((false, true), (teacherBack.IsHost, teacherBack.SpeakAllowed));
        Assert.Equal(l.Teacher.AccountId, back.Call.StartedBy);
        await teacher.Connection.InvokeAsync<CallDto>("AllowToSpeak", callId, l.Pupil.AccountId, false).ExpectHubErrorAsync("call_host_only");
        await substitute.Connection.InvokeAsync<CallDto>("AllowToSpeak", callId, l.Teacher.AccountId, false).ExpectHubErrorAsync("call_starter_protected");
        await substitute.Connection.InvokeAsync<CallDto>("RemoveParticipant", callId, l.Teacher.AccountId).ExpectHubErrorAsync("call_starter_protected");
        Assert.Equal(l.Teacher.AccountId, (await teacher.Connection.InvokeAsync<CallDto>("TakeOverCall", callId)).HostId);
        await substitute.Connection.InvokeAsync<CallDto>("TakeOverCall", callId).ExpectHubErrorAsync("call_host_present");
        await teacher.Connection.InvokeAsync("EndCall", callId);

        // The colleague starts a meeting herself, drops out, the teacher stands in: the colleague, a plain member of the
        // chat, still reads the attendance of the call she started.
        var meeting = (await substitute.Connection.InvokeAsync<CallJoinDto>("StartCall", chat.Id, false)).Call.CallId;
        await teacher.Connection.InvokeAsync<CallJoinDto>("JoinCall", meeting);
        await substitute.Connection.InvokeAsync("LeaveCall", meeting);
        Assert.Equal(l.Teacher.AccountId, (await teacher.Connection.InvokeAsync<CallDto>("TakeOverCall", meeting)).HostId);
        var attendance = await substitute.Connection.InvokeAsync<CallAttendanceDto>("GetCallAttendance", meeting);
        Assert.Contains(attendance.People, p => p.AccountId == colleague.AccountId && p.Attended);
        await pupil.Connection.InvokeAsync<CallAttendanceDto>("GetCallAttendance", meeting).ExpectHubErrorAsync("attendance_not_allowed");
        await teacher.Connection.InvokeAsync("EndCall", meeting);
    }

    [Theory]
    [InlineData(0, "media_unavailable")]
    [InlineData(458, "media_unavailable")]
    [InlineData(428, "feed_not_found")]
    [InlineData(459, "feed_not_found")]
    [InlineData(465, "media_invalid")]
    [InlineData(469, "media_invalid")]
    [InlineData(437, "media_invalid")]
    [InlineData(499, "media_unavailable")]
    public void EveryJanusRefusal_HasACodeForThePage_NeverInternalError(int janusCode, string code)
    {
        var error = CallService.SfuError(new Chat.Signaling.Sfu.JanusException(janusCode, "refused"));
        Assert.Equal(code, error?.Error.Code);
        // The person reads plain Russian; Janus's codes are for the log.
        Assert.Equal(error!.Error.Message, error.Message);
        Assert.DoesNotContain("janus", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Null(CallService.SfuError(new InvalidOperationException("a bug stays a bug")));
    }
}
