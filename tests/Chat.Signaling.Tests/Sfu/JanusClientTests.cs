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
}
