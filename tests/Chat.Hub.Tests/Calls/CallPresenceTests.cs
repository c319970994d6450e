using System.Threading.Channels;
using Chat.Hub.Features.Calls;
using Chat.Storage.Calls;
using Dapper;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;
using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;

namespace Chat.Hub.Tests.Calls;

/// <summary>The calls app with a short grace for pages that vanished (two seconds instead of a minute).</summary>
public sealed class PresenceCallsApp : ChatApp
{
    public static readonly TimeSpan GoneAfter = TimeSpan.FromSeconds(2);

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Calls:Presence:GoneAfter"] = "00:00:02",
        ["Calls:Presence:Poll"] = "00:00:00.2",
        ["Calls:Presence:NodeDeadAfter"] = NodeDeadAfter,
    };

    /// <summary>Several polls: a busy test machine must not make a live node look dead.</summary>
    public const string NodeDeadAfter = "00:00:03";

    /// <summary>A second server process on the same database (no Redis: the in-process app is the other node).</summary>
    public HubServerProcess NewNode() => NodeProcess(new Dictionary<string, string?>
    {
        ["Calls__Presence__GoneAfter"] = "00:00:02",
        ["Calls__Presence__Poll"] = "00:00:00.2",
        ["Calls__Presence__NodeDeadAfter"] = NodeDeadAfter,
    });
}

/// <summary>
/// A call page that vanished — the tab closed without «Выйти», the phone died — takes its person out of the call once
/// its hub connection has been closed for Calls:Presence:GoneAfter and no connection of theirs joined again.
/// </summary>
public sealed class CallPresenceTests(PresenceCallsApp app) : IClassFixture<PresenceCallsApp>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task PupilsPageVanishes_AfterTheGraceTheyLeave_TheTeacherIsTold_AttendanceEndsWhenThePageClosed()
    {
        await using var lesson = await StartedLesson.StartAsync(app);
        var (l, teacher, left, callId) = lesson;
        var pupil = await HubClient.ConnectAsync(app, l.Pupil);
        await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        var closedAt = DateTimeOffset.UtcNow;
        await pupil.DisposeAsync(); // the tab closed: no LeaveCall

        Assert.Equal(l.Pupil.AccountId, await left.ReadAsync().AsTask().WaitAsync(Wait));
        var heardAt = DateTimeOffset.UtcNow;
        var call = await teacher.Connection.InvokeAsync<CallDto>("GetCall", callId);
        Assert.False(call.Ended);
        Assert.Equal([l.Teacher.AccountId], call.Participants.Select(p => p.AccountId));

        // The stretch ended when the page closed, not when the sweep noticed it (at least the grace later).
        var attendance = await teacher.Connection.InvokeAsync<CallAttendanceDto>("GetCallAttendance", callId);
        var row = attendance.People.Single(p => p.AccountId == l.Pupil.AccountId);
        Assert.False(row.PresentNow);
        Assert.InRange(row.LastLeftAt!.Value, closedAt.AddSeconds(-1), heardAt - PresenceCallsApp.GoneAfter + TimeSpan.FromMilliseconds(500));

        // Coming back later is an ordinary join: a second stretch.
        await using var again = await HubClient.ConnectAsync(app, l.Pupil);
        await again.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        attendance = await teacher.Connection.InvokeAsync<CallAttendanceDto>("GetCallAttendance", callId);
        Assert.Equal((true, 2), (attendance.People.Single(p => p.AccountId == l.Pupil.AccountId).PresentNow, attendance.People.Single(p => p.AccountId == l.Pupil.AccountId).Intervals));
        await teacher.Connection.InvokeAsync("EndCall", callId);
    }

    [Fact]
    public async Task PageReconnectsWithinTheGrace_EitherDevicesPageCloses_ThePupilStaysInTheCall_TheirLastPageClosing_TakesThemOut()
    {
        await using var lesson = await StartedLesson.StartAsync(app);
        var (l, teacher, left, callId) = lesson;

        // The pupil's phone loses its connection and comes back on a new one within the grace: it rejoins.
        var phone = await HubClient.ConnectAsync(app, l.Pupil);
        await phone.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await phone.DisposeAsync();
        var phoneAgain = await HubClient.ConnectAsync(app, l.Pupil);
        await phoneAgain.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        // She joins from the laptop too, and the laptop's page (the newer) closes; later a tablet joins and the phone's
        // page (the older) closes: each time another page of hers is still in the call. Each time well past the grace
        // and several sweeps: still in the call, one unbroken stretch.
        var laptop = await HubClient.ConnectAsync(app, l.Pupil);
        await laptop.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await laptop.DisposeAsync();
        await StillInAsync();
        var tablet = await HubClient.ConnectAsync(app, l.Pupil);
        await tablet.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await phoneAgain.DisposeAsync();
        await StillInAsync();

        // The tablet's page closes too: now she is out.
        await tablet.DisposeAsync();
        Assert.Equal(l.Pupil.AccountId, await left.ReadAsync().AsTask().WaitAsync(Wait));
        await teacher.Connection.InvokeAsync("EndCall", callId);

        async Task StillInAsync()
        {
            await Task.Delay(PresenceCallsApp.GoneAfter * 3);
            Assert.False(left.TryRead(out var who), $"{who} was taken out of the call");
            var call = await teacher.Connection.InvokeAsync<CallDto>("GetCall", callId);
            Assert.Contains(call.Participants, p => p.AccountId == l.Pupil.AccountId);
            var me = (await teacher.Connection.InvokeAsync<CallAttendanceDto>("GetCallAttendance", callId)).People.Single(p => p.AccountId == l.Pupil.AccountId);
            Assert.Equal((true, 1), (me.PresentNow, me.Intervals));
        }
    }

    /// <summary>
    /// The teacher's lesson tab is open and she presses the chat's «Присоединиться» (another tab): one camera and one set
    /// of subscriptions per person live on the server, so only the newer page has the call. The older page is told, and
    /// its media requests are refused (before, each page's requests replaced the other's handles, and their recoveries
    /// broke each other's media every few seconds); its automatic rejoin does not take the call back while the newer
    /// page is connected. The older page closing leaves her in the call; the newer one closing takes her out, even while
    /// an older page stays open.
    /// </summary>
    [Fact]
    public async Task TeacherJoinsFromASecondPage_TheFirstIsTold_ItsMediaRequestsAreRefused_TheSecondsGoOn_TheFirstClosingLeavesHerIn()
    {
        await using var lesson = await StartedLesson.StartAsync(app, page: "first-tab");
        var (l, first, _, callId) = lesson;
        await using var pupil = await HubClient.ConnectAsync(app, l.Pupil);
        await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        var left = Heard(pupil.Connection, "ParticipantLeft");
        var firstTold = Heard(first.Connection, "CallMovedToAnotherPage");

        await using var second = await HubClient.ConnectAsync(app, l.Teacher, page: "second-tab");
        var secondTold = Heard(second.Connection, "CallMovedToAnotherPage");
        var joined = await second.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        Assert.Single(joined.Call.Participants, p => p.AccountId == l.Teacher.AccountId);
        Assert.Equal(callId, await firstTold.ReadAsync().AsTask().WaitAsync(Wait));

        // Every media request of the first page is refused before it reaches the media server.
        var offer = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "chromium-offer-sendrecv.sdp"));
        const string Moved = "call_moved_to_another_page";
        await first.Connection.InvokeAsync<string>("Publish", callId, offer).ExpectHubErrorAsync(Moved);
        await first.Connection.InvokeAsync<string>("RestartIce", callId, offer).ExpectHubErrorAsync(Moved);
        await first.Connection.InvokeAsync<string>("PublishScreen", callId, offer).ExpectHubErrorAsync(Moved);
        await first.Connection.InvokeAsync<string>("RestartScreenIce", callId, offer).ExpectHubErrorAsync(Moved);
        await first.Connection.InvokeAsync<string>("Subscribe", callId, 1L).ExpectHubErrorAsync(Moved);
        await first.Connection.InvokeAsync<string>("RestartSubscriptionIce", callId, 1L).ExpectHubErrorAsync(Moved);
        await first.Connection.InvokeAsync("SetFeedStream", callId, 1L, "1", false).ExpectHubErrorAsync(Moved);
        await first.Connection.InvokeAsync("Answer", callId, 1L, offer).ExpectHubErrorAsync(Moved);
        await first.Connection.InvokeAsync("Trickle", new TrickleRequest(callId, null, null, null, null)).ExpectHubErrorAsync(Moved);
        // Its automatic rejoin (the hub came back) does not take the call from the second page, which is connected.
        await first.Connection.InvokeAsync<CallJoinDto>("RejoinCall", callId).ExpectHubErrorAsync(Moved);

        // The second page's requests go on to the media server (there is none here).
        await second.Connection.InvokeAsync<string>("Publish", callId, offer).ExpectHubErrorAsync("media_unavailable");
        await second.Connection.InvokeAsync<CallJoinDto>("RejoinCall", callId);
        Assert.False(secondTold.TryRead(out _));

        // The first page closes: she stays in the call, well past the grace; her second page still has it.
        await first.DisposeAsync();
        await Task.Delay(PresenceCallsApp.GoneAfter * 3);
        Assert.False(left.TryRead(out var who), $"{who} was taken out of the call");
        Assert.Contains((await pupil.Connection.InvokeAsync<CallDto>("GetCall", callId)).Participants, p => p.AccountId == l.Teacher.AccountId);
        await second.Connection.InvokeAsync<string>("Publish", callId, offer).ExpectHubErrorAsync("media_unavailable");

        // «Продолжить здесь» on a third page takes the call: the second is told and refused in turn.
        await using var third = await HubClient.ConnectAsync(app, l.Teacher, page: "third-tab");
        await third.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        Assert.Equal(callId, await secondTold.ReadAsync().AsTask().WaitAsync(Wait));
        await second.Connection.InvokeAsync<string>("Subscribe", callId, 1L).ExpectHubErrorAsync(Moved);

        // The active (third) page closes while the second, which lost the call, stays open showing «Продолжить здесь»:
        // that page does not keep her in the call, so she is taken out after the grace.
        await third.DisposeAsync();
        Assert.Equal(l.Teacher.AccountId, await left.ReadAsync().AsTask().WaitAsync(Wait));
        await second.DisposeAsync();
        await pupil.Connection.InvokeAsync("LeaveCall", callId);
    }

    [Fact]
    public async Task NodeKilledUnderTheLesson_ItsPupilWhoseDeviceDiedIsTakenOut_OneWhoCameBackElsewhereStays_UntilTheirPageCloses()
    {
        await using var lesson = await StartedLesson.StartAsync(app);
        var (l, teacher, left, callId) = lesson;

        // Both pupils are on node B, a server process of its own.
        await using var nodeB = app.NewNode();
        await nodeB.StartAsync();
        await using var vasya = new NodeMember(l.Pupil);
        await using var petya = new NodeMember(l.Pupil2);
        foreach (var pupil in new[] { vasya, petya })
        {
            await pupil.ConnectAsync(nodeB.BaseAddress, []);
            await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        }

        // Node B dies (SIGKILL: no connection of it records a close). Petya's page comes back on this node and rejoins;
        // Vasya's phone died with it.
        var killedAt = DateTimeOffset.UtcNow;
        await nodeB.KillAsync();
        await using var petyaHere = await HubClient.ConnectAsync(app, l.Pupil2);
        await petyaHere.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        // Once B counts as dead, Vasya is gone since it was last seen, and out after the grace.
        Assert.Equal(l.Pupil.AccountId, await left.ReadAsync().AsTask().WaitAsync(Wait));
        var attendance = await teacher.Connection.InvokeAsync<CallAttendanceDto>("GetCallAttendance", callId);
        var vasyaRow = attendance.People.Single(p => p.AccountId == l.Pupil.AccountId);
        Assert.False(vasyaRow.PresentNow);
        Assert.InRange(vasyaRow.LastLeftAt!.Value, killedAt.AddSeconds(-3), killedAt.AddSeconds(1));

        // Petya stays (one unbroken stretch) — and his page closing later takes him out: node B's connection of his,
        // which never closed, no longer counts.
        await Task.Delay(PresenceCallsApp.GoneAfter * 2);
        Assert.False(left.TryRead(out var who), $"{who} was taken out of the call");
        var petyaRow = (await teacher.Connection.InvokeAsync<CallAttendanceDto>("GetCallAttendance", callId)).People.Single(p => p.AccountId == l.Pupil2.AccountId);
        Assert.Equal((true, 1), (petyaRow.PresentNow, petyaRow.Intervals));
        await petyaHere.DisposeAsync();
        Assert.Equal(l.Pupil2.AccountId, await left.ReadAsync().AsTask().WaitAsync(Wait));
        await teacher.Connection.InvokeAsync("EndCall", callId);
    }

    [Fact]
    public async Task NodeStoppedForADeploy_APupilWhosePageDoesNotComeBack_IsTakenOut()
    {
        await using var lesson = await StartedLesson.StartAsync(app);
        var (l, teacher, left, callId) = lesson;
        await using var nodeB = app.NewNode();
        await nodeB.StartAsync();
        await using var vasya = new NodeMember(l.Pupil);
        await vasya.ConnectAsync(nodeB.BaseAddress, []);
        await vasya.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        // SIGTERM: B closes its connections without recording their closes (the pages are expected on another node);
        // Vasya's is not, so once B has said it stopped, he is gone and out after the grace.
        await nodeB.StopAsync();
        Assert.Equal(l.Pupil.AccountId, await left.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.Equal([l.Teacher.AccountId], (await teacher.Connection.InvokeAsync<CallDto>("GetCall", callId)).Participants.Select(p => p.AccountId));
        await teacher.Connection.InvokeAsync("EndCall", callId);
    }

    /// <summary>
    /// What another node's sweep does to the node of this person's connection when it takes it for dead (a long pause of
    /// that node): the node is marked swept, the person's connections forgotten and the person gone since then. One
    /// statement, so that no heartbeat comes between its halves. Returns how many participants it forgot (1).
    /// </summary>
    private Task<int> TakeItsNodeForDeadAsync(Guid callId, Guid accountId) => app.ExecuteSqlAsync(
        """
        WITH mine AS (SELECT split_part(connection_ids[1], '/', 1) AS node FROM call_participants WHERE call_id = @callId AND account_id = @accountId),
        node AS (UPDATE hub_nodes SET swept_at = now() WHERE id = (SELECT node FROM mine) RETURNING id)
        UPDATE call_participants SET connection_ids = '{}', gone_since = now()
        WHERE call_id = @callId AND account_id = @accountId AND EXISTS (SELECT 1 FROM node)
        """, new { callId, accountId });

    [Fact]
    public async Task NodeTakenForDeadByMistake_PutsItsOpenConnectionsBack_ThePupilStays_UntilTheirPageCloses()
    {
        await using var lesson = await StartedLesson.StartAsync(app);
        var (l, teacher, left, callId) = lesson;
        var pupil = await HubClient.ConnectAsync(app, l.Pupil);
        await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        // Another node's sweep takes this node for dead (a long pause of this one).
        Assert.Equal(1, await TakeItsNodeForDeadAsync(callId, l.Pupil.AccountId));

        // This node's next heartbeat finds it was swept and puts the live connection back: the pupil stays past the
        // grace, and their page closing later takes them out as usual.
        await Task.Delay(PresenceCallsApp.GoneAfter * 2);
        Assert.False(left.TryRead(out var who), $"{who} was taken out of the call");
        Assert.Contains((await teacher.Connection.InvokeAsync<CallDto>("GetCall", callId)).Participants, p => p.AccountId == l.Pupil.AccountId);
        await pupil.DisposeAsync();
        Assert.Equal(l.Pupil.AccountId, await left.ReadAsync().AsTask().WaitAsync(Wait));
        await teacher.Connection.InvokeAsync("EndCall", callId);
    }

    /// <summary>
    /// The teacher's second tab took the call while the first stays open («Продолжить здесь»), and then this node is
    /// taken for dead by mistake: its heartbeat puts back the connection of her active page only — the first tab's, put
    /// back too, kept her present for ever: closing the active tab no longer took her out.
    /// </summary>
    [Fact]
    public async Task NodeTakenForDeadByMistake_OnlyTheActivePagesConnectionIsPutBack_ClosingItTakesTheTeacherOut()
    {
        await using var lesson = await StartedLesson.StartAsync(app, page: "first-tab");
        var (l, first, _, callId) = lesson;
        await using var pupil = await HubClient.ConnectAsync(app, l.Pupil);
        await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        var left = Heard(pupil.Connection, "ParticipantLeft");
        var second = await HubClient.ConnectAsync(app, l.Teacher, page: "second-tab");
        await second.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        Assert.Equal(1, await TakeItsNodeForDeadAsync(callId, l.Teacher.AccountId));
        await Task.Delay(PresenceCallsApp.GoneAfter * 2);
        Assert.False(left.TryRead(out var who), $"{who} was taken out of the call");

        await second.DisposeAsync();
        Assert.Equal(l.Teacher.AccountId, await left.ReadAsync().AsTask().WaitAsync(Wait));
        await pupil.Connection.InvokeAsync("LeaveCall", callId);
    }

    /// <summary>
    /// The put-back lists this node's open call connections, then waits for each call's lock. A page that closes in
    /// between records its close while its connection is still forgotten (nothing to forget), so the put-back would list
    /// a closed connection for good and the pupil would never be taken out. The node records such a close again.
    /// </summary>
    [Fact]
    public async Task NodeTakenForDeadByMistake_APageClosingWhileItsConnectionIsPutBack_StillTakesThePupilOut()
    {
        await using var lesson = await StartedLesson.StartAsync(app);
        var (l, teacher, left, callId) = lesson;
        var pupil = await HubClient.ConnectAsync(app, l.Pupil);
        await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        // A change of the call under way holds its lock, so the heartbeat's put-back waits after taking its list.
        await using var changing = new NpgsqlConnection(app.ConnectionString);
        await changing.OpenAsync();
        await using var change = await changing.BeginTransactionAsync();
        await changing.ExecuteAsync($"SELECT pg_advisory_xact_lock({CallStore.LockKeySql})", new { callId }, change);
        Assert.Equal(1, await TakeItsNodeForDeadAsync(callId, l.Pupil.AccountId));
        await LockWaiters.WaitAsync(app.ConnectionString, 1);

        // The page closes now: its close finds its connection forgotten. Then the change commits and the put-back runs.
        await pupil.DisposeAsync();
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        await change.CommitAsync();

        Assert.Equal(l.Pupil.AccountId, await left.ReadAsync().AsTask().WaitAsync(Wait));
        Assert.DoesNotContain((await teacher.Connection.InvokeAsync<CallDto>("GetCall", callId)).Participants, p => p.AccountId == l.Pupil.AccountId);
        await teacher.Connection.InvokeAsync("EndCall", callId);
    }

    [Fact]
    public async Task LockedLesson_APupilTakenOutWithTheirPage_ComesBack_OneWhoLeftDoesNot()
    {
        await using var lesson = await StartedLesson.StartAsync(app);
        var (l, teacher, left, callId) = lesson;
        var vasya = await HubClient.ConnectAsync(app, l.Pupil);
        await vasya.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await using var petya = await HubClient.ConnectAsync(app, l.Pupil2);
        await petya.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await teacher.Connection.InvokeAsync<CallDto>("LockCall", callId, true);

        // Vasya's phone went to sleep longer than the grace: out; Petya pressed «Выйти».
        await vasya.DisposeAsync();
        Assert.Equal(l.Pupil.AccountId, await left.ReadAsync().AsTask().WaitAsync(Wait));
        await petya.Connection.InvokeAsync("LeaveCall", callId);

        // Vasya was in the lesson, not new: he comes back although it is locked. Petya left: the lock holds for him.
        await using var vasyaAgain = await HubClient.ConnectAsync(app, l.Pupil);
        var back = await vasyaAgain.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        Assert.Contains(back.Call.Participants, p => p.AccountId == l.Pupil.AccountId);
        await petya.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId).ExpectHubErrorAsync("call_locked");
        await teacher.Connection.InvokeAsync("EndCall", callId);
    }

    [Fact]
    public async Task EveryonesPageVanishes_TheCallEnds_TheChatIsTold_ANewCallCanStart()
    {
        var l = await Lesson.CreateAsync(app);
        await using var chatPage = await HubClient.ConnectAsync(app, l.Teacher); // her chat tab stays open; it never joined the call
        var ended = Heard(chatPage.Connection, "CallEnded");
        var callPage = await HubClient.ConnectAsync(app, l.Teacher);
        var callId = (await callPage.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true)).Call.CallId;
        var pupil = await HubClient.ConnectAsync(app, l.Pupil);
        await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        await pupil.DisposeAsync();
        await callPage.DisposeAsync();

        Assert.Equal(callId, await ended.ReadAsync().AsTask().WaitAsync(Wait));
        var next = await chatPage.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true);
        Assert.NotEqual(callId, next.Call.CallId);
        await chatPage.Connection.InvokeAsync("EndCall", next.Call.CallId);
    }

    /// <summary>The second argument (an account) or first (a call id) of every push of <paramref name="method"/>.</summary>
    /// <summary>The usual start: the lesson scene, the teacher's connection with the <c>ParticipantLeft</c> it hears, the lesson started.</summary>
    private sealed record StartedLesson(Lesson Lesson, HubClient Teacher, ChannelReader<Guid> Left, Guid CallId) : IAsyncDisposable
    {
        /// <param name="page">The teacher's call page (the hub URL's <c>page</c>), or none.</param>
        public static async Task<StartedLesson> StartAsync(ChatApp app, string? page = null)
        {
            var l = await Lesson.CreateAsync(app);
            var teacher = await HubClient.ConnectAsync(app, l.Teacher, page);
            var left = Heard(teacher.Connection, "ParticipantLeft");
            var callId = (await teacher.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true)).Call.CallId;
            return new StartedLesson(l, teacher, left, callId);
        }

        public ValueTask DisposeAsync() => Teacher.DisposeAsync();
    }

    private static ChannelReader<Guid> Heard(HubConnection connection, string method)
    {
        var heard = Channel.CreateUnbounded<Guid>();
        if (method is "CallEnded" or "CallMovedToAnotherPage")
        {
            connection.On<Guid>(method, id => heard.Writer.TryWrite(id));
        }
        else
        {
            connection.On<Guid, Guid>(method, (_, account) => heard.Writer.TryWrite(account));
        }

        return heard.Reader;
    }
}
