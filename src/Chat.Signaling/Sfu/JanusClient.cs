using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Chat.Signaling.Sfu;

/// <summary>An error Janus or its VideoRoom plugin returned, or a lost connection.</summary>
public sealed class JanusException(int code, string reason) : Exception($"Janus error {code}: {reason}")
{
    /// <summary>Janus's code (458 = no such session, 426 = no such room, …); 0 when the connection itself failed.</summary>
    public int Code { get; } = code;
}

/// <summary>
/// One Janus instance over its WebSocket transport (subprotocol <c>janus-protocol</c>): one session kept alive,
/// VideoRoom handles per publisher or subscriber. Requests are matched to replies by transaction; plugin requests
/// that Janus answers asynchronously (join, configure, start) wait for the event after the ack.
/// When the socket drops or the session disappears (Janus restarted), <see cref="SessionLost"/> fires once.
/// </summary>
public sealed class JanusClient : IAsyncDisposable
{
    private const string Plugin = "janus.plugin.videoroom";
    private readonly ClientWebSocket socket = new();
    private readonly ConcurrentDictionary<string, Pending> pending = new();
    private readonly SemaphoreSlim sendLock = new(1, 1);
    private readonly CancellationTokenSource stop = new();
    private readonly TimeSpan requestTimeout;
    private Task? receiveLoop;
    private Task? keepAliveLoop;
    private int lost;

    public JanusClient(Uri url, TimeSpan? requestTimeout = null)
    {
        Url = url;
        this.requestTimeout = requestTimeout ?? TimeSpan.FromSeconds(10);
        socket.Options.AddSubProtocol("janus-protocol");
    }

    public Uri Url { get; }

    public long SessionId { get; private set; }

    public bool IsLost => Volatile.Read(ref lost) == 1;

    /// <summary>Raised once when this client's session is gone (socket closed, Janus restarted, session timed out).</summary>
    public event Action<JanusClient>? SessionLost;

    /// <summary>
    /// Connects and creates the session. The whole of it (TCP, the WebSocket handshake, the session's creation) gives up
    /// after <paramref name="connectTimeout"/> (default 5 s) with a <see cref="JanusException"/> of code 0: a machine
    /// that is down without refusing, or a Janus that accepts and never answers, would otherwise hold the connect for
    /// minutes (TCP's own retries) or for ever (the handshake has no timeout).
    /// </summary>
    public static async Task<JanusClient> ConnectAsync(Uri url, TimeSpan keepAlive, CancellationToken ct, TimeSpan? connectTimeout = null)
    {
        var client = new JanusClient(url);
        var limit = connectTimeout ?? TimeSpan.FromSeconds(5);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(limit);
        try
        {
            await client.socket.ConnectAsync(url, timeout.Token);
            client.receiveLoop = Task.Run(client.ReceiveAsync, CancellationToken.None);
            var created = await client.RequestAsync(new JsonObject { ["janus"] = "create" }, waitForEvent: false, timeout.Token);
            client.SessionId = created["data"]!["id"]!.GetValue<long>();
            client.keepAliveLoop = Task.Run(() => client.KeepAliveAsync(keepAlive), CancellationToken.None);
            return client;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException && timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            await client.DisposeAsync();
            throw new JanusException(0, $"no connection to Janus at {url} in {limit}");
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Attaches a VideoRoom handle to the session.</summary>
    public async Task<long> AttachAsync(CancellationToken ct)
    {
        var reply = await RequestAsync(new JsonObject { ["janus"] = "attach", ["plugin"] = Plugin, ["session_id"] = SessionId }, false, ct);
        return reply["data"]!["id"]!.GetValue<long>();
    }

    public Task DetachAsync(long handle, CancellationToken ct) =>
        RequestAsync(new JsonObject { ["janus"] = "detach", ["session_id"] = SessionId, ["handle_id"] = handle }, false, ct);

    /// <summary>Creates a private VideoRoom room (opus; VP8 or H264) guarded by a secret and a pin that stay on the server.</summary>
    public async Task CreateRoomAsync(long handle, long room, string secret, int publishers, CancellationToken ct)
    {
        await PluginAsync(handle, new JsonObject
        {
            ["request"] = "create", ["room"] = room, ["secret"] = secret, ["pin"] = secret, ["is_private"] = true,
            ["publishers"] = publishers, ["audiocodec"] = "opus", ["videocodec"] = "vp8,h264", ["permanent"] = false,
            ["notify_joining"] = false,
        }, null, async: false, ct);
    }

    public async Task DestroyRoomAsync(long handle, long room, string secret, CancellationToken ct)
    {
        await PluginAsync(handle, new JsonObject { ["request"] = "destroy", ["room"] = room, ["secret"] = secret }, null, false, ct);
    }

    /// <summary>Joins as a publisher with the browser's offer; returns the feed id and Janus's answer.</summary>
    public async Task<(long FeedId, string Answer)> PublishAsync(long handle, long room, string pin, string display, string offer, bool audio, bool video, CancellationToken ct)
    {
        var reply = await PluginAsync(handle, new JsonObject
        {
            ["request"] = "joinandconfigure", ["room"] = room, ["pin"] = pin, ["ptype"] = "publisher", ["display"] = display,
            ["audio"] = audio, ["video"] = video,
        }, Jsep("offer", offer), async: true, ct);
        var feed = reply["plugindata"]!["data"]!["id"]!.GetValue<long>();
        return (feed, reply["jsep"]?["sdp"]?.GetValue<string>() ?? throw new JanusException(0, "no answer from Janus"));
    }

    /// <summary>
    /// Renegotiates a live publisher with the browser's new offer (an ICE restart after the network changed: new ICE
    /// credentials, the same feed); returns Janus's answer.
    /// </summary>
    public async Task<string> RenegotiatePublisherAsync(long handle, string offer, CancellationToken ct)
    {
        var reply = await PluginAsync(handle, new JsonObject { ["request"] = "configure" }, Jsep("offer", offer), async: true, ct);
        return reply["jsep"]?["sdp"]?.GetValue<string>() ?? throw new JanusException(0, "no answer from Janus");
    }

    /// <summary>Forces one stream (by its mid in the publisher's offer) of a publisher off or back on, through the room secret.</summary>
    public async Task ModerateAsync(long handle, long room, string secret, long feed, string mid, bool mute, CancellationToken ct)
    {
        await PluginAsync(handle, new JsonObject
        {
            ["request"] = "moderate", ["room"] = room, ["secret"] = secret, ["id"] = feed, ["mid"] = mid, ["mute"] = mute,
        }, null, async: false, ct);
    }

    /// <summary>Removes one publisher (e.g. a screen share the host stopped) from the room, whichever session owns it.</summary>
    public async Task KickAsync(long handle, long room, string secret, long feed, CancellationToken ct)
    {
        await PluginAsync(handle, new JsonObject { ["request"] = "kick", ["room"] = room, ["secret"] = secret, ["id"] = feed }, null, async: false, ct);
    }

    /// <summary>Joins as a subscriber to one feed; returns Janus's offer.</summary>
    public async Task<string> SubscribeAsync(long handle, long room, string pin, long feed, CancellationToken ct)
    {
        var reply = await PluginAsync(handle, new JsonObject
        {
            ["request"] = "join", ["room"] = room, ["pin"] = pin, ["ptype"] = "subscriber",
            ["streams"] = new JsonArray(new JsonObject { ["feed"] = feed }),
        }, null, async: true, ct);
        return reply["jsep"]?["sdp"]?.GetValue<string>() ?? throw new JanusException(0, "no offer from Janus");
    }

    /// <summary>
    /// Pauses or resumes one stream (by its mid in Janus's offer) of a subscription: Janus stops forwarding it to this
    /// subscriber, or forwards it again (the page receives video of only the tiles it shows).
    /// </summary>
    public async Task ConfigureSubscriptionAsync(long handle, string mid, bool send, CancellationToken ct)
    {
        await PluginAsync(handle, new JsonObject
        {
            ["request"] = "configure", ["streams"] = new JsonArray(new JsonObject { ["mid"] = mid, ["send"] = send }),
        }, null, async: true, ct);
    }

    /// <summary>An ICE restart of a subscription: Janus makes a new offer with new ICE credentials (answered by <see cref="StartAsync"/>).</summary>
    public async Task<string> RestartSubscriptionAsync(long handle, CancellationToken ct)
    {
        var reply = await PluginAsync(handle, new JsonObject { ["request"] = "configure", ["restart"] = true }, null, async: true, ct);
        return reply["jsep"]?["sdp"]?.GetValue<string>() ?? throw new JanusException(0, "no offer from Janus");
    }

    /// <summary>Hands the subscriber's answer to Janus, which then starts sending.</summary>
    public async Task StartAsync(long handle, long room, string answer, CancellationToken ct)
    {
        await PluginAsync(handle, new JsonObject { ["request"] = "start", ["room"] = room }, Jsep("answer", answer), async: true, ct);
    }

    /// <summary>Relays one trickled candidate (or the end of candidates when <paramref name="candidate"/> is null).</summary>
    public async Task TrickleAsync(long handle, string? candidate, string? sdpMid, int? sdpMLineIndex, CancellationToken ct)
    {
        var message = new JsonObject { ["janus"] = "trickle", ["session_id"] = SessionId, ["handle_id"] = handle };
        message["candidate"] = candidate is null
            ? new JsonObject { ["completed"] = true }
            : new JsonObject { ["candidate"] = candidate, ["sdpMid"] = sdpMid, ["sdpMLineIndex"] = sdpMLineIndex };
        await RequestAsync(message, waitForEvent: false, ct, ackIsFinal: true);
    }

    /// <summary>Lists room ids that exist on this instance (to check a room survived).</summary>
    public async Task<bool> RoomExistsAsync(long handle, long room, CancellationToken ct)
    {
        var reply = await PluginAsync(handle, new JsonObject { ["request"] = "exists", ["room"] = room }, null, false, ct);
        return reply["plugindata"]!["data"]!["exists"]?.GetValue<bool>() == true;
    }

    /// <summary>The feed ids of the room's publishers (whichever session owns them), e.g. to check that none is left over.</summary>
    public async Task<IReadOnlyList<long>> PublisherFeedsAsync(long handle, long room, CancellationToken ct)
    {
        var reply = await PluginAsync(handle, new JsonObject { ["request"] = "listparticipants", ["room"] = room }, null, false, ct);
        return reply["plugindata"]!["data"]!["participants"]?.AsArray()
            .Where(p => p?["publisher"]?.GetValue<bool>() == true)
            .Select(p => p!["id"]!.GetValue<long>())
            .ToList() ?? [];
    }

    private static JsonObject Jsep(string type, string sdp) => new() { ["type"] = type, ["sdp"] = sdp };

    private async Task<JsonObject> PluginAsync(long handle, JsonObject body, JsonObject? jsep, bool async, CancellationToken ct)
    {
        var message = new JsonObject { ["janus"] = "message", ["session_id"] = SessionId, ["handle_id"] = handle, ["body"] = body };
        if (jsep is not null)
        {
            message["jsep"] = jsep;
        }

        var reply = await RequestAsync(message, waitForEvent: async, ct);
        var data = reply["plugindata"]?["data"];
        if (data?["error_code"] is { } code)
        {
            throw new JanusException(code.GetValue<int>(), data["error"]?.GetValue<string>() ?? "plugin error");
        }

        return reply;
    }

    private async Task<JsonObject> RequestAsync(JsonObject message, bool waitForEvent, CancellationToken ct, bool ackIsFinal = false)
    {
        if (IsLost)
        {
            throw new JanusException(458, "session lost");
        }

        var transaction = Guid.NewGuid().ToString("N");
        message["transaction"] = transaction;
        var entry = new Pending(waitForEvent, ackIsFinal);
        pending[transaction] = entry;
        try
        {
            var bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
            await sendLock.WaitAsync(ct);
            try
            {
                await socket.SendAsync(bytes, WebSocketMessageType.Text, true, ct);
            }
            finally
            {
                sendLock.Release();
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct, stop.Token);
            timeout.CancelAfter(requestTimeout);
            var reply = await entry.Completion.Task.WaitAsync(timeout.Token);
            if (reply["janus"]?.GetValue<string>() == "error")
            {
                var code = reply["error"]?["code"]?.GetValue<int>() ?? 0;
                if (code == 458)
                {
                    MarkLost();
                }

                throw new JanusException(code, reply["error"]?["reason"]?.GetValue<string>() ?? "error");
            }

            return reply;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new JanusException(0, IsLost ? "session lost" : "Janus did not answer in time");
        }
        catch (WebSocketException e)
        {
            MarkLost();
            throw new JanusException(0, e.Message);
        }
        finally
        {
            pending.TryRemove(transaction, out _);
        }
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        using var text = new MemoryStream();
        try
        {
            while (!stop.IsCancellationRequested && socket.State == WebSocketState.Open)
            {
                var result = await socket.ReceiveAsync(buffer, stop.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                text.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }

                JsonObject? message;
                try
                {
                    message = JsonNode.Parse(text.GetBuffer().AsSpan(0, (int)text.Length)) as JsonObject;
                }
                catch (JsonException)
                {
                    message = null;
                }

                text.SetLength(0);
                if (message is not null)
                {
                    Dispatch(message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (WebSocketException)
        {
        }

        MarkLost();
    }

    private void Dispatch(JsonObject message)
    {
        var kind = message["janus"]?.GetValue<string>();
        if (kind == "timeout" || (kind == "error" && message["error"]?["code"]?.GetValue<int>() == 458 && message["transaction"] is null))
        {
            MarkLost();
            return;
        }

        var transaction = message["transaction"]?.GetValue<string>();
        if (transaction is null || !pending.TryGetValue(transaction, out var entry))
        {
            return; // webrtcup, media, hangup, slowlink: not needed for signaling.
        }

        if (kind == "ack" && entry.WaitForEvent && !entry.AckIsFinal)
        {
            return;
        }

        entry.Completion.TrySetResult(message);
    }

    private async Task KeepAliveAsync(TimeSpan interval)
    {
        try
        {
            while (!stop.IsCancellationRequested && !IsLost)
            {
                await Task.Delay(interval, stop.Token);
                try
                {
                    await RequestAsync(new JsonObject { ["janus"] = "keepalive", ["session_id"] = SessionId }, false, stop.Token, ackIsFinal: true);
                }
                catch (JanusException)
                {
                    MarkLost();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void MarkLost()
    {
        if (Interlocked.Exchange(ref lost, 1) == 1)
        {
            return;
        }

        foreach (var entry in pending.Values)
        {
            entry.Completion.TrySetException(new JanusException(458, "session lost"));
        }

        if (!stop.IsCancellationRequested)
        {
            SessionLost?.Invoke(this);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!stop.IsCancellationRequested)
        {
            await stop.CancelAsync();
        }

        try
        {
            if (socket.State == WebSocketState.Open)
            {
                using var close = new CancellationTokenSource(TimeSpan.FromSeconds(1));
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, close.Token);
            }
        }
        catch (WebSocketException)
        {
        }
        catch (OperationCanceledException)
        {
        }

        foreach (var t in new[] { receiveLoop, keepAliveLoop })
        {
            if (t is not null)
            {
                await t.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        socket.Dispose();
        stop.Dispose();
        sendLock.Dispose();
    }

    private sealed class Pending(bool waitForEvent, bool ackIsFinal)
    {
        public bool WaitForEvent { get; } = waitForEvent;

        public bool AckIsFinal { get; } = ackIsFinal;

        public TaskCompletionSource<JsonObject> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    internal static string Id(long value) => value.ToString(CultureInfo.InvariantCulture);
}
