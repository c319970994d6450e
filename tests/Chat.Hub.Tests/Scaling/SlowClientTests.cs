using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace Chat.Hub.Tests.Scaling;

/// <summary>
/// test-plan item 12: a client that reads nothing. The server bounds what it holds for it and drops that one
/// connection; everyone else, on the same node and on the other, gets every message, once.
/// </summary>
public sealed class SlowClientTests(ClusterApp cluster) : IClassFixture<ClusterApp>
{
    private const string DropLine = "Dropped hub connection";

    [Fact]
    public async Task ClientThatReadsNothing_OnlyItsConnectionIsDropped_OthersGetEveryMessage()
    {
        var room = await new SchoolBuilder(cluster).ClassRoomAsync(pupils: 3);
        var (teacher, pupils, chatId) = (room.Teacher, room.Pupils, room.ChatId);

        // A node of its own, so that a short stall limit keeps the test quick (the default is 10 s).
        await using var node = cluster.NewNode(settings: new Dictionary<string, string?> { ["Limits__SlowClientSeconds"] = "3" });
        await node.StartAsync();

        await using var sender = new NodeMember(teacher);
        await using var besideOnOtherNode = new NodeMember(pupils[0]);
        await using var besideOnSameNode = new NodeMember(pupils[1]);
        await sender.ConnectAsync(cluster.NodeA.BaseAddress, []);
        await besideOnOtherNode.ConnectAsync(cluster.NodeA.BaseAddress, []);
        await besideOnSameNode.ConnectAsync(node.BaseAddress, []);

        // The third pupil's device connects to the same node as the second, keeps sending pings (so it looks alive), and
        // never reads: its socket's receive buffer is tiny and nobody empties it.
        await using var stuck = await StuckClient.ConnectAsync(node.BaseAddress, pupils[2].Tokens.AccessToken);

        // The teacher posts long messages (some 8 KB each) through node A until node B' drops the stuck connection.
        var text = new string('щ', 4000);
        var sent = 0;
        while (!node.Output.Contains(DropLine, StringComparison.Ordinal))
        {
            Assert.True(sent < 3000, "the stuck connection was never dropped");
            await sender.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chatId, Guid.NewGuid(), text, null, null));
            sent++;
        }

        // More traffic after the drop; then everyone else must have every message, each pushed once, in order.
        for (var i = 0; i < 5; i++)
        {
            await sender.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chatId, Guid.NewGuid(), $"После отключения {i}", null, null));
            sent++;
        }

        foreach (var member in new[] { sender, besideOnOtherNode, besideOnSameNode })
        {
            await HubClient.EventuallyAsync(() => member.Pushes.Count(p => p.Message.ChatId == chatId) >= sent, $"all {sent} pushes", 60_000);
            var seqs = member.Pushes.Where(p => p.Message.ChatId == chatId).Select(p => p.Message.Seq).ToList();
            Assert.Equal(Enumerable.Range(1, sent).Select(i => (long)i), seqs);
            Assert.Equal(HubConnectionState.Connected, member.Connection.State);
            Assert.Equal(1, member.Generation);
        }

        // Only the stuck connection was dropped; reading what the kernel still holds for it ends at a closed connection,
        // without the messages sent after the drop.
        Assert.Equal(1, CountOf(node.Output, DropLine));
        var (ended, received) = await stuck.DrainAsync(TimeSpan.FromSeconds(60));
        Assert.True(ended, "the stuck connection is closed by the server");
        Assert.DoesNotContain("После отключения", received, StringComparison.Ordinal);
        Assert.True(CountOf(received, "\"MessageReceived\"") < sent, "the stuck connection did not get everything");
        await besideOnSameNode.Connection.InvokeAsync<DateTimeOffset>("Ping");
    }

    private static int CountOf(string text, string what)
    {
        var count = 0;
        for (var at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>A raw SignalR JSON client over a WebSocket whose socket has a tiny receive buffer and is never read.</summary>
    private sealed class StuckClient : IAsyncDisposable
    {
        private readonly ClientWebSocket socket;
        private readonly CancellationTokenSource stopPings = new();
        private readonly Task pings;

        private StuckClient(ClientWebSocket socket)
        {
            this.socket = socket;
            pings = PingAsync();
        }

        public static async Task<StuckClient> ConnectAsync(Uri node, string accessToken)
        {
            var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (context, ct) =>
                {
                    var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                    await tcp.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(tcp, ownsSocket: true);
                },
            };
            var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            var uri = new UriBuilder(node) { Scheme = "ws", Path = "/hubs/chat", Query = "access_token=" + Uri.EscapeDataString(accessToken) }.Uri;
            await socket.ConnectAsync(uri, new HttpMessageInvoker(handler), CancellationToken.None);
            await socket.SendAsync(Encoding.UTF8.GetBytes("{\"protocol\":\"json\",\"version\":1}\u001e"), WebSocketMessageType.Text, true, CancellationToken.None);

            // The handshake answer is the one thing read before the client gets stuck.
            var buffer = new byte[64];
            var answer = await socket.ReceiveAsync(buffer, CancellationToken.None);
            Assert.Equal("{}\u001e", Encoding.UTF8.GetString(buffer, 0, answer.Count));
            return new StuckClient(socket);
        }

        /// <summary>Stops pinging and reads whatever is left; true when the stream ended (closed or reset) in time.</summary>
        public async Task<(bool Ended, string Received)> DrainAsync(TimeSpan timeout)
        {
            await stopPings.CancelAsync();
            await pings;
            var received = new StringBuilder();
            var buffer = new byte[64 * 1024];
            using var deadline = new CancellationTokenSource(timeout);
            try
            {
                while (true)
                {
                    var result = await socket.ReceiveAsync(buffer, deadline.Token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return (true, received.ToString());
                    }

                    received.Append(Encoding.UTF8.GetString(buffer, 0, result.Count));
                }
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested)
            {
                return (false, received.ToString());
            }
            catch (Exception e) when (e is WebSocketException or IOException)
            {
                return (true, received.ToString());
            }
        }

        public async ValueTask DisposeAsync()
        {
            await stopPings.CancelAsync();
            await pings;
            socket.Abort();
            socket.Dispose();
            stopPings.Dispose();
        }

        private async Task PingAsync()
        {
            var ping = Encoding.UTF8.GetBytes("{\"type\":6}\u001e");
            try
            {
                while (!stopPings.IsCancellationRequested)
                {
                    await socket.SendAsync(ping, WebSocketMessageType.Text, true, stopPings.Token);
                    await Task.Delay(2000, stopPings.Token);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
            {
                // Stopped, or the server is gone.
            }
        }
    }
}
