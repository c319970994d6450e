using System.Collections.Concurrent;
using Chat.Hub.Features.Chats;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>
/// A member connected to a real node over a real WebSocket, following the client contract of docs/hub-protocol.md:
/// keep the last seq per chat, and after every (re)connect catch up with GetUpdates. It records every push it got, so
/// tests can prove the server pushed nothing twice, and the resulting per-chat timeline, so they can prove nothing was lost.
/// </summary>
public sealed class NodeMember : IAsyncDisposable
{
    private readonly TestUser user;
    private readonly ConcurrentDictionary<Guid, ConcurrentDictionary<long, MessageDto>> timeline = new();
    private HubConnection? connection;

    public NodeMember(TestUser user) => this.user = user;

    public HubConnection Connection => connection ?? throw new InvalidOperationException("not connected");

    /// <summary>Every message pushed (alone or in a MessagesReceived), in arrival order, per connection generation.</summary>
    public ConcurrentQueue<(int Generation, MessageDto Message)> Pushes { get; } = new();

    /// <summary>Every <c>ChatUpdated</c> received (a chat renamed, archived or restored).</summary>
    public ConcurrentQueue<ChatUpdatedDto> ChatUpdates { get; } = new();

    public int Generation { get; private set; }

    public Uri? Node { get; private set; }

    public async Task ConnectAsync(Uri node, IEnumerable<Guid> chatsToCatchUp)
    {
        if (connection is not null)
        {
            await connection.DisposeAsync();
        }

        Generation++;
        var generation = Generation;
        Node = node;
        connection = new HubConnectionBuilder()
            .WithUrl(new Uri(node, "/hubs/chat"), o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
                o.AccessTokenProvider = () => Task.FromResult<string?>(user.Tokens.AccessToken);
            })
            .AddJsonProtocol(o => Chat.Hub.Infrastructure.ChatJson.Configure(o.PayloadSerializerOptions))
            .Build();
        connection.On<MessageDto>("MessageReceived", m =>
        {
            Pushes.Enqueue((generation, m));
            Apply(m);
        });
        connection.On<MessageDto[]>("MessagesReceived", ms =>
        {
            foreach (var m in ms)
            {
                Pushes.Enqueue((generation, m));
                Apply(m);
            }
        });
        connection.On<ChatUpdatedDto>("ChatUpdated", c => ChatUpdates.Enqueue(c));
        // The client contract: when I am added to a chat, catch up on it (a push may have raced the group change).
        connection.On<Guid, bool>("ChatMembershipChanged", (chatId, added) =>
        {
            if (added)
            {
                _ = CatchUpQuietlyAsync(chatId);
            }
        });
        await connection.StartAsync();
        await connection.InvokeAsync<DateTimeOffset>("Ping");
        foreach (var chatId in chatsToCatchUp)
        {
            await CatchUpAsync(chatId);
        }
    }

    public async Task CatchUpAsync(Guid chatId)
    {
        while (true)
        {
            var updates = await Connection.InvokeAsync<ChatUpdatesDto>("GetUpdates", chatId, LastSeq(chatId), 200);
            foreach (var e in updates.Events.Where(e => e.Type == "message"))
            {
                Apply(e.Message);
            }

            if (!updates.HasMore)
            {
                return;
            }
        }
    }

    private async Task CatchUpQuietlyAsync(Guid chatId)
    {
        try
        {
            await Task.Delay(200);
            await CatchUpAsync(chatId);
        }
        catch (Exception e) when (e is InvalidOperationException or Microsoft.AspNetCore.SignalR.HubException or OperationCanceledException)
        {
            // The connection moved on; the next connect catches up anyway.
        }
    }

    public long LastSeq(Guid chatId) => timeline.TryGetValue(chatId, out var t) && !t.IsEmpty ? t.Keys.Max() : 0;

    public IReadOnlyList<MessageDto> Timeline(Guid chatId) =>
        timeline.TryGetValue(chatId, out var t) ? t.Values.OrderBy(m => m.Seq).ToList() : [];

    public async ValueTask DisposeAsync()
    {
        if (connection is not null)
        {
            await connection.DisposeAsync();
        }
    }

    private void Apply(MessageDto m) =>
        timeline.GetOrAdd(m.ChatId, _ => new ConcurrentDictionary<long, MessageDto>()).TryAdd(m.Seq, m);
}
