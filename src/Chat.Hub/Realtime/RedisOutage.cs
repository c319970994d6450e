using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using StackExchange.Redis;

namespace Chat.Hub.Realtime;

/// <summary>
/// SignalR's Redis lifetime manager, made to let people in while Redis is away (docs/architecture.md, "Scale-out").
/// Stock, it subscribes to Redis channels when a connection opens and when it joins a group, and with Redis down those
/// fail: every connection to every node was refused (the WebSocket answered 500), so nobody could reconnect until Redis
/// was back. Here such a failure is logged and the connection goes on without those subscriptions: it can send (stored,
/// acknowledged: PostgreSQL is the truth) and catch up, and gets no live pushes, which go through Redis anyway. Once
/// Redis is back, <see cref="RedisOutageRecovery"/> closes every connection of the node, so each comes back with its
/// subscriptions whole.
/// Group changes are made only for this node's own connections: every node applies membership changes to its own
/// (LiveConnections), so a connection that is not here has just closed — and stock, a group change for it is sent to
/// the other nodes and waited for, 30 s, for an answer no node gives, holding up every membership change and ended
/// session behind it. Everything else is passed through.
/// </summary>
public sealed partial class RedisOutageTolerantLifetimeManager(
    RedisHubLifetimeManager<ChatHub> inner, ILogger<RedisOutageTolerantLifetimeManager> logger) : HubLifetimeManager<ChatHub>
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> local = new(StringComparer.Ordinal);

    public override Task OnConnectedAsync(HubConnectionContext connection)
    {
        local[connection.ConnectionId] = 0;
        return TolerateAsync(() => inner.OnConnectedAsync(connection), "connect");
    }

    public override async Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        try
        {
            await TolerateAsync(() => inner.OnDisconnectedAsync(connection), "disconnect");
        }
        finally
        {
            local.TryRemove(connection.ConnectionId, out _);
        }
    }

    public override Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default) =>
        local.ContainsKey(connectionId) ? TolerateAsync(() => inner.AddToGroupAsync(connectionId, groupName, cancellationToken), "join a group") : Task.CompletedTask;

    public override Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default) =>
        local.ContainsKey(connectionId) ? TolerateAsync(() => inner.RemoveFromGroupAsync(connectionId, groupName, cancellationToken), "leave a group") : Task.CompletedTask;

    public override Task SendAllAsync(string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendAllAsync(methodName, args, cancellationToken);

    public override Task SendAllExceptAsync(string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        inner.SendAllExceptAsync(methodName, args, excludedConnectionIds, cancellationToken);

    public override Task SendConnectionAsync(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendConnectionAsync(connectionId, methodName, args, cancellationToken);

    public override Task SendConnectionsAsync(IReadOnlyList<string> connectionIds, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendConnectionsAsync(connectionIds, methodName, args, cancellationToken);

    public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendGroupAsync(groupName, methodName, args, cancellationToken);

    public override Task SendGroupsAsync(IReadOnlyList<string> groupNames, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendGroupsAsync(groupNames, methodName, args, cancellationToken);

    public override Task SendGroupExceptAsync(string groupName, string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default) =>
        inner.SendGroupExceptAsync(groupName, methodName, args, excludedConnectionIds, cancellationToken);

    public override Task SendUserAsync(string userId, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendUserAsync(userId, methodName, args, cancellationToken);

    public override Task SendUsersAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken = default) =>
        inner.SendUsersAsync(userIds, methodName, args, cancellationToken);

    public override Task<T> InvokeConnectionAsync<T>(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken) =>
        inner.InvokeConnectionAsync<T>(connectionId, methodName, args, cancellationToken);

    public override Task SetConnectionResultAsync(string connectionId, CompletionMessage result) =>
        inner.SetConnectionResultAsync(connectionId, result);

    public override bool TryGetReturnType(string invocationId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Type? type) =>
        inner.TryGetReturnType(invocationId, out type);

    /// <summary>Runs a subscription step of the inner manager; Redis being away is logged, not thrown.</summary>
    private async Task TolerateAsync(Func<Task> step, string what)
    {
        try
        {
            await step();
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            LogDegraded(logger, what, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis is away: a connection could not {What} through it ({Reason}); it goes on without live pushes until Redis is back")]
    private static partial void LogDegraded(ILogger logger, string what, string reason);
}

/// <summary>
/// After Redis was away, closes every hub connection of this node once it is back. Meanwhile pushes to groups (which go
/// through Redis, even to this node's own connections), membership changes and ended sessions published by other nodes
/// were lost, and connections made meanwhile have no subscriptions. Closed, the clients reconnect (the web client at
/// once, then with back-off), read their chats and session again and catch up on what they missed.
/// Redis counts as back only when both of the multiplexer's connections are (commands and subscriptions: they fail and
/// come back on their own), and for <see cref="Settle"/> in a row; it is polled rather than told by the multiplexer's
/// events, so a node that started while Redis was away, and a restore of one connection before the other, are handled
/// alike; a connection that failed and came back between two polls is caught by the multiplexer's ConnectionFailed.
/// The closes are spread over <see cref="Spread"/>, so that the clients of every node do not all come back in the same
/// instant.
/// </summary>
public sealed partial class RedisOutageRecovery(
    IConnectionMultiplexer redis, ConnectionRegistry registry, ILogger<RedisOutageRecovery> logger) : BackgroundService
{
    /// <summary>How long Redis must stay back before the connections are closed.</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    /// <summary>Over how long this node's connections are closed, a slice at a time.</summary>
    public static readonly TimeSpan Spread = TimeSpan.FromSeconds(5);

    private const int Slices = 10;
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var down = !Connected(); // started while Redis was away: whoever connects meanwhile has no subscriptions
        DateTime? backSince = null;
        // A connection dropped and restored between two polls (Redis closing a subscriber that reads too slowly, a
        // network reset; the multiplexer reconnects at once) lost what was published meanwhile all the same.
        void Dropped(object? sender, ConnectionFailedEventArgs e) => Interlocked.Exchange(ref dropped, 1);
        redis.ConnectionFailed += Dropped;
        try
        {
            while (true)
            {
                await Task.Delay(Poll, stoppingToken);
                if (Interlocked.Exchange(ref dropped, 0) == 1 | !Connected())
                {
                    if (!down)
                    {
                        LogLost(logger);
                    }

                    down = true;
                    backSince = null;
                    continue;
                }

                if (!down)
                {
                    continue;
                }

                backSince ??= DateTime.UtcNow;
                if (DateTime.UtcNow - backSince < Settle)
                {
                    continue;
                }

                down = false;
                backSince = null;
                LogRecovered(logger, await CloseAllAsync(stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // the node stops
        }
        finally
        {
            redis.ConnectionFailed -= Dropped;
        }
    }

    private int dropped;

    private bool Connected() => redis.IsConnected && redis.GetSubscriber().IsConnected();

    /// <summary>Closes the node's connections, a slice at a time over <see cref="Spread"/>; returns how many.</summary>
    private async Task<int> CloseAllAsync(CancellationToken ct)
    {
        var all = registry.All();
        var slice = (all.Count + Slices - 1) / Slices;
        for (var i = 0; i < all.Count; i += slice)
        {
            if (i > 0)
            {
                await Task.Delay(Spread / Slices, ct);
            }

            foreach (var connection in all.Skip(i).Take(slice))
            {
                connection.Abort();
            }
        }

        return all.Count;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis is away: live pushes between and within nodes stop until it is back")]
    private static partial void LogLost(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis is back: closing this node's {Count} hub connection(s) so that they reconnect and catch up")]
    private static partial void LogRecovered(ILogger logger, int count);
}
