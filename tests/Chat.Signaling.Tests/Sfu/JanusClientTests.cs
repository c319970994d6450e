using System.Net;
using System.Net.Sockets;
using Chat.Signaling.Sdp;
using Chat.Signaling.Sfu;
using Chat.Signaling.Tests.Sdp;
using Chat.Testing;

namespace Chat.Signaling.Tests.Sfu;

/// <summary>The Janus client against a real Janus 1.1 (Debian package janus, installed by test.sh).</summary>
public sealed class JanusClientTests
{
    [Fact]
    public async Task Creates_a_room_publishes_a_real_offer_subscribes_and_trickles()
    {
        Assert.True(JanusServer.Available, "janus is not installed (test.sh installs it)");
        await using var janus = await JanusServer.StartAsync();
        await using var client = await JanusClient.ConnectAsync(new Uri(janus.Url), TimeSpan.FromSeconds(20), default);
        Assert.True(client.SessionId > 0);

        var admin = await client.AttachAsync(default);
        var (room, secret) = JanusPool.NewRoom();
        await client.CreateRoomAsync(admin, room, secret, publishers: 10, default);
        Assert.True(await client.RoomExistsAsync(admin, room, default));

        var publisher = await client.AttachAsync(default);
        var (feed, answer) = await client.PublishAsync(publisher, room, secret, "teacher", SdpTestData.Offer, audio: true, video: true, default);
        Assert.True(feed > 0);
        var parsedAnswer = SdpParser.Parse(answer);
        Assert.Equal(["audio", "video"], parsedAnswer.Media.Select(m => m.Kind));
        await client.TrickleAsync(publisher, SdpTestData.Candidates[0], "0", 0, default);
        await client.TrickleAsync(publisher, null, null, null, default);

        // Without ICE (no namespace here) the publisher never goes live, so Janus has no feed to offer yet:
        // subscribing is exercised end to end by the browser test; here the plugin error must surface as such.
        var subscriber = await client.AttachAsync(default);
        var noFeed = await Assert.ThrowsAsync<JanusException>(() => client.SubscribeAsync(subscriber, room, secret, feed, default));
        Assert.Equal(428, noFeed.Code);

        await client.ModerateAsync(admin, room, secret, feed, "0", mute: true, default);
        await client.DestroyRoomAsync(admin, room, secret, default);
        Assert.False(await client.RoomExistsAsync(admin, room, default));
    }

    [Fact]
    public async Task Wrong_pin_is_refused_and_a_janus_restart_is_detected()
    {
        Assert.True(JanusServer.Available, "janus is not installed (test.sh installs it)");
        await using var janus = await JanusServer.StartAsync();
        await using var pool = new JanusPool(new JanusOptions { Urls = [janus.Url], KeepAlive = TimeSpan.FromSeconds(20) });
        var restarted = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        pool.InstanceRestarted += url => restarted.TrySetResult(url);
        var client = await pool.ClientAsync(janus.Url, default);
        var handle = await client.AttachAsync(default);
        var (room, secret) = JanusPool.NewRoom();
        await client.CreateRoomAsync(handle, room, secret, 4, default);
        var publisher = await client.AttachAsync(default);
        var error = await Assert.ThrowsAsync<JanusException>(() => client.PublishAsync(publisher, room, "wrong", "x", SdpTestData.Offer, true, true, default));
        Assert.NotEqual(0, error.Code);

        await janus.KillAsync();
        Assert.Equal(janus.Url, await restarted.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(client.IsLost);
        await Assert.ThrowsAsync<JanusException>(() => client.AttachAsync(default));
    }

    [Fact]
    public void Calls_go_to_the_least_loaded_instance()
    {
        var pool = new JanusPool(new JanusOptions { Urls = ["ws://a/", "ws://b/", "ws://c/"] });
        Assert.Equal("ws://a/", pool.Place(new Dictionary<string, int>()));
        Assert.Equal("ws://b/", pool.Place(new Dictionary<string, int> { ["ws://a/"] = 2, ["ws://c/"] = 1 }));
        Assert.Equal("ws://c/", pool.Place(new Dictionary<string, int> { ["ws://a/"] = 2, ["ws://b/"] = 2, ["ws://c/"] = 1 }));
    }

    /// <summary>
    /// A Janus machine that is down without refusing (or a Janus that accepts and never answers) costs a connect its
    /// timeout, not minutes; an instance whose connect failed gets no new calls while another is not known to be down,
    /// and with every one down they are all candidates again. Before, the connect had no timeout of its own and the
    /// failed instance, counting no live calls, was chosen first.
    /// </summary>
    [Fact]
    public async Task A_failed_instance_is_left_out_of_placement_and_a_silent_one_costs_only_the_connect_timeout()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0); // accepts (the kernel does), never answers
        silent.Start();
        var hung = $"ws://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/";
        var refused = $"ws://127.0.0.1:{ClosedPort()}/";
        await using var pool = new JanusPool(new JanusOptions
        {
            Urls = [refused, hung], ConnectTimeout = TimeSpan.FromMilliseconds(500), RetryFailedAfter = TimeSpan.FromHours(1),
        });

        Assert.Equal(refused, pool.Place(new Dictionary<string, int>()));
        await Assert.ThrowsAnyAsync<Exception>(() => pool.ClientAsync(refused, default));
        Assert.Equal(hung, pool.Place(new Dictionary<string, int>()));
        Assert.Equal(hung, pool.Place(new Dictionary<string, int> { [hung] = 5 }));

        var took = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<JanusException>(() => pool.ClientAsync(hung, default));
        Assert.Equal(0, error.Code);
        Assert.True(took.Elapsed < TimeSpan.FromSeconds(5), $"the connect took {took.Elapsed}");

        // Both down: both are candidates again, the least loaded first.
        Assert.Equal(refused, pool.Place(new Dictionary<string, int> { [hung] = 5 }));
        Assert.Equal(hung, pool.Place(new Dictionary<string, int> { [refused] = 5 }));
    }

    private static int ClosedPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
