using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Chat.Hub.Features.Calls;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Calls;

/// <summary>
/// The app whose only "Janus" accepts TCP connections and never answers (a hung Janus, or a machine whose kernel still
/// accepts): every connect to it waits out <c>Calls:Janus:ConnectTimeout</c> (default 5 s).
/// </summary>
public sealed class HungJanusApp : ChatApp
{
    private readonly TcpListener silent = new(IPAddress.Loopback, 0);

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Calls:Janus:Urls:0"] = $"ws://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/",
    };

    public override async Task InitializeAsync()
    {
        silent.Start(); // the kernel completes the handshakes; nobody reads the WebSocket upgrade
        await base.InitializeAsync();
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        silent.Dispose();
    }
}

/// <summary>A Janus that does not answer keeps the call's media waiting, not the call itself.</summary>
public sealed class JanusHungTests(HungJanusApp app) : IClassFixture<HungJanusApp>
{
    private static string Offer => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "chromium-offer-sendrecv.sdp"));

    /// <summary>
    /// Four pages publish into a call with no room while Janus hangs, and another pupil joins meanwhile: the join
    /// answers at once, and the publishes share one attempt at the room (all answered media_unavailable once the
    /// connect gives up). Before, the room was made under the call's row lock: each Publish held it (and a database
    /// connection) for its connect's timeout in turn, and the join waited behind all of them — about 20 s here.
    /// </summary>
    [Fact]
    public async Task PublishesIntoACallWhileJanusHangs_AJoinOfTheCallDoesNotWaitForThem()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("8А");
        var teacher = await school.AddVerifiedTeacherAsync("Ирина Петровна", a.Id);
        var pupils = new List<TestUser>();
        foreach (var name in new[] { "Аня", "Боря", "Вера", "Гриша" })
        {
            pupils.Add(await school.AddStudentAsync(name, a.Id));
        }

        await using var t = await HubClient.ConnectAsync(app, teacher);
        var p = new List<HubClient>();
        try
        {
            foreach (var pupil in pupils)
            {
                p.Add(await HubClient.ConnectAsync(app, pupil));
            }

            var chat = await t.ClassChatAsync(school.Id, a.Id);
            var callId = (await t.Connection.InvokeAsync<CallJoinDto>("StartCall", chat.Id, false)).Call.CallId; // no room: Janus did not answer
            foreach (var pupil in p.Take(3))
            {
                await pupil.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
            }

            var publishes = new[] { t }.Concat(p.Take(3)).Select(c => c.Connection.InvokeAsync<string>("Publish", callId, Offer)).ToList();
            await Task.Delay(TimeSpan.FromSeconds(1)); // the publishes are waiting for Janus by now

            var took = Stopwatch.StartNew();
            var joined = await p[3].Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
            took.Stop();
            Assert.Equal(5, joined.Call.Participants.Count);
            Assert.True(took.Elapsed < TimeSpan.FromSeconds(5), $"JoinCall took {took.Elapsed} while the call's publishes waited for Janus");

            foreach (var publish in publishes)
            {
                await publish.ExpectHubErrorAsync("media_unavailable");
            }

            await t.Connection.InvokeAsync("EndCall", callId);
        }
        finally
        {
            foreach (var c in p)
            {
                await c.DisposeAsync();
            }
        }
    }
}
