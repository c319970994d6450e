using System.Net.WebSockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Chat.Testing;

/// <summary>
/// One handle Janus holds: its session, its id, and what its plugin says of it (<c>plugin_specific</c> of
/// <c>handle_info</c>; for VideoRoom e.g. <c>type</c> "publisher" with its <c>display</c>, or "subscriber").
/// </summary>
public sealed record JanusHandleInfo(long Session, long Handle, JsonObject? Plugin)
{
    public string? Type => Plugin?["type"]?.GetValue<string>();

    public string? Display => Plugin?["display"]?.GetValue<string>();
}

/// <summary>
/// Janus's Admin API over its WebSocket transport (subprotocol <c>janus-admin-protocol</c>, every request with the
/// <c>admin_secret</c>): lists sessions, their handles, and each handle's info. For tests that check what Janus holds.
/// </summary>
public static class JanusAdmin
{
    public static async Task<IReadOnlyList<JanusHandleInfo>> HandlesAsync(Uri url, string secret)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        using var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("janus-admin-protocol");
        await socket.ConnectAsync(url, timeout.Token);
        var all = new List<JanusHandleInfo>();
        var sessions = await RequestAsync(socket, secret, new JsonObject { ["janus"] = "list_sessions" }, timeout.Token);
        foreach (var session in sessions["sessions"]!.AsArray().Select(s => s!.GetValue<long>()))
        {
            JsonObject handles;
            try
            {
                handles = await RequestAsync(socket, secret, new JsonObject { ["janus"] = "list_handles", ["session_id"] = session }, timeout.Token);
            }
            catch (InvalidOperationException)
            {
                continue; // the session went away meanwhile
            }

            foreach (var handle in handles["handles"]!.AsArray().Select(h => h!.GetValue<long>()))
            {
                try
                {
                    var info = await RequestAsync(socket, secret,
                        new JsonObject { ["janus"] = "handle_info", ["session_id"] = session, ["handle_id"] = handle }, timeout.Token);
                    all.Add(new JanusHandleInfo(session, handle, info["info"]?["plugin_specific"] as JsonObject));
                }
                catch (InvalidOperationException)
                {
                    // Detached meanwhile: not held any more.
                }
            }
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        return all;
    }

    private static async Task<JsonObject> RequestAsync(ClientWebSocket socket, string secret, JsonObject request, CancellationToken ct)
    {
        var transaction = Guid.NewGuid().ToString("N");
        request["transaction"] = transaction;
        request["admin_secret"] = secret;
        await socket.SendAsync(Encoding.UTF8.GetBytes(request.ToJsonString()), WebSocketMessageType.Text, true, ct);
        while (true)
        {
            var reply = await ReceiveAsync(socket, ct);
            if (reply["transaction"]?.GetValue<string>() != transaction)
            {
                continue;
            }

            if (reply["janus"]?.GetValue<string>() != "success")
            {
                throw new InvalidOperationException("Janus admin: " + reply.ToJsonString());
            }

            return reply;
        }
    }

    private static async Task<JsonObject> ReceiveAsync(ClientWebSocket socket, CancellationToken ct)
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, ct);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException("Janus admin closed the socket");
            }

            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return JsonNode.Parse(message.ToArray())!.AsObject();
            }
        }
    }
}
