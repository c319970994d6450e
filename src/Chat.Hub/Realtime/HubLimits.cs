using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Chat.Hub.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Realtime;

/// <summary>Limits (section <c>Limits</c>); enforced per node.</summary>
public sealed class LimitOptions
{
    /// <summary>Sustained messages (sends, edits, reactions) per second per person.</summary>
    public double MessagesPerSecond { get; set; } = 5;

    /// <summary>Messages a person may send in a burst before the sustained rate applies.</summary>
    public int MessageBurst { get; set; } = 30;

    /// <summary>
    /// Sustained media requests per second per person: those that make the media server attach a handle or renegotiate
    /// (Publish, PublishScreen, RestartIce, Subscribe, RestartSubscriptionIce, SetFeedStream). A page joining a call of 128
    /// subscribes to 127 feeds at once (retrying those not live yet) and pauses ~118 of their videos; the page retries a
    /// refusal more slowly.
    /// </summary>
    public double MediaRequestsPerSecond { get; set; } = 50;

    /// <summary>Media requests a person may make in a burst before the sustained rate applies.</summary>
    public int MediaRequestBurst { get; set; } = 1000;

    public int ConnectionsPerUser { get; set; } = 10;

    public int TypingIntervalSeconds { get; set; } = 3;

    /// <summary>
    /// How long a write to a connection may wait on a full send buffer (the client reads nothing) before that
    /// connection is dropped (<see cref="SlowClientGuard"/>).
    /// </summary>
    public int SlowClientSeconds { get; set; } = 10;
}

/// <summary>Which of a person's rates a hub method draws on (<see cref="LimitedAttribute"/>).</summary>
public enum HubLimit
{
    /// <summary>Sends, edits, reactions, votes, polls and files.</summary>
    Send,

    /// <summary>Requests that cost the media server a handle or a renegotiation.</summary>
    Media,
}

/// <summary>
/// The hub method draws on one of the caller's rates: <see cref="ChatHubFilter"/> checks it before the method runs
/// (<c>rate_limited</c> beyond it), so no method has to remember to.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class LimitedAttribute(HubLimit limit) : Attribute
{
    public HubLimit Limit { get; } = limit;
}

/// <summary>Back-pressure for the hub: a flood gets errors for the flooder and nobody else.</summary>
public sealed class HubLimits : IDisposable
{
    private readonly LimitOptions options;
    private readonly PartitionedRateLimiter<Guid> sends;
    private readonly PartitionedRateLimiter<Guid> media;
    private readonly ConcurrentDictionary<(string, Guid), long> lastTyping = new();
    private readonly TimeProvider clock;

    public HubLimits(IOptions<LimitOptions> options, TimeProvider clock)
    {
        this.options = options.Value;
        this.clock = clock;
        sends = PerPerson(this.options.MessagesPerSecond, this.options.MessageBurst);
        media = PerPerson(this.options.MediaRequestsPerSecond, this.options.MediaRequestBurst);
    }

    /// <summary>A send, edit or reaction; too_many_requests beyond the person's rate.</summary>
    public void CheckSend(Guid accountId) => Check(sends, accountId);

    /// <summary>A request that costs the media server a handle or a renegotiation; too_many_requests beyond the rate.</summary>
    public void CheckMedia(Guid accountId) => Check(media, accountId);

    public void Check(HubLimit limit, Guid accountId) => Check(limit == HubLimit.Media ? media : sends, accountId);

    private static void Check(PartitionedRateLimiter<Guid> limiter, Guid accountId)
    {
        using var lease = limiter.AttemptAcquire(accountId);
        if (!lease.IsAcquired)
        {
            throw new ChatException(ChatError.TooManyRequests);
        }
    }

    /// <summary>A token bucket per person: <paramref name="burst"/> at once, then <paramref name="rate"/> a second.</summary>
    private static PartitionedRateLimiter<Guid> PerPerson(double rate, int burst)
    {
        var perSecond = Math.Max(0.1, rate);
        return PartitionedRateLimiter.Create<Guid, Guid>(account => RateLimitPartition.GetTokenBucketLimiter(account, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, burst),
            TokensPerPeriod = Math.Max(1, (int)Math.Round(perSecond)),
            ReplenishmentPeriod = TimeSpan.FromSeconds(Math.Max(1, Math.Round(perSecond)) / perSecond),
            QueueLimit = 0,
            AutoReplenishment = true,
        }));
    }

    /// <summary>Registers the connection unless the person already has as many as allowed on this node.</summary>
    public bool TryOpenConnection(ConnectionRegistry registry, HubCallerContext context, Guid accountId, Guid sessionId) =>
        registry.TryAdd(context, accountId, sessionId, options.ConnectionsPerUser);

    public bool TryTyping(string connectionId, Guid chatId)
    {
        var now = clock.GetTimestamp();
        var key = (connectionId, chatId);
        if (lastTyping.TryGetValue(key, out var last) && clock.GetElapsedTime(last, now) < TimeSpan.FromSeconds(options.TypingIntervalSeconds))
        {
            return false;
        }

        lastTyping[key] = now;
        if (lastTyping.Count > 100_000)
        {
            lastTyping.Clear(); // bounded memory: typing throttling is best effort
        }

        return true;
    }

    public void Dispose()
    {
        sends.Dispose();
        media.Dispose();
    }
}
