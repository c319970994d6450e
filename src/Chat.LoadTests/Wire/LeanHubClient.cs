using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Text.Json;

namespace Chat.LoadTests.Wire;

/// <summary>Receives what the lean client parsed out of the server's pushes.</summary>
public interface IPushSink
{
    /// <summary>
    /// A message pushed by <c>MessageReceived</c>, or one of a <c>MessagesReceived</c> push's (called for each, in
    /// order): only the chat, the seq and the raw UTF-8 text are parsed. <paramref name="firstOfPush"/> is true for the
    /// first (or only) message of a push, so the sink can count pushes as well as messages.
    /// </summary>
    void OnMessage(LeanHubClient client, Guid chatId, long seq, ReadOnlySpan<byte> text, bool firstOfPush);

    void OnClosed(LeanHubClient client, string reason);
}

/// <summary>The outcome of one hub invocation: the error, the result's <c>seq</c> and, when asked for, the whole result.</summary>
public readonly record struct Completion(bool Ok, string? Error, long ResultSeq, JsonElement? Result);

/// <summary>
/// A SignalR client that costs next to nothing: one <see cref="ClientWebSocket"/> speaking the JSON hub protocol
/// (handshake, records separated by 0x1E, invocations of type 1, completions of type 3, pings of type 6, close of
/// type 7). Pushes are scanned with <see cref="Utf8JsonReader"/> for the three fields the harness needs; nothing else
/// is materialised. The official client spends about a core per 30k messages/s, which would measure the client.
/// </summary>
public sealed class LeanHubClient : IAsyncDisposable
{
    public const byte RecordSeparator = 0x1e;
    private static readonly byte[] Handshake = "{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray();
    private static readonly byte[] PingRecord = "{\"type\":6}\u001e"u8.ToArray();
    private const int MaxBuffer = 8 * 1024 * 1024;

    /// <summary>Every open client; a single timer keeps them alive (see <see cref="KeepAlive"/>).</summary>
    private static readonly ConcurrentDictionary<LeanHubClient, bool> Open = new();

    /// <summary>
    /// Sends a ping from every client that sent nothing for 10 s, as the official client does every 15 s. Answering
    /// the server's pings is not enough: when the server is behind, its pings queue behind seconds of pushes and the
    /// answer would come too late for its 30 s client timeout.
    /// </summary>
    private static readonly Timer KeepAlive = new(_ =>
    {
        var now = Environment.TickCount64;
        foreach (var client in Open.Keys)
        {
            if (now - Volatile.Read(ref client.lastSent) > 10_000)
            {
                _ = client.SendRecordAsync(PingRecord, 0);
            }
        }
    }, null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));

    private readonly ClientWebSocket socket = new();
    private long lastSent = Environment.TickCount64;
    private readonly SemaphoreSlim sendLock = new(1, 1);
    private readonly ConcurrentDictionary<int, Pending> pending = new();
    private readonly IPushSink sink;
    private byte[] buffer = new byte[4096];
    private int buffered;
    private int nextId;
    private int closed;
    private Task? receiveLoop;

    private LeanHubClient(IPushSink sink, object? state)
    {
        this.sink = sink;
        State = state;
        socket.Options.KeepAliveInterval = TimeSpan.Zero; // SignalR's own pings keep the connection alive
    }

    /// <summary>Whatever the harness hangs on this connection (the member it belongs to).</summary>
    public object? State { get; }

    public bool IsOpen => Volatile.Read(ref closed) == 0;

    public string? CloseReason { get; private set; }

    /// <summary>Connects, shakes hands and waits for a <c>Ping</c> round trip: after it the server has run OnConnectedAsync.</summary>
    public static async Task<LeanHubClient> ConnectAsync(Uri uri, HttpMessageInvoker invoker, IPushSink sink, object? state, CancellationToken ct)
    {
        var client = new LeanHubClient(sink, state);
        try
        {
            await client.socket.ConnectAsync(uri, invoker, ct);
            await client.socket.SendAsync(Handshake, WebSocketMessageType.Text, true, ct);
            await client.ReadHandshakeAsync(ct);
            client.receiveLoop = Task.Run(client.ReceiveLoopAsync, CancellationToken.None);
            Open[client] = true;
            GC.KeepAlive(KeepAlive);
            var ping = await client.InvokeAsync("Ping", static _ => { }, wantResult: false).WaitAsync(ct);
            if (!ping.Ok)
            {
                throw new InvalidOperationException("Ping failed: " + ping.Error);
            }

            return client;
        }
        catch
        {
            client.Abort();
            throw;
        }
    }

    /// <summary>Sends an invocation and calls <paramref name="onCompletion"/> from the receive loop when it completes.</summary>
    public void Invoke(string target, Action<Utf8JsonWriter> writeArguments, Action<Completion>? onCompletion, bool wantResult = false)
    {
        var id = Interlocked.Increment(ref nextId);
        var record = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(record))
        {
            writer.WriteStartObject();
            writer.WriteNumber("type", 1);
            writer.WriteString("invocationId", id.ToString(CultureInfo.InvariantCulture));
            writer.WriteString("target", target);
            writer.WriteStartArray("arguments");
            writeArguments(writer);
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        record.Write([RecordSeparator]);
        if (onCompletion is not null)
        {
            pending[id] = new Pending(onCompletion, wantResult);
        }

        _ = SendRecordAsync(record.WrittenMemory, id);
    }

    public Task<Completion> InvokeAsync(string target, Action<Utf8JsonWriter> writeArguments, bool wantResult)
    {
        var done = new TaskCompletionSource<Completion>(TaskCreationOptions.RunContinuationsAsynchronously);
        Invoke(target, writeArguments, c => done.TrySetResult(c), wantResult);
        return done.Task;
    }

    /// <summary>Drops the connection without a close handshake, as a lost network would.</summary>
    public void Abort()
    {
        socket.Abort();
        MarkClosed("aborted");
    }

    public async ValueTask DisposeAsync()
    {
        Abort();
        if (receiveLoop is not null)
        {
            await receiveLoop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        socket.Dispose();
        sendLock.Dispose();
    }

    private async Task SendRecordAsync(ReadOnlyMemory<byte> record, int id)
    {
        try
        {
            await sendLock.WaitAsync();
            try
            {
                Volatile.Write(ref lastSent, Environment.TickCount64);
                await socket.SendAsync(record, WebSocketMessageType.Text, true, CancellationToken.None);
            }
            finally
            {
                sendLock.Release();
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or InvalidOperationException or IOException)
        {
            if (pending.TryRemove(id, out var p))
            {
                p.Callback(new Completion(false, "send failed: " + e.GetType().Name, 0, null));
            }
        }
    }

    private async Task ReadHandshakeAsync(CancellationToken ct)
    {
        while (true)
        {
            var end = Array.IndexOf(buffer, RecordSeparator, 0, buffered);
            if (end >= 0)
            {
                var response = buffer.AsSpan(0, end);
                if (response.IndexOf("\"error\""u8) >= 0)
                {
                    throw new InvalidOperationException("handshake refused: " + System.Text.Encoding.UTF8.GetString(response));
                }

                buffered -= end + 1;
                Buffer.BlockCopy(buffer, end + 1, buffer, 0, buffered);
                return;
            }

            var result = await socket.ReceiveAsync(buffer.AsMemory(buffered), ct);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new InvalidOperationException("closed during the handshake");
            }

            buffered += result.Count;
            EnsureRoom();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var reason = "closed by server";
        try
        {
            ProcessBuffered();
            while (true)
            {
                EnsureRoom();
                var result = await socket.ReceiveAsync(buffer.AsMemory(buffered), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    break;
                }

                buffered += result.Count;
                ProcessBuffered();
            }
        }
        catch (Exception e) when (e is WebSocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or IOException)
        {
            reason = IsOpen ? "receive failed: " + e.Message : CloseReason ?? "aborted";
        }

        MarkClosed(reason);
    }

    private void EnsureRoom()
    {
        if (buffered < buffer.Length)
        {
            return;
        }

        if (buffer.Length >= MaxBuffer)
        {
            throw new InvalidOperationException("a hub record larger than 8 MiB");
        }

        Array.Resize(ref buffer, buffer.Length * 2);
    }

    private void ProcessBuffered()
    {
        var start = 0;
        while (true)
        {
            var end = Array.IndexOf(buffer, RecordSeparator, start, buffered - start);
            if (end < 0)
            {
                break;
            }

            HandleRecord(buffer.AsSpan(start, end - start));
            start = end + 1;
        }

        if (start > 0)
        {
            buffered -= start;
            Buffer.BlockCopy(buffer, start, buffer, 0, buffered);
        }
    }

    private void HandleRecord(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return;
        }

        var type = 0;
        var messageReceived = false;
        var messagesReceived = false;
        var invocationId = -1;
        string? error = null;
        var chatId = Guid.Empty;
        long seq = -1;
        long resultSeq = -1;
        ReadOnlySpan<byte> text = default;
        while (reader.Read() && reader.CurrentDepth >= 1)
        {
            if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1)
            {
                continue;
            }

            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = reader.GetInt32();
            }
            else if (reader.ValueTextEquals("target"u8))
            {
                reader.Read();
                messageReceived = reader.ValueTextEquals("MessageReceived"u8);
                messagesReceived = reader.ValueTextEquals("MessagesReceived"u8);
            }
            else if (reader.ValueTextEquals("invocationId"u8))
            {
                reader.Read();
                if (!Utf8Parser.TryParse(reader.ValueSpan, out invocationId, out _))
                {
                    invocationId = -1;
                }
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                reader.Read();
                error = reader.GetString();
            }
            else if (reader.ValueTextEquals("arguments"u8))
            {
                reader.Read(); // [
                if (messagesReceived && type == 1)
                {
                    // [[message, message, …]]: one chat's messages in seq order, handed on one by one (SignalR writes
                    // the type and the target before the arguments).
                    if (reader.Read() && reader.TokenType == JsonTokenType.StartArray)
                    {
                        var first = true;
                        while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                        {
                            var one = -1L;
                            text = default;
                            ReadMessage(ref reader, ref chatId, ref one, ref text);
                            if (one >= 0)
                            {
                                sink.OnMessage(this, chatId, one, text, first);
                                first = false;
                            }
                        }
                    }
                }
                else if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadMessage(ref reader, ref chatId, ref seq, ref text);
                }

                SkipToEndOfArray(ref reader);
            }
            else if (reader.ValueTextEquals("result"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    var ignoredChat = Guid.Empty;
                    ReadOnlySpan<byte> ignoredText = default;
                    ReadMessage(ref reader, ref ignoredChat, ref resultSeq, ref ignoredText);
                }
                else
                {
                    reader.Skip();
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        switch (type)
        {
            case 1 when messageReceived && seq >= 0:
                sink.OnMessage(this, chatId, seq, text, true);
                break;
            case 3 when pending.TryRemove(invocationId, out var p):
                JsonElement? result = null;
                if (p.WantResult && error is null)
                {
                    using var document = JsonDocument.Parse(json.ToArray());
                    if (document.RootElement.TryGetProperty("result", out var r))
                    {
                        result = r.Clone();
                    }
                }

                p.Callback(new Completion(error is null, error, resultSeq, result));
                break;
            case 6:
                _ = SendRecordAsync(PingRecord, 0);
                break;
            case 7:
                MarkClosed("server closed the connection: " + (error ?? "no error"));
                socket.Abort();
                break;
        }
    }

    /// <summary>Reads a message object (the reader is on its '{'): chatId, seq and text at its top level; skips the rest.</summary>
    private static void ReadMessage(ref Utf8JsonReader reader, ref Guid chatId, ref long seq, ref ReadOnlySpan<byte> text)
    {
        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (reader.ValueTextEquals("chatId"u8))
            {
                reader.Read();
                chatId = reader.GetGuid();
            }
            else if (reader.ValueTextEquals("seq"u8))
            {
                reader.Read();
                seq = reader.GetInt64();
            }
            else if (reader.ValueTextEquals("text"u8))
            {
                reader.Read();
                text = reader.ValueSpan;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
    }

    private static void SkipToEndOfArray(ref Utf8JsonReader reader)
    {
        while (reader.TokenType != JsonTokenType.EndArray || reader.CurrentDepth != 1)
        {
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && reader.CurrentDepth > 1)
            {
                reader.Skip();
            }

            if (!reader.Read())
            {
                return;
            }
        }
    }

    private void MarkClosed(string reason)
    {
        if (Interlocked.Exchange(ref closed, 1) != 0)
        {
            return;
        }

        CloseReason = reason;
        Open.TryRemove(this, out _);
        foreach (var id in pending.Keys)
        {
            if (pending.TryRemove(id, out var p))
            {
                p.Callback(new Completion(false, "connection closed: " + reason, 0, null));
            }
        }

        sink.OnClosed(this, reason);
    }

    private sealed record Pending(Action<Completion> Callback, bool WantResult);
}
