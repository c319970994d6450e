using Chat.Hub.Features.Calls;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Calls;

/// <summary>The app with a real private Janus (signaling only: outside a network namespace no media flows).</summary>
public sealed class JanusCallsApp : ChatApp
{
    protected override bool WithJanus => true;
}

/// <summary>Janus dies mid-call and comes back: participants get SfuRestarted, the call goes on, publishing again works.</summary>
public sealed class JanusRestartTests(JanusCallsApp app) : IClassFixture<JanusCallsApp>
{
    private static string Offer => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "chromium-offer-sendrecv.sdp"));

    [Fact]
    public async Task JanusKilledMidCall_ParticipantsToldAndFeedsCleared_WhileDownMediaUnavailable_AfterRestartBothPublishAgain()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("5А");
        var teacher = await school.AddVerifiedTeacherAsync("Мария Ивановна", a.Id);
        var pupil = await school.AddStudentAsync("Вася", a.Id);
        await using var t = await HubClient.ConnectAsync(app, teacher);
        await using var p = await HubClient.ConnectAsync(app, pupil);
        var chat = await t.ClassChatAsync(school.Id, a.Id);

        var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", chat.Id, false)).Call.CallId;
        await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        var answer = await t.Connection.InvokeAsync<string>("Publish", callId, Offer);
        Assert.StartsWith("v=0", answer, StringComparison.Ordinal);
        Assert.NotNull((await p.Connection.InvokeAsync<CallDto>("GetCall", callId)).Participants.Single(x => x.AccountId == teacher.AccountId).FeedId);

        var teacherTold = new TaskCompletionSource<Guid>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pupilTold = new TaskCompletionSource<Guid>(TaskCreationOptions.RunContinuationsAsynchronously);
        t.Connection.On<Guid>("SfuRestarted", id => teacherTold.TrySetResult(id));
        p.Connection.On<Guid>("SfuRestarted", id => pupilTold.TrySetResult(id));

        await app.Janus!.KillAsync();
        Assert.Equal(callId, await teacherTold.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(callId, await pupilTold.Task.WaitAsync(TimeSpan.FromSeconds(30)));

        // The call itself goes on; its feeds are gone; publishing while Janus is down is a clear error, not a 500.
        var during = await p.Connection.InvokeAsync<CallDto>("GetCall", callId);
        Assert.False(during.Ended);
        Assert.Equal(2, during.Participants.Count);
        Assert.All(during.Participants, x => Assert.Null(x.FeedId));
        await t.Connection.InvokeAsync<string>("Publish", callId, Offer).ExpectHubErrorAsync("media_unavailable");

        // Janus is back (systemd restarts it): both publish again, into one new room.
        await app.Janus.StartAgainAsync();
        var again = await t.Connection.InvokeAsync<string>("Publish", callId, Offer);
        Assert.StartsWith("v=0", again, StringComparison.Ordinal);
        Assert.StartsWith("v=0", await p.Connection.InvokeAsync<string>("Publish", callId, Offer), StringComparison.Ordinal);
        var after = await t.Connection.InvokeAsync<CallDto>("GetCall", callId);
        Assert.All(after.Participants, x => Assert.NotNull(x.FeedId));
        Assert.NotEqual(after.Participants[0].FeedId, after.Participants[1].FeedId);

        await t.Connection.InvokeAsync("EndCall", callId);
    }

    /// <summary>
    /// A lesson started while Janus is down starts all the same: the class gets CallStarted and sees the teacher in it,
    /// publishing answers media_unavailable (the page retries it), and once Janus is back publishing makes the room.
    /// Before, StartCall answered media_unavailable and left the call live with nobody in it: the chat showed it with
    /// no participants, and a second try joined it without CallStarted ever reaching the class.
    /// </summary>
    [Fact]
    public async Task LessonStartedWhileJanusIsDown_StartsAndTheClassIsTold_PublishingWorksOnceJanusIsBack()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("5Г");
        var teacher = await school.AddVerifiedTeacherAsync("Ольга Сергеевна", a.Id);
        var pupil = await school.AddStudentAsync("Петя", a.Id);
        await using var t = await HubClient.ConnectAsync(app, teacher);
        await using var p = await HubClient.ConnectAsync(app, pupil);
        var chat = await t.ClassChatAsync(school.Id, a.Id);
        var started = new TaskCompletionSource<CallDto>(TaskCreationOptions.RunContinuationsAsynchronously);
        p.Connection.On<CallDto>("CallStarted", c => started.TrySetResult(c));

        await app.Janus!.KillAsync();
        try
        {
            var lesson = await t.Connection.InvokeAsync<CallJoinDto>("StartCall", chat.Id, true);
            Assert.Equal(lesson.Call.CallId, (await started.Task.WaitAsync(TimeSpan.FromSeconds(10))).CallId);
            var seen = await p.Connection.InvokeAsync<CallDto?>("GetChatCall", chat.Id);
            Assert.Equal(teacher.AccountId, Assert.Single(seen!.Participants).AccountId);
            await t.Connection.InvokeAsync<string>("Publish", lesson.Call.CallId, Offer).ExpectHubErrorAsync("media_unavailable");

            await app.Janus.StartAgainAsync();
            Assert.StartsWith("v=0", await t.Connection.InvokeAsync<string>("Publish", lesson.Call.CallId, Offer), StringComparison.Ordinal);
            Assert.NotNull((await p.Connection.InvokeAsync<CallDto>("GetCall", lesson.Call.CallId)).Participants.Single().FeedId);
            await t.Connection.InvokeAsync("EndCall", lesson.Call.CallId);
        }
        finally
        {
            await app.Janus.StartAgainAsync(); // the class's other tests need it (nothing to do when it runs)
        }
    }

    [Fact]
    public async Task JoinCall_SaysWhetherThisServerHoldsTheCallersMedia()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("5В");
        var teacher = await school.AddVerifiedTeacherAsync("Анна Львовна", a.Id);
        var pupil = await school.AddStudentAsync("Гоша", a.Id);
        await using var t = await HubClient.ConnectAsync(app, teacher);
        await using var p = await HubClient.ConnectAsync(app, pupil);
        var chat = await t.ClassChatAsync(school.Id, a.Id);

        // Nothing published or subscribed yet: this server holds none of their media.
        var started = await t.Connection.InvokeAsync<CallJoinDto>("StartCall", chat.Id, false);
        Assert.False(started.MediaHere);
        Assert.False((await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", started.Call.CallId)).MediaHere);

        // The teacher publishes; her page's hub reconnects to the same server and rejoins: her camera's handle is here.
        // The pupil published nothing: still none of hers.
        Assert.StartsWith("v=0", await t.Connection.InvokeAsync<string>("Publish", started.Call.CallId, Offer), StringComparison.Ordinal);
        await using var again = await HubClient.ConnectAsync(app, teacher);
        Assert.True((await again.Connection.InvokeAsync<CallJoinDto>("JoinCall", started.Call.CallId)).MediaHere);
        Assert.False((await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", started.Call.CallId)).MediaHere);

        await t.Connection.InvokeAsync("EndCall", started.Call.CallId);
    }
}
