using System.Diagnostics;
using Chat.Hub.Features.Calls;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;
using Dapper;
using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;

namespace Chat.Hub.Tests.Calls;

/// <summary>
/// One active page per person in a call (docs/calls.md, "Two pages of one person") against a real Janus: what is a new
/// page and what is the same page coming back.
/// </summary>
public sealed class CallPageMediaTests(JanusCallsApp app) : IClassFixture<JanusCallsApp>
{
    private static string Offer => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "chromium-offer-sendrecv.sdp"));

    /// <summary>
    /// A hub reconnect is a new connection id. The call page's reconnect names the same page: its feed stays, its media
    /// requests go on and its RejoinCall succeeds. A client that names no page is not held to one active page at all:
    /// before, its reconnect counted as a second page, and every JoinCall after a reconnect cleared and kicked the
    /// person's own feed while still answering MediaHere = true (and RejoinCall was refused while the old connection
    /// looked open). A really new page builds its media anew: the old page's handles on this node are dropped and the
    /// join answers MediaHere = false.
    /// </summary>
    [Fact]
    public async Task HubReconnects_OfAPageAndOfAClientWithoutOne_KeepTheirFeeds_ANewPageBuildsItsMediaAnew()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("6В");
        var teacher = await school.AddVerifiedTeacherAsync("Анна Львовна", a.Id);
        var pupil = await school.AddStudentAsync("Коля", a.Id);
        await using var tab = await HubClient.ConnectAsync(app, teacher, page: "lesson-tab");
        await using var pupilHub = await HubClient.ConnectAsync(app, pupil);
        var chat = await tab.ClassChatAsync(school.Id, a.Id);
        var callId = (await tab.Connection.InvokeAsync<CallJoinDto>("StartCall", chat.Id, false)).Call.CallId;
        await pupilHub.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        Assert.StartsWith("v=0", await tab.Connection.InvokeAsync<string>("Publish", callId, Offer), StringComparison.Ordinal);
        Assert.StartsWith("v=0", await pupilHub.Connection.InvokeAsync<string>("Publish", callId, Offer), StringComparison.Ordinal);
        var call = await pupilHub.Connection.InvokeAsync<CallDto>("GetCall", callId);
        var teacherFeed = FeedOf(call, teacher);
        var pupilFeed = FeedOf(call, pupil);
        Assert.NotNull(teacherFeed);
        Assert.NotNull(pupilFeed);

        // The teacher's hub reconnects: a new connection of the same page (the old one not yet seen closing).
        await using var tabAgain = await HubClient.ConnectAsync(app, teacher, page: "lesson-tab");
        var back = await tabAgain.Connection.InvokeAsync<CallJoinDto>("RejoinCall", callId);
        Assert.True(back.MediaHere);
        Assert.Equal(teacherFeed, FeedOf(back.Call, teacher));
        Assert.StartsWith("v=0", await tabAgain.Connection.InvokeAsync<string>("RestartIce", callId, Offer), StringComparison.Ordinal);
        await tab.DisposeAsync();

        // The pupil's client names no page: its reconnects are not second pages. Its feed stays, its media goes on.
        await using var pupilAgain = await HubClient.ConnectAsync(app, pupil);
        var pupilBack = await pupilAgain.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        Assert.True(pupilBack.MediaHere);
        Assert.Equal(pupilFeed, FeedOf(pupilBack.Call, pupil));
        Assert.StartsWith("v=0", await pupilAgain.Connection.InvokeAsync<string>("RestartIce", callId, Offer), StringComparison.Ordinal);
        await using var pupilThird = await HubClient.ConnectAsync(app, pupil);
        Assert.Equal(pupilFeed, FeedOf((await pupilThird.Connection.InvokeAsync<CallJoinDto>("RejoinCall", callId)).Call, pupil));
        Assert.Equal(pupilFeed, FeedOf(await tabAgain.Connection.InvokeAsync<CallDto>("GetCall", callId), pupil));

        // A client of hers that names no page joins too: it leaves her active page as it was (before, it wiped it, and the
        // laptop below was not told apart from the tab: it got MediaHere = true and restarted the tab's camera).
        await using var pageless = await HubClient.ConnectAsync(app, teacher);
        await pageless.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        // A really new page of the teacher (the laptop) takes the call: it builds its media anew, and the old page's
        // camera handle on this node is not there for it to restart.
        await using var laptop = await HubClient.ConnectAsync(app, teacher, page: "laptop");
        var moved = await laptop.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        Assert.False(moved.MediaHere);
        Assert.Null(FeedOf(moved.Call, teacher));
        await laptop.Connection.InvokeAsync<string>("RestartIce", callId, Offer).ExpectHubErrorAsync("feed_not_found");
        Assert.StartsWith("v=0", await laptop.Connection.InvokeAsync<string>("Publish", callId, Offer), StringComparison.Ordinal);

        await laptop.Connection.InvokeAsync("EndCall", callId);
    }

    /// <summary>
    /// The teacher's laptop takes the call from her tab while Janus hangs: the join answers at once, the tab's camera
    /// out of the call; its kick out of the room goes on in the background. Before, the join waited for the kick, up to
    /// Janus's 10 s request timeout a feed.
    /// </summary>
    [Fact]
    public async Task ANewPageTakesTheCallWhileJanusHangs_TheJoinDoesNotWaitForTheOldFeedsKick()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("6Г");
        var teacher = await school.AddVerifiedTeacherAsync("Вера Павловна", a.Id);
        await using var tab = await HubClient.ConnectAsync(app, teacher, page: "tab");
        var chat = await tab.ClassChatAsync(school.Id, a.Id);
        var callId = (await tab.Connection.InvokeAsync<CallJoinDto>("StartCall", chat.Id, false)).Call.CallId;
        Assert.StartsWith("v=0", await tab.Connection.InvokeAsync<string>("Publish", callId, Offer), StringComparison.Ordinal);

        await using var laptop = await HubClient.ConnectAsync(app, teacher, page: "laptop");
        await app.Janus!.FreezeAsync();
        try
        {
            var took = Stopwatch.StartNew();
            var joined = await laptop.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
            took.Stop();
            Assert.Null(FeedOf(joined.Call, teacher));
            Assert.True(took.Elapsed < TimeSpan.FromSeconds(5), $"JoinCall took {took.Elapsed} while Janus hung");
        }
        finally
        {
            await app.Janus.ThawAsync();
        }

        await laptop.Connection.InvokeAsync("EndCall", callId);
    }

    /// <summary>
    /// The tab's camera publish is under way (past the page check, through Janus) when the laptop takes the call: it
    /// is refused (call_moved_to_another_page) and its feed is not listed. Before, the feed was stored without a
    /// check under the call's lock: the call listed a camera of a page that had just let go of the call.
    /// </summary>
    [Fact]
    public async Task APublishUnderWayWhenAnotherPageTakesTheCall_IsRefused_ItsFeedIsNotListed()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("6Д");
        var teacher = await school.AddVerifiedTeacherAsync("Лидия Ивановна", a.Id);
        await using var tab = await HubClient.ConnectAsync(app, teacher, page: "tab");
        var chat = await tab.ClassChatAsync(school.Id, a.Id);
        var callId = (await tab.Connection.InvokeAsync<CallJoinDto>("StartCall", chat.Id, false)).Call.CallId;
        await using var laptop = await HubClient.ConnectAsync(app, teacher, page: "laptop");

        // The call's lock is held here: the laptop's join waits for it first, then the tab's publish (its page check
        // passed, the join not stored yet) waits behind it to store its feed.
        await using var holder = new NpgsqlConnection(app.ConnectionString);
        await holder.OpenAsync();
        Task<CallJoinDto> join;
        Task<string> publish;
        await using (var hold = await holder.BeginTransactionAsync())
        {
            await holder.ExecuteAsync("SELECT 1 FROM calls WHERE id = @callId FOR UPDATE", new { callId }, hold);
            join = laptop.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
            await LockWaiters.WaitAsync(app.ConnectionString, 1);
            publish = tab.Connection.InvokeAsync<string>("Publish", callId, Offer);
            await LockWaiters.WaitAsync(app.ConnectionString, 2);
            await hold.CommitAsync();
        }

        Assert.Null(FeedOf(await join.WaitAsync(TimeSpan.FromSeconds(15)), teacher));
        await publish.WaitAsync(TimeSpan.FromSeconds(15)).ExpectHubErrorAsync("call_moved_to_another_page");
        Assert.Null(FeedOf(await laptop.Connection.InvokeAsync<CallDto>("GetCall", callId), teacher));

        // The laptop publishes its own camera.
        Assert.StartsWith("v=0", await laptop.Connection.InvokeAsync<string>("Publish", callId, Offer), StringComparison.Ordinal);
        Assert.NotNull(FeedOf(await laptop.Connection.InvokeAsync<CallDto>("GetCall", callId), teacher));
        await laptop.Connection.InvokeAsync("EndCall", callId);
    }

    /// <summary>
    /// A pupil's camera publish is under way when the teacher takes the word back: it is refused (speak_not_allowed)
    /// and her feed is not listed. Before, the feed was stored without checking the permission again.
    /// </summary>
    [Fact]
    public async Task APupilsPublishUnderWayWhenTheWordIsTakenBack_IsRefused_HerFeedIsNotListed()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("6Е");
        var teacher = await school.AddVerifiedTeacherAsync("Нина Петровна", a.Id);
        var pupil = await school.AddStudentAsync("Соня", a.Id);
        await using var t = await HubClient.ConnectAsync(app, teacher, page: "lesson");
        await using var p = await HubClient.ConnectAsync(app, pupil, page: "sonya");
        var chat = await t.ClassChatAsync(school.Id, a.Id);
        var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", chat.Id, true)).Call.CallId;
        await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await t.Connection.InvokeAsync<CallDto>("AllowToSpeak", callId, pupil.AccountId, true);

        await using var holder = new NpgsqlConnection(app.ConnectionString);
        await holder.OpenAsync();
        Task<CallDto> takeBack;
        Task<string> publish;
        await using (var hold = await holder.BeginTransactionAsync())
        {
            await holder.ExecuteAsync("SELECT 1 FROM calls WHERE id = @callId FOR UPDATE", new { callId }, hold);
            takeBack = t.Connection.InvokeAsync<CallDto>("AllowToSpeak", callId, pupil.AccountId, false);
            await LockWaiters.WaitAsync(app.ConnectionString, 1);
            publish = p.Connection.InvokeAsync<string>("Publish", callId, Offer);
            await LockWaiters.WaitAsync(app.ConnectionString, 2);
            await hold.CommitAsync();
        }

        await takeBack.WaitAsync(TimeSpan.FromSeconds(15));
        await publish.WaitAsync(TimeSpan.FromSeconds(15)).ExpectHubErrorAsync("speak_not_allowed");
        Assert.Null(FeedOf(await t.Connection.InvokeAsync<CallDto>("GetCall", callId), pupil));
        await t.Connection.InvokeAsync("EndCall", callId);
    }

    private static long? FeedOf(CallJoinDto joined, TestUser user) => FeedOf(joined.Call, user);

    private static long? FeedOf(CallDto call, TestUser user) => call.Participants.Single(p => p.AccountId == user.AccountId).FeedId;
}
