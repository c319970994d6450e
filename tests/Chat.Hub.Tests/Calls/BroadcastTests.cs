using Chat.Hub.Features.Calls;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Calls;

/// <summary>
/// Broadcasts («трансляции») in the school channel with a real Janus: the admin presents, everyone else watches and
/// can never publish (not with a crafted offer either), the viewer count is pushed, the host makes a presenter and
/// takes it back.
/// </summary>
public sealed class BroadcastTests(JanusCallsApp app) : IClassFixture<JanusCallsApp>
{
    private static string Offer => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "chromium-offer-sendrecv.sdp"));

    [Fact]
    public async Task AdminBroadcastsInSchoolChannel_ViewersOnlyWatch_CountPushed_PresenterGrantedAndTakenBack()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("9А");
        var teacher = await school.AddVerifiedTeacherAsync("Завуч Ирина Львовна", a.Id);
        var pupil = await school.AddStudentAsync("Саша", a.Id);
        await using var admin = await HubClient.ConnectAsync(app, school.Admin);
        await using var t = await HubClient.ConnectAsync(app, teacher);
        await using var p = await HubClient.ConnectAsync(app, pupil);
        var channel = Assert.Single(await p.ChatsAsync(school.Id), c => c.Kind == "channel");

        // Pupils cannot start one; the admin who runs the channel can.
        await p.Connection.InvokeAsync<CallJoinDto>("StartBroadcast", channel.Id).ExpectHubErrorAsync("call_start_not_allowed");
        var started = await admin.Connection.InvokeAsync<CallJoinDto>("StartBroadcast", channel.Id);
        var callId = started.Call.CallId;
        Assert.Equal("broadcast", started.Call.Kind);
        Assert.Equal(school.Admin.AccountId, Assert.Single(started.Call.Participants).AccountId);
        Assert.StartsWith("v=0", await admin.Connection.InvokeAsync<string>("Publish", callId, Offer), StringComparison.Ordinal);

        // Viewers join; the count is pushed; viewers are not listed one by one.
        var counts = new List<int>();
        var two = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        admin.Connection.On<Guid, int>("BroadcastViewers", (_, n) =>
        {
            lock (counts)
            {
                counts.Add(n);
                if (n == 2)
                {
                    two.TrySetResult();
                }
            }
        });
        var asViewer = await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        Assert.DoesNotContain(asViewer.Call.Participants, x => x.AccountId == pupil.AccountId);
        await t.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await two.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var state = await p.Connection.InvokeAsync<CallDto>("GetCall", callId);
        Assert.Equal(2, state.ViewerCount);
        Assert.Single(state.Participants);

        // A viewer never publishes: not a camera, not a screen, not an offer with nothing to send, not by unmuting.
        var nothingToSend = Offer.Replace("a=sendrecv", "a=inactive", StringComparison.Ordinal);
        foreach (var viewer in new[] { p, t })
        {
            await viewer.Connection.InvokeAsync<string>("Publish", callId, Offer).ExpectHubErrorAsync("viewer_cannot_publish");
            await viewer.Connection.InvokeAsync<string>("Publish", callId, nothingToSend).ExpectHubErrorAsync("viewer_cannot_publish");
            await viewer.Connection.InvokeAsync<string>("PublishScreen", callId, Offer).ExpectHubErrorAsync("viewer_cannot_publish");
            await viewer.Connection.InvokeAsync<CallDto>("SetMuted", callId, false, false).ExpectHubErrorAsync("speak_not_allowed");
            await viewer.Connection.InvokeAsync("Trickle", new TrickleRequest(callId, null, "candidate:1 1 udp 2122260223 127.0.0.1 9 typ host", "0", 0)).ExpectHubErrorAsync("not_in_call");
        }

        await p.Connection.InvokeAsync<CallDto>("SetPresenter", callId, teacher.AccountId, true).ExpectHubErrorAsync("call_host_only");

        // The host makes the deputy a presenter: she publishes and is listed; then back to viewer, her feed is gone.
        var promoted = await admin.Connection.InvokeAsync<CallDto>("SetPresenter", callId, teacher.AccountId, true);
        Assert.Equal((2, 1), (promoted.Participants.Count, promoted.ViewerCount));
        Assert.StartsWith("v=0", await t.Connection.InvokeAsync<string>("Publish", callId, Offer), StringComparison.Ordinal);
        Assert.NotNull((await p.Connection.InvokeAsync<CallDto>("GetCall", callId)).Participants.Single(x => x.AccountId == teacher.AccountId).FeedId);
        var demoted = await admin.Connection.InvokeAsync<CallDto>("SetPresenter", callId, teacher.AccountId, false);
        Assert.Equal((1, 2), (demoted.Participants.Count, demoted.ViewerCount));
        await t.Connection.InvokeAsync<string>("Publish", callId, Offer).ExpectHubErrorAsync("viewer_cannot_publish");

        // A viewer leaving lowers the count.
        var one = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        admin.Connection.On<Guid, int>("BroadcastViewers", (_, n) =>
        {
            if (n == 1)
            {
                one.TrySetResult();
            }
        });
        await p.Connection.InvokeAsync("LeaveCall", callId);
        await one.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await admin.Connection.InvokeAsync("EndCall", callId);
    }

    /// <summary>
    /// A broadcast's viewers are not shown to each other (a channel's readers; safe mode hides a pupil from other classes'
    /// parents): a viewer asking for the call's names gets those the call shows — its host and presenters — and herself;
    /// the host gets everyone who came.
    /// </summary>
    [Fact]
    public async Task ParentOfAnotherClassAsksTheBroadcastsNames_NoOtherViewer_TheHostSeesEveryone()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("8А");
        var b = await school.CreateClassAsync("8Б");
        var pupil = await school.AddStudentAsync("Саша Орлов", a.Id);
        var son = await school.AddStudentAsync("Дима Лебедев", b.Id);
        var mother = await school.AddParentAsync("Ольга Лебедева", son.AccountId);
        await using var admin = await HubClient.ConnectAsync(app, school.Admin);
        await using var p = await HubClient.ConnectAsync(app, pupil);
        await using var m = await HubClient.ConnectAsync(app, mother);
        var channel = Assert.Single(await admin.ChatsAsync(school.Id), c => c.Title == "Общешкольный канал");
        var callId = (await admin.Connection.InvokeAsync<CallJoinDto>("StartBroadcast", channel.Id)).Call.CallId;
        await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
        await m.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);

        var seenByMother = await m.Connection.InvokeAsync<List<CallNameDto>>("GetCallNames", callId);
        Assert.Equal([school.Admin.AccountId, mother.AccountId], seenByMother.Select(x => x.AccountId).Order());
        Assert.DoesNotContain(seenByMother, x => x.DisplayName == "Саша Орлов");
        var seenByHost = await admin.Connection.InvokeAsync<List<CallNameDto>>("GetCallNames", callId);
        Assert.Equal(new[] { school.Admin.AccountId, pupil.AccountId, mother.AccountId }.Order(), seenByHost.Select(x => x.AccountId).Order());

        await admin.Connection.InvokeAsync("EndCall", callId);
    }

    [Fact]
    public async Task AssemblyOpensAtOnce_TheViewerCountIsPushedAtMostOnceASecond_AndEndsOnTheFinalCount()
    {
        const int Viewers = 20;
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("1А");
        var pupils = new List<HubClient>();
        try
        {
            for (var i = 0; i < Viewers; i++)
            {
                pupils.Add(await HubClient.ConnectAsync(app, await school.AddStudentAsync($"Ученик {i + 1}", a.Id)));
            }

            await using var admin = await HubClient.ConnectAsync(app, school.Admin);
            var channel = Assert.Single(await pupils[0].ChatsAsync(school.Id), c => c.Kind == "channel");
            var counts = new List<int>();
            admin.Connection.On<Guid, int>("BroadcastViewers", (_, n) =>
            {
                lock (counts)
                {
                    counts.Add(n);
                }
            });
            var callId = (await admin.Connection.InvokeAsync<CallJoinDto>("StartBroadcast", channel.Id)).Call.CallId;

            // The whole class opens the assembly at once.
            var started = DateTime.UtcNow;
            await Task.WhenAll(pupils.Select(p => p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId)));

            // The count the admin sees ends on twenty, after far fewer pushes than joins: one at once, then at most
            // one a second while they come (a second or two here; the bound follows however long they took).
            var until = DateTime.UtcNow.AddSeconds(10);
            while (Last() != Viewers && DateTime.UtcNow < until)
            {
                await Task.Delay(100);
            }

            var seconds = (int)Math.Ceiling((DateTime.UtcNow - started) / CallService.ViewerPushEvery);

            await Task.Delay(CallService.ViewerPushEvery * 1.5); // nothing else is coming
            lock (counts)
            {
                Assert.Equal(Viewers, counts[^1]);
                Assert.InRange(counts.Count, 1, Math.Min(seconds + 2, Viewers - 1));
            }

            Assert.Equal(Viewers, (await admin.Connection.InvokeAsync<CallDto>("GetCall", callId)).ViewerCount);
            await admin.Connection.InvokeAsync("EndCall", callId);

            int Last()
            {
                lock (counts)
                {
                    return counts.Count == 0 ? -1 : counts[^1];
                }
            }
        }
        finally
        {
            foreach (var p in pupils)
            {
                await p.DisposeAsync();
            }
        }
    }
}
