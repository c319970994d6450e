using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Chat.LoadTests.Floor;

/// <summary>
/// The floor: the least a SignalR server can do for the same traffic. One hub at <c>/hubs/floor</c> with the chat hub's
/// method names and push shape, no authentication, no database: a connection names its chats in the query
/// (<c>?chats=&lt;id&gt;,&lt;id&gt;&amp;uid=&lt;id&gt;</c>), a message gets the next per-chat seq from memory and is pushed
/// to the chat's group. Its only state is an in-memory log per chat so that <c>GetUpdates</c> can answer catch-up.
/// Every result of the real server is reported as a ratio to this.
/// </summary>
public static class FloorServer
{
    public const string HubPath = "/hubs/floor";

    public static WebApplication Build(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.UseKestrel(o => o.Listen(System.Net.IPAddress.Loopback, port));
        builder.Services.AddSingleton<FloorState>();
        // As many calls of a connection in flight as the server allows its pipelined sends (ChatHubFilter): the floor's
        // sends finish at once anyway, so this only keeps the settings equal.
        builder.Services.AddSignalR(o =>
        {
            o.MaximumReceiveMessageSize = 64 * 1024;
            o.MaximumParallelInvocationsPerClient = 8;
        }).AddJsonProtocol(o => Configure(o.PayloadSerializerOptions));
        var app = builder.Build();
        app.UseWebSockets();
        app.MapGet("/health", () => "ok");
        app.MapHub<FloorHub>(HubPath);
        return app;
    }

    /// <summary>The chat server's JSON settings (web defaults, nulls left out), so that pushes are the same size.</summary>
    public static JsonSerializerOptions Configure(JsonSerializerOptions options)
    {
        options.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
        return options;
    }

    /// <summary><c>Chat.LoadTests floor --port N</c>: runs the floor alone until killed or <c>--seconds</c> pass.</summary>
    public static async Task<int> RunAsync(int port, int seconds)
    {
        await using var app = Build(port);
        await app.StartAsync();
        Console.WriteLine($"floor listening on http://127.0.0.1:{port}{HubPath}");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
            // time is up or Ctrl-C
        }

        await app.StopAsync();
        return 0;
    }
}

public sealed record FloorSendRequest(Guid ChatId, Guid ClientId, string? Text, long? ReplyToSeq, Guid[]? Mentions);

/// <summary>The same fields as the chat server's MessageDto.</summary>
public sealed record FloorMessage(
    Guid ChatId,
    long Seq,
    Guid? SenderId,
    string? SenderName,
    Guid ClientId,
    string Kind,
    string Text,
    long? ReplyToSeq,
    JsonElement? ForwardedFrom,
    Guid[] Mentions,
    DateTime CreatedAt,
    DateTime? EditedAt,
    bool Deleted,
    long Version,
    IReadOnlyList<object> Reactions);

public sealed record FloorEvent(Guid ChatId, long Seq, string Type, FloorMessage Message);

public sealed record FloorUpdates(Guid ChatId, long LastSeq, IReadOnlyList<FloorEvent> Events, bool HasMore);

public sealed class FloorState
{
    public const int MaxLogPerChat = 200_000;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, FloorChat> chats = new();

    public FloorChat Chat(Guid id) => chats.GetOrAdd(id, static _ => new FloorChat());
}

public sealed class FloorChat
{
    public Lock Gate { get; } = new();

    public long LastSeq { get; set; }

    public List<FloorMessage> Log { get; } = [];
}

public sealed class FloorHub(FloorState state) : Hub
{
    private const string UserKey = "uid";

    public override async Task OnConnectedAsync()
    {
        var query = Context.GetHttpContext()?.Request.Query ?? throw new HubException("no HTTP context");
        Context.Items[UserKey] = Guid.TryParse(query["uid"].ToString(), out var uid) ? uid : Guid.Empty;
        foreach (var part in query["chats"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (Guid.TryParse(part, out var chatId))
            {
                await Groups.AddToGroupAsync(Context.ConnectionId, Group(chatId));
            }
        }

        await base.OnConnectedAsync();
    }

    public DateTimeOffset Ping() => DateTimeOffset.UtcNow;

    public async Task<FloorMessage> SendMessage(FloorSendRequest request)
    {
        if (string.IsNullOrWhiteSpace(request.Text) || request.ClientId == Guid.Empty)
        {
            throw new HubException("text and clientId are required");
        }

        var chat = state.Chat(request.ChatId);
        var sender = Context.Items[UserKey] as Guid?;
        FloorMessage message;
        Task push;
        lock (chat.Gate)
        {
            // Seq and push order are taken together, so that every member sees the chat's order.
            var seq = ++chat.LastSeq;
            message = new FloorMessage(request.ChatId, seq, sender, "Floor", request.ClientId, "text", request.Text.Trim(), request.ReplyToSeq, null,
                request.Mentions ?? [], DateTime.UtcNow, null, false, seq, []);
            if (chat.Log.Count < FloorState.MaxLogPerChat)
            {
                chat.Log.Add(message);
            }

            push = Clients.Group(Group(request.ChatId)).SendAsync("MessageReceived", message);
        }

        await push;
        return message;
    }

    public FloorUpdates GetUpdates(Guid chatId, long afterSeq, int? limit)
    {
        var chat = state.Chat(chatId);
        var page = Math.Clamp(limit ?? 200, 1, 200);
        lock (chat.Gate)
        {
            var from = (int)Math.Clamp(afterSeq, 0, chat.Log.Count);
            var events = chat.Log.Skip(from).Take(page).Select(m => new FloorEvent(chatId, m.Seq, "message", m)).ToList();
            var last = events.Count == 0 ? Math.Max(afterSeq, 0) : events[^1].Seq;
            return new FloorUpdates(chatId, chat.LastSeq, events, last < chat.LastSeq && events.Count == page);
        }
    }

    private static string Group(Guid chatId) => "c:" + chatId.ToString("N");
}
