using Chat.Hub.Features.Calls;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;
using Dapper;
using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;

namespace Chat.Hub.Tests.Calls;

/// <summary>
/// The app with two real private Janus instances (signaling only): <see cref="ChatApp.Janus"/> is listed first,
/// <see cref="Second"/> second. An instance that failed is left out of placement for 4 s, then probed.
/// </summary>
public sealed class TwoJanusApp : ChatApp
{
    protected override bool WithJanus => true;

    public JanusServer Second { get; private set; } = null!;

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Calls:Janus:Urls:1"] = Second.Url,
        ["Calls:Janus:RetryFailedAfter"] = "00:00:04",
    };

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Second = await JanusServer.StartAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (Second is not null)
        {
            await Second.DisposeAsync();
        }
    }

    /// <summary>The Janus instance the call's room is on (null: none yet).</summary>
    public async Task<string?> SfuUrlAsync(Guid callId)
    {
        await using var c = new NpgsqlConnection(ConnectionString);
        return await c.QuerySingleAsync<string?>("SELECT sfu_url FROM calls WHERE id = @callId", new { callId });
    }
}

/// <summary>
/// With several Janus instances, one of them down does not take calls with it: new calls and re-publishes go to the
/// healthy one, and the one that came back gets calls again.
/// </summary>
public sealed class JanusPlacementTests(TwoJanusApp app) : IClassFixture<TwoJanusApp>
{
    private static string Offer => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "chromium-offer-sendrecv.sdp"));

    /// <summary>
    /// Before, placement counted each instance's live calls in the database only: once the first instance died, its
    /// calls' rooms were forgotten, so it counted none and was chosen for every re-publish and every new lesson, each
    /// answered media_unavailable while the second instance stood idle.
    /// </summary>
    [Fact]
    public async Task OneInstanceDown_ReturningAndNewCallsGoToTheOther_OnceBackItGetsCallsAgain()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var lessons = new List<(HubClient Teacher, Guid ChatId)>();
        foreach (var name in new[] { "7А", "7Б", "7В" })
        {
            var c = await school.CreateClassAsync(name);
            var teacher = await HubClient.ConnectAsync(app, await school.AddVerifiedTeacherAsync("Учитель " + name, c.Id));
            lessons.Add((teacher, (await teacher.ClassChatAsync(school.Id, c.Id)).Id));
        }

        try
        {
            // Both up, no calls: the first listed gets the first call.
            var (t1, chat1) = lessons[0];
            var call1 = (await t1.Connection.InvokeAsync<CallJoinDto>("StartCall", chat1, false)).Call.CallId;
            Assert.StartsWith("v=0", await t1.Connection.InvokeAsync<string>("Publish", call1, Offer), StringComparison.Ordinal);
            Assert.Equal(app.Janus!.Url, await app.SfuUrlAsync(call1));

            // The first instance dies: its call's room is forgotten, and the teacher's page publishes again — on the second.
            var told = new TaskCompletionSource<Guid>(TaskCreationOptions.RunContinuationsAsynchronously);
            t1.Connection.On<Guid>("SfuRestarted", id => told.TrySetResult(id));
            await app.Janus.KillAsync();
            Assert.Equal(call1, await told.Task.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.StartsWith("v=0", await t1.Connection.InvokeAsync<string>("Publish", call1, Offer), StringComparison.Ordinal);
            Assert.Equal(app.Second.Url, await app.SfuUrlAsync(call1));

            // A new lesson meanwhile starts and publishes on the second as well.
            var (t2, chat2) = lessons[1];
            var call2 = (await t2.Connection.InvokeAsync<CallJoinDto>("StartCall", chat2, false)).Call.CallId;
            Assert.StartsWith("v=0", await t2.Connection.InvokeAsync<string>("Publish", call2, Offer), StringComparison.Ordinal);
            Assert.Equal(app.Second.Url, await app.SfuUrlAsync(call2));

            // The first is back: after the retry interval it is tried again, and as the less loaded one it gets the next lesson.
            await app.Janus.StartAgainAsync();
            await Task.Delay(TimeSpan.FromSeconds(4.5));
            var (t3, chat3) = lessons[2];
            var call3 = (await t3.Connection.InvokeAsync<CallJoinDto>("StartCall", chat3, false)).Call.CallId;
            Assert.StartsWith("v=0", await t3.Connection.InvokeAsync<string>("Publish", call3, Offer), StringComparison.Ordinal);
            Assert.Equal(app.Janus.Url, await app.SfuUrlAsync(call3));

            foreach (var (t, callId) in new[] { (t1, call1), (t2, call2), (t3, call3) })
            {
                await t.Connection.InvokeAsync("EndCall", callId);
            }
        }
        finally
        {
            await app.Janus!.StartAgainAsync();
            foreach (var (t, _) in lessons)
            {
                await t.DisposeAsync();
            }
        }
    }
}
