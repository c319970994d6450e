using System.Text.Json;
using Chat.Hub.Realtime;
using Chat.Signaling.Calls;
using StackExchange.Redis;

namespace Chat.Hub.Features.Calls;

/// <summary>
/// Janus handles live in the memory of the node that attached them, and a person's handles may be spread over nodes
/// (their hub connection moved, or they use two devices). Taking someone out of a call's media therefore reaches every
/// node: the node that made the change kicks their feeds out of the room through the room secret, detaches its own
/// handles of theirs and publishes a drop on the Redis channel <c>chat:calls</c>; every other node detaches the handles
/// it holds of theirs in that call (<see cref="CallNodeListener"/>, subscribed at startup). When a call ends, the same
/// drop without a person tells every node to detach all its handles of the call. Without Redis there is one node, and
/// the local drop is all.
/// </summary>
public sealed partial class CallService
{
    public static readonly RedisChannel Channel = RedisChannel.Literal("chat:calls");

    private static readonly TimeSpan PublishTimeout = TimeSpan.FromSeconds(5);

    /// <summary>This node, so that it ignores its own drops (it applied them already).</summary>
    private readonly Guid nodeId = Guid.NewGuid();

    /// <summary>
    /// Takes one person out of the call's media wherever their handles live: their camera and screen feeds (as they
    /// were before the change) are kicked out of the room, this node's handles of theirs are detached, and every other
    /// node is told to detach its own. Called after the database change: failures are logged, never thrown.
    /// </summary>
    private async Task TakeOutOfMediaAsync(Guid callId, Guid accountId, (long? Camera, long? Screen) feeds)
    {
        // Not the caller's token: the change is stored, so the cleanup goes on even if the caller hung up meanwhile.
        await KickFeedsAsync(callId, feeds);
        await DropHandlesAsync(callId, accountId, CancellationToken.None);
        await PublishDropAsync(new HandleDrop(nodeId, callId, accountId));
    }

    /// <summary>Kicks a person's camera and screen feeds (either may be none) out of the call's room; failures are logged.</summary>
    private async Task KickFeedsAsync(Guid callId, (long? Camera, long? Screen) feeds)
    {
        foreach (var feed in new[] { feeds.Camera, feeds.Screen })
        {
            try
            {
                await KickFeedAsync(callId, feed, CancellationToken.None);
            }
            catch (Exception e)
            {
                LogSfu(logger, e, callId);
            }
        }
    }

    /// <summary>The person's camera and screen feeds in the call as it is (read before they leave it).</summary>
    private static (long? Camera, long? Screen) FeedsOf(CallState state, Guid accountId) =>
        state.Find(accountId) is { } p ? (p.FeedId, p.ScreenFeedId) : default;

    private async Task PublishDropAsync(HandleDrop drop)
    {
        if (redis is null)
        {
            return;
        }

        try
        {
            await redis.GetSubscriber().PublishAsync(Channel, JsonSerializer.Serialize(drop)).WaitAsync(PublishTimeout);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Handles on other nodes stay attached until that node's check finds the person out of the call
            // (ForgetLeftOverHandlesAsync, every Calls:Presence:HandleCheck) — their own feeds are kicked already.
            LogDropNotPublished(logger, e, drop.CallId, drop.AccountId);
        }
    }

    /// <summary>Applies a drop published by another node: detaches the handles this node holds of that person in that call.</summary>
    internal async Task ApplyRemoteAsync(string message)
    {
        try
        {
            var drop = JsonSerializer.Deserialize<HandleDrop>(message);
            if (drop is null || drop.Node == nodeId)
            {
                return;
            }

            if (drop.AccountId is null)
            {
                viewerPushes.TryRemove(drop.CallId, out _); // the call ended on another node
            }

            await DropHandlesAsync(drop.CallId, drop.AccountId, CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSfu(logger, e, Guid.Empty);
        }
    }

    /// <summary>
    /// Detaches the handles this node holds of people no longer in a live call, or in it only through other nodes' hub
    /// connections (their page rejoined elsewhere) — a drop lost on its way: Redis down, this node not yet subscribed, or
    /// no Redis between the nodes at all. Only handles held before the database was asked go, so a rejoin meanwhile
    /// keeps its new ones. Returns how many people's handles went.
    /// </summary>
    internal async Task<int> ForgetLeftOverHandlesAsync(CancellationToken ct)
    {
        var held = new Dictionary<(Guid Call, Guid Account), HashSet<long>>();
        void Note(Guid call, Guid account, long handle)
        {
            if (!held.TryGetValue((call, account), out var set))
            {
                held[(call, account)] = set = [];
            }

            set.Add(handle);
        }

        foreach (var (k, h) in publishers)
        {
            Note(k.Call, k.Account, h);
        }

        foreach (var (k, h) in screenPublishers)
        {
            Note(k.Call, k.Account, h);
        }

        foreach (var (k, h) in subscribers)
        {
            Note(k.Call, k.Account, h);
        }

        if (held.Count == 0)
        {
            return 0;
        }

        var leftOver = await calls.LeftOverAsync(held.Keys.ToList(), NodeName, ct);
        foreach (var (call, account, moved) in leftOver)
        {
            if (moved)
            {
                LogHandlesOfTheMoved(logger, call, account);
            }
            else
            {
                LogHandlesOfTheGone(logger, call, account);
            }

            await DropHandlesAsync(call, account, ct, held[(call, account)]);
        }

        return leftOver.Count;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Call {CallId}: {AccountId} is out of the call but this node still held their Janus handles (a drop was lost); detached now")]
    private static partial void LogHandlesOfTheGone(ILogger logger, Guid callId, Guid accountId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Call {CallId}: {AccountId} rejoined through another node but this node still held their Janus handles (a drop was lost); detached now")]
    private static partial void LogHandlesOfTheMoved(ILogger logger, Guid callId, Guid accountId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Call {CallId}: could not tell other nodes to drop the handles of {AccountId} (none: everyone's)")]
    private static partial void LogDropNotPublished(ILogger logger, Exception exception, Guid callId, Guid? accountId);

    /// <summary>A node's request to the others: detach the handles of this person in this call, or of everyone (<c>AccountId</c> null: the call ended).</summary>
    private sealed record HandleDrop(Guid Node, Guid CallId, Guid? AccountId);
}

/// <summary>
/// Started with the node, whether or not it ever handles a call: notices Janus restarts
/// (<see cref="CallService.EnsureSubscribed"/>) and, with Redis, applies the handle drops other nodes publish.
/// </summary>
internal sealed class CallNodeListener(CallService calls, ILogger<CallNodeListener> logger, IConnectionMultiplexer? redis = null) : IHostedService
{
    private Listener? listener;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        calls.EnsureSubscribed();
        if (redis is null)
        {
            return;
        }

        listener = new Listener(redis, calls, logger);
        await listener.StartAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => listener?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    /// <summary>The drops other nodes publish on <c>chat:calls</c> (subscribed in the background: Redis may be away).</summary>
    private sealed class Listener(IConnectionMultiplexer redis, CallService calls, ILogger logger) : RedisChannelListener(redis, CallService.Channel, logger)
    {
        protected override Task OnMessageAsync(string message) => calls.ApplyRemoteAsync(message);
    }
}
