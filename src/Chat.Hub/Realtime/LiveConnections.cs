using System.Text.Json;
using Chat.Storage.Chats;
using Microsoft.AspNetCore.SignalR;
using StackExchange.Redis;

namespace Chat.Hub.Realtime;

/// <summary>
/// Makes live connections follow the database on every node: when someone joins or leaves a chat their connections
/// join or leave its group, and when a session ends or an account is deleted its connections are closed. Applied
/// locally at once and, with scale-out, published to the other nodes through one Redis channel.
/// </summary>
public sealed partial class LiveConnections(
    ConnectionRegistry registry,
    IHubContext<ChatHub, IChatClient> hub,
    IServiceProvider services,
    ILogger<LiveConnections> logger,
    IConnectionMultiplexer? redis = null)
{
    public static readonly RedisChannel Channel = RedisChannel.Literal("chat:live");

    /// <summary>This node, so that it ignores its own published events (it applied them already).</summary>
    private static readonly Guid NodeId = Guid.NewGuid();

    private long membershipEpoch;

    public static string ChatGroup(Guid chatId) => "c:" + chatId.ToString("N");

    /// <summary>
    /// Counts the membership changes applied on this node. A connection that read its chats before registering
    /// (AuthSetup) reads them again if this moved meanwhile: a change applied in between would otherwise miss it.
    /// </summary>
    public long MembershipEpoch => Interlocked.Read(ref membershipEpoch);

    /// <summary>How long a publish to the other nodes may take before it is given up (and logged).</summary>
    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Closes the connections of the account's ended sessions (all of them when null), here and on the other nodes.
    /// Like <see cref="ApplyMembershipAsync"/>, it takes no cancellation: what it applies is committed, so it runs whole
    /// even when the request that made the change is gone.
    /// </summary>
    public async Task EndSessionsAsync(Guid accountId, IReadOnlyCollection<Guid>? sessionIds)
    {
        var evt = new LiveEvent(NodeId, accountId, sessionIds?.ToArray(), null);
        await PublishAsync(evt); // first, as membership changes: the other nodes cut them off as soon as this one
        await ApplyLocallyAsync(evt);
    }

    /// <summary>
    /// Makes the connections of the people whose membership changed join or leave the chats' groups, here and on the
    /// other nodes, and tells the access watchers (calls) who lost a chat. No cancellation: the changes are committed,
    /// and a caller that went away (its connection closed) must not leave them half applied.
    /// </summary>
    public async Task ApplyMembershipAsync(IReadOnlyCollection<MembershipChange> changes)
    {
        if (changes.Count == 0)
        {
            return;
        }

        foreach (var byAccount in changes.GroupBy(c => c.AccountId))
        {
            // Published first: the other nodes' connections follow the change as soon as this node's (a removed pupil's
            // phone on another node must not get the messages of the time this node spends on its own connections).
            var evt = new LiveEvent(NodeId, byAccount.Key, null, byAccount.Select(c => new ChatChange(c.ChatId, c.Added)).ToArray());
            await PublishAsync(evt);
            await ApplyLocallyAsync(evt);
        }

        await AccessLostAsync(changes.Where(c => !c.Added).Select(c => (c.ChatId, c.AccountId)).ToArray());
    }

    /// <summary>
    /// Tells the <see cref="IChatAccessWatcher"/>s (once, on the node that made the change) that these people may no
    /// longer act in these chats: removed from them (<see cref="ApplyMembershipAsync"/> calls this) or blocked.
    /// </summary>
    public async Task AccessLostAsync(IReadOnlyCollection<(Guid ChatId, Guid AccountId)> lost)
    {
        if (lost.Count == 0)
        {
            return;
        }

        // Resolved when used, not injected: the watchers (calls) depend on the chat services, which depend on this class.
        foreach (var watcher in services.GetServices<IChatAccessWatcher>())
        {
            await watcher.AccessLostAsync(lost, CancellationToken.None);
        }
    }

    /// <summary>
    /// Tells the <see cref="IChatAccessWatcher"/>s (once, on the node that made the change) that a moderator muted these
    /// people in these chats: calls stop what they send in the chat's live call.
    /// </summary>
    public async Task PublishingLostAsync(IReadOnlyCollection<(Guid ChatId, Guid AccountId)> muted)
    {
        foreach (var watcher in services.GetServices<IChatAccessWatcher>())
        {
            await watcher.PublishingLostAsync(muted, CancellationToken.None);
        }
    }

    /// <summary>Applies an event published by another node.</summary>
    public Task ApplyRemoteAsync(string message)
    {
        var evt = JsonSerializer.Deserialize<LiveEvent>(message);
        return evt is null || evt.Node == NodeId ? Task.CompletedTask : ApplyLocallyAsync(evt);
    }

    private async Task ApplyLocallyAsync(LiveEvent evt)
    {
        if (evt.Chats is null)
        {
            // Say why before closing, so a client shows "you were signed out" instead of reconnecting.
            foreach (var connectionId in registry.ConnectionsOf(evt.AccountId, evt.SessionIds))
            {
                try
                {
                    await hub.Clients.Client(connectionId).SessionEnded("session_ended");
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogPublishFailed(logger, e);
                }
            }

            registry.Abort(evt.AccountId, evt.SessionIds);
            return;
        }

        Interlocked.Increment(ref membershipEpoch);
        foreach (var connectionId in registry.ConnectionsOf(evt.AccountId))
        {
            // One connection failing (it closed meanwhile, Redis went away) must not leave the person's other
            // connections out of the change.
            try
            {
                foreach (var change in evt.Chats)
                {
                    if (change.Added)
                    {
                        await hub.Groups.AddToGroupAsync(connectionId, ChatGroup(change.ChatId));
                    }
                    else
                    {
                        await hub.Groups.RemoveFromGroupAsync(connectionId, ChatGroup(change.ChatId));
                    }
                }

                foreach (var change in evt.Chats)
                {
                    await hub.Clients.Client(connectionId).ChatMembershipChanged(change.ChatId, change.Added);
                }
            }
            catch (Exception e)
            {
                LogApplyFailed(logger, e, connectionId);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A membership change could not be applied to connection {ConnectionId}; it goes on with the others")]
    private static partial void LogApplyFailed(ILogger logger, Exception e, string connectionId);

    private async Task PublishAsync(LiveEvent evt)
    {
        if (redis is null)
        {
            return;
        }

        try
        {
            await redis.GetSubscriber().PublishAsync(Channel, JsonSerializer.Serialize(evt)).WaitAsync(PublishTimeout);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The database already holds the truth; other nodes' clients re-read their chats when they reconnect.
            LogPublishFailed(logger, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not publish a live membership event to other nodes")]
    private static partial void LogPublishFailed(ILogger logger, Exception e);

    private sealed record LiveEvent(Guid Node, Guid AccountId, Guid[]? SessionIds, ChatChange[]? Chats);

    private sealed record ChatChange(Guid ChatId, bool Added);
}
