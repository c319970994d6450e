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
/// subscriptions whole. Everything else is passed through.
/// </summary>
public sealed partial class RedisOutageTolerantLifetimeManager(
    RedisHubLifetimeManager<ChatHub> inner, ILogger<RedisOutageTolerantLifetimeManager> logger) : HubLifetimeManager<ChatHub>
{
    public override async Task OnConnectedAsync(HubConnectionContext connection)
    {
        try
        {
            await inner.OnConnectedAsync(connection);
        }
        catch (Exception e) when (IsRedisDown(e))
        {
            LogDegraded(logger, "connect", e.Message);
        }
    }

    public override async Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        try
        {
            await inner.OnDisconnectedAsync(connection);
        }
        catch (Exception e) when (IsRedisDown(e))
        {
            LogDegraded(logger, "disconnect", e.Message);
        }
    }

    public override async Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        try
        {
            await inner.AddToGroupAsync(connectionId, groupName, cancellationToken);
        }
        catch (Exception e) when (IsRedisDown(e))
        {
            LogDegraded(logger, "join a group", e.Message);
        }
    }

    public override async Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        try
        {
            await inner.RemoveFromGroupAsync(connectionId, groupName, cancellationToken);
        }
        catch (Exception e) when (IsRedisDown(e))
        {
            LogDegraded(logger, "leave a group", e.Message);
        }
    }

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

    private static bool IsRedisDown(Exception e) => e is RedisException or TimeoutException;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis is away: a connection could not {What} through it ({Reason}); it goes on without live pushes until Redis is back")]
    private static partial void LogDegraded(ILogger logger, string what, string reason);
}

/// <summary>
/// After Redis was away, closes every hub connection of this node once it is back. Meanwhile pushes to groups (which go
/// through Redis, even to this node's own connections), membership changes and ended sessions published by other nodes
/// were lost, and connections made meanwhile have no subscriptions. Closed, the clients reconnect (the web client at
/// once, then with back-off), read their chats and session again and catch up on what they missed.
/// </summary>
public sealed partial class RedisOutageRecovery(
    IConnectionMultiplexer redis, ConnectionRegistry registry, ILogger<RedisOutageRecovery> logger) : IHostedService
{
    /// <summary>How long Redis must stay back before the connections are closed (its own resubscriptions settle first).</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(2);

    private long outage;
    private bool down;
    private readonly Lock gate = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        redis.ConnectionFailed += OnFailed;
        redis.ConnectionRestored += OnRestored;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        redis.ConnectionFailed -= OnFailed;
        redis.ConnectionRestored -= OnRestored;
        return Task.CompletedTask;
    }

    private void OnFailed(object? sender, ConnectionFailedEventArgs e)
    {
        lock (gate)
        {
            down = true;
            outage++;
        }

        LogLost(logger, e.ConnectionType, e.FailureType);
    }

    private void OnRestored(object? sender, ConnectionFailedEventArgs e)
    {
        long mine;
        lock (gate)
        {
            if (!down)
            {
                return;
            }

            mine = outage;
        }

        _ = Task.Run(async () =>
        {
            await Task.Delay(Settle);
            lock (gate)
            {
                // Another failure meanwhile (its own restore comes later), or another restore did it already.
                if (!down || outage != mine || !redis.IsConnected)
                {
                    return;
                }

                down = false;
            }

            LogRecovered(logger, registry.AbortAll());
        });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis connection lost ({ConnectionType}, {FailureType}): live pushes between and within nodes stop until it is back")]
    private static partial void LogLost(ILogger logger, ConnectionType connectionType, ConnectionFailureType failureType);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis is back: closed this node's {Count} hub connection(s) so that they reconnect and catch up")]
    private static partial void LogRecovered(ILogger logger, int count);
}
