using Chat.Hub.Features.Calls;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Calls;

/// <summary>
/// Screen sharing through the hub and a real Janus with captured Chromium SDP: a second feed per participant, one screen
/// per call, lesson-mode permission, the host stops anyone's share. (Media is not exercised outside a network namespace.)
/// </summary>
public sealed class ScreenShareTests(JanusCallsApp app) : IClassFixture<JanusCallsApp>
{
    private static string Offer => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "chromium-offer-sendrecv.sdp"));

    /// <summary>The same captured offer with its audio section inactive: what a screen without sound offers.</summary>
    private static string VideoOnlyOffer
    {
        get
        {
            var sdp = Offer;
            var video = sdp.IndexOf("m=video", StringComparison.Ordinal);
            var audioPart = sdp[..video];
            var at = audioPart.LastIndexOf("a=sendrecv", StringComparison.Ordinal);
            Assert.True(at > 0);
            return audioPart[..at] + "a=inactive" + audioPart[(at + "a=sendrecv".Length)..] + sdp[video..];
        }
    }

    [Fact]
    public async Task Lesson_TeacherShares_PupilNeedsPermission_OneScreenAtATime_HostStopsAnyShare()
    {
        var l = await Lesson.CreateAsync(app);
        var (teacher, pupil, pupil2, stranger, chat) = (l.Teacher, l.Pupil, l.Pupil2, l.Stranger, l.Chat);
        await using var t = await HubClient.ConnectAsync(app, teacher);
        await using var p = await HubClient.ConnectAsync(app, pupil);
        await using var p2 = await HubClient.ConnectAsync(app, pupil2);
        await using var s = await HubClient.ConnectAsync(app, stranger);

        var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", chat.Id, true)).Call.CallId;
        var joined = await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        Assert.False(joined.Call.Participants.Single(x => x.AccountId == pupil.AccountId).ShareAllowed);
        await p2.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        // The teacher shows the board: a second feed beside the camera.
        await t.Connection.InvokeAsync<string>("Publish", callId, Offer);
        Assert.StartsWith("v=0", await t.Connection.InvokeAsync<string>("PublishScreen", callId, Offer), StringComparison.Ordinal);
        var me = (await p.Connection.InvokeAsync<CallDto>("GetCall", callId)).Participants.Single(x => x.AccountId == teacher.AccountId);
        Assert.NotNull(me.ScreenFeedId);
        Assert.NotNull(me.FeedId);
        Assert.NotEqual(me.FeedId, me.ScreenFeedId);

        // A pupil of another class learns nothing; a pupil of the class needs the teacher's permission.
        await s.Connection.InvokeAsync<string>("PublishScreen", callId, VideoOnlyOffer).ExpectHubErrorAsync("chat_not_found");
        await p.Connection.InvokeAsync<string>("PublishScreen", callId, VideoOnlyOffer).ExpectHubErrorAsync("share_not_allowed");
        await p.Connection.InvokeAsync<CallDto>("AllowToShare", callId, pupil.AccountId, true).ExpectHubErrorAsync("call_host_only");
        var allowed = await t.Connection.InvokeAsync<CallDto>("AllowToShare", callId, pupil.AccountId, true);
        Assert.True(allowed.Participants.Single(x => x.AccountId == pupil.AccountId).ShareAllowed);

        // One screen per call; a screen with sound still needs the permission to speak; an offer without video is refused.
        await p.Connection.InvokeAsync<string>("PublishScreen", callId, VideoOnlyOffer).ExpectHubErrorAsync("screen_busy");
        await t.Connection.InvokeAsync<CallDto>("StopScreenShare", callId, null);
        await p.Connection.InvokeAsync<string>("PublishScreen", callId, Offer).ExpectHubErrorAsync("speak_not_allowed");
        await p.Connection.InvokeAsync<string>("PublishScreen", callId, Offer.Replace("m=video 9", "m=video 0", StringComparison.Ordinal)).ExpectHubErrorAsync("media_invalid");
        Assert.StartsWith("v=0", await p.Connection.InvokeAsync<string>("PublishScreen", callId, VideoOnlyOffer), StringComparison.Ordinal);
        var sharing = await t.Connection.InvokeAsync<CallDto>("GetCall", callId);
        Assert.NotNull(sharing.Participants.Single(x => x.AccountId == pupil.AccountId).ScreenFeedId);
        Assert.Null(sharing.Participants.Single(x => x.AccountId == teacher.AccountId).ScreenFeedId);

        // Another pupil cannot stop it; the host can, and everyone sees the screen feed gone.
        await p2.Connection.InvokeAsync<CallDto>("StopScreenShare", callId, pupil.AccountId).ExpectHubErrorAsync("call_host_only");
        var stoppedSeen = new TaskCompletionSource<CallDto>(TaskCreationOptions.RunContinuationsAsynchronously);
        p.Connection.On<CallDto>("CallStateChanged", c =>
        {
            if (c.Participants.Single(x => x.AccountId == pupil.AccountId).ScreenFeedId is null)
            {
                stoppedSeen.TrySetResult(c);
            }
        });
        await t.Connection.InvokeAsync<CallDto>("StopScreenShare", callId, pupil.AccountId);
        await stoppedSeen.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Taking the permission back stops a share under way and refuses the next one.
        await p.Connection.InvokeAsync<string>("PublishScreen", callId, VideoOnlyOffer);
        var revoked = await t.Connection.InvokeAsync<CallDto>("AllowToShare", callId, pupil.AccountId, false);
        Assert.Null(revoked.Participants.Single(x => x.AccountId == pupil.AccountId).ScreenFeedId);
        await p.Connection.InvokeAsync<string>("PublishScreen", callId, VideoOnlyOffer).ExpectHubErrorAsync("share_not_allowed");

        await t.Connection.InvokeAsync("EndCall", callId);
    }

    /// <summary>
    /// «Запретить говорить» in a lesson: the pupil's page closes her camera, and her feed leaves the call with it (as a
    /// presenter's made a viewer again). Before, the feed stayed listed, and pages that joined later tried to subscribe
    /// to a feed Janus no longer had («Не удалось подключиться к участнику…»).
    /// </summary>
    [Fact]
    public async Task Lesson_WordTakenBack_HerCameraFeedLeavesTheCall()
    {
        var l = await Lesson.CreateAsync(app);
        await using var t = await HubClient.ConnectAsync(app, l.Teacher);
        await using var p = await HubClient.ConnectAsync(app, l.Pupil);
        await using var p2 = await HubClient.ConnectAsync(app, l.Pupil2);
        var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true)).Call.CallId;
        await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await t.Connection.InvokeAsync<CallDto>("AllowToSpeak", callId, l.Pupil.AccountId, true);
        await p.Connection.InvokeAsync<string>("Publish", callId, Offer);
        var feed = (await t.Connection.InvokeAsync<CallDto>("GetCall", callId)).Participants.Single(x => x.AccountId == l.Pupil.AccountId).FeedId;
        Assert.NotNull(feed);

        var taken = await t.Connection.InvokeAsync<CallDto>("AllowToSpeak", callId, l.Pupil.AccountId, false);
        Assert.Null(taken.Participants.Single(x => x.AccountId == l.Pupil.AccountId).FeedId);

        // A classmate who joins now is not offered a feed that is gone.
        var joined = await p2.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        Assert.Null(joined.Call.Participants.Single(x => x.AccountId == l.Pupil.AccountId).FeedId);
        Assert.Null((await p2.Connection.InvokeAsync<CallDto>("GetCall", callId)).Participants.Single(x => x.AccountId == l.Pupil.AccountId).FeedId);
        await p2.Connection.InvokeAsync<string>("Subscribe", callId, feed!.Value).ExpectHubErrorAsync("feed_not_found");

        // Given the word again, she publishes a new feed as anyone does.
        await t.Connection.InvokeAsync<CallDto>("AllowToSpeak", callId, l.Pupil.AccountId, true);
        await p.Connection.InvokeAsync<string>("Publish", callId, Offer);
        Assert.NotNull((await p2.Connection.InvokeAsync<CallDto>("GetCall", callId)).Participants.Single(x => x.AccountId == l.Pupil.AccountId).FeedId);
        await t.Connection.InvokeAsync("EndCall", callId);
    }

    [Fact]
    public async Task ScreenShareIceRestart_SameHandleAndFeed_OnlyForTheOneSharing()
    {
        var l = await Lesson.CreateAsync(app);
        await using var t = await HubClient.ConnectAsync(app, l.Teacher);
        await using var p = await HubClient.ConnectAsync(app, l.Pupil);
        await using var s = await HubClient.ConnectAsync(app, l.Stranger);
        var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", l.Chat.Id, true)).Call.CallId;
        await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        // Not sharing: nothing to restart.
        await t.Connection.InvokeAsync<string>("RestartScreenIce", callId, VideoOnlyOffer).ExpectHubErrorAsync("feed_not_found");

        // The teacher's screen connection is renegotiated on the same Janus handle: the same screen feed.
        await t.Connection.InvokeAsync<string>("PublishScreen", callId, VideoOnlyOffer);
        var feed = (await t.Connection.InvokeAsync<CallDto>("GetCall", callId)).Participants.Single(x => x.AccountId == l.Teacher.AccountId).ScreenFeedId;
        Assert.NotNull(feed);
        Assert.StartsWith("v=0", await t.Connection.InvokeAsync<string>("RestartScreenIce", callId, VideoOnlyOffer), StringComparison.Ordinal);
        Assert.Equal(feed, (await p.Connection.InvokeAsync<CallDto>("GetCall", callId)).Participants.Single(x => x.AccountId == l.Teacher.AccountId).ScreenFeedId);

        // The offer is validated; only the one sharing restarts; outsiders learn nothing.
        await t.Connection.InvokeAsync<string>("RestartScreenIce", callId, "v=0\r\nnonsense").ExpectHubErrorAsync("media_invalid");
        await p.Connection.InvokeAsync<string>("RestartScreenIce", callId, VideoOnlyOffer).ExpectHubErrorAsync("feed_not_found");
        await s.Connection.InvokeAsync<string>("RestartScreenIce", callId, VideoOnlyOffer).ExpectHubErrorAsync("chat_not_found");

        // Stopped: nothing to restart any more.
        await t.Connection.InvokeAsync<CallDto>("StopScreenShare", callId, null);
        await t.Connection.InvokeAsync<string>("RestartScreenIce", callId, VideoOnlyOffer).ExpectHubErrorAsync("feed_not_found");

        await t.Connection.InvokeAsync("EndCall", callId);
    }
}
