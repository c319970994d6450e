using System.Collections.Concurrent;
using Chat.Hub.Features.Chats;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Hub.Tests.Infrastructure;

/// <summary>A real SignalR .NET client over a WebSocket into the in-process server, recording what it receives.</summary>
public sealed class HubClient : IAsyncDisposable
{
    private HubClient(HubConnection connection)
    {
        Connection = connection;
        connection.On<MessageDto>("MessageReceived", m => Received.Enqueue(m));
        connection.On<MessageDto[]>("MessagesReceived", ms =>
        {
            Batches.Enqueue(ms);
            Array.ForEach(ms, Received.Enqueue);
        });
        connection.On<ChatEventDto>("MessageChanged", e => Changes.Enqueue(e));
        connection.On<Guid, bool>("ChatMembershipChanged", (chat, added) => Memberships.Enqueue((chat, added)));
        connection.On<ChatUpdatedDto>("ChatUpdated", c => ChatUpdates.Enqueue(c));
        connection.On<TypingDto>("Typing", t => TypingEvents.Enqueue(t));
        connection.On<ReadPositionDto>("ReadPosition", p => ReadPositions.Enqueue(p));
        connection.On<string>("SessionEnded", _ => { });
        connection.Closed += e =>
        {
            ClosedWith = e ?? new InvalidOperationException("closed without an error");
            return Task.CompletedTask;
        };
    }

    public HubConnection Connection { get; }

    /// <summary>Every new message pushed, by <c>MessageReceived</c> or as part of a <c>MessagesReceived</c>.</summary>
    public ConcurrentQueue<MessageDto> Received { get; } = new();

    /// <summary>Every <c>MessagesReceived</c> push (several new messages of one chat at once); also in <see cref="Received"/>.</summary>
    public ConcurrentQueue<MessageDto[]> Batches { get; } = new();

    public ConcurrentQueue<ChatEventDto> Changes { get; } = new();

    public ConcurrentQueue<(Guid ChatId, bool Added)> Memberships { get; } = new();

    public ConcurrentQueue<ChatUpdatedDto> ChatUpdates { get; } = new();

    public ConcurrentQueue<TypingDto> TypingEvents { get; } = new();

    public ConcurrentQueue<ReadPositionDto> ReadPositions { get; } = new();

    /// <summary>Set when the server closed the connection: the error it gave, or an exception saying it gave none.</summary>
    public Exception? ClosedWith { get; private set; }

    /// <summary>
    /// Connects and waits until the connection is in its chats' groups. <paramref name="page"/>: the <c>page</c> parameter
    /// of the hub URL, as the call page sends it (one per tab, the same across its reconnects); none by default.
    /// </summary>
    public static async Task<HubClient> ConnectAsync(ChatApp app, TestUser user, string? page = null)
    {
        var client = await StartAsync(app, user, page);
        try
        {
            // Invocations run after OnConnectedAsync, so once a ping returns the connection is in its chats' groups.
            await client.Connection.InvokeAsync<DateTimeOffset>("Ping");
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }

        return client;
    }

    /// <summary>Only the WebSocket and the handshake: the server may still refuse the connection right after.</summary>
    public static async Task<HubClient> StartAsync(ChatApp app, TestUser user, string? page = null)
    {
        var server = app.Server;
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(server.BaseAddress, "/hubs/chat"), o =>
            {
                o.Transports = HttpTransportType.WebSockets;
                o.SkipNegotiation = true;
                o.WebSocketFactory = async (context, ct) =>
                {
                    // As a browser does: the token travels in the query string of the WebSocket request.
                    var query = (page is null ? "" : "page=" + Uri.EscapeDataString(page) + "&") + "access_token=" + Uri.EscapeDataString(user.Tokens.AccessToken);
                    var uri = new UriBuilder(context.Uri) { Query = query }.Uri;
                    return await server.CreateWebSocketClient().ConnectAsync(uri, ct);
                };
            })
            .AddJsonProtocol(o => Chat.Hub.Infrastructure.ChatJson.Configure(o.PayloadSerializerOptions))
            .Build();
        var client = new HubClient(connection);
        try
        {
            await connection.StartAsync();
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        return client;
    }

    public IEnumerable<MessageDto> ReceivedIn(Guid chatId) => Received.Where(m => m.ChatId == chatId);

    /// <summary>Waits until the condition holds (pushes arrive asynchronously); fails after a generous timeout.</summary>
    public static async Task EventuallyAsync(Func<bool> condition, string what, int timeoutMs = 10_000)
    {
        var until = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition())
        {
            if (DateTime.UtcNow > until)
            {
                throw new Xunit.Sdk.XunitException($"timed out waiting for: {what}");
            }

            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync() => await Connection.DisposeAsync();
}
