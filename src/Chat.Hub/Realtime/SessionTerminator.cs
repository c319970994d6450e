using System.Text.Json;
using StackExchange.Redis;

namespace Chat.Hub.Realtime;

/// <summary>
/// Ends live connections of revoked sessions or deleted accounts on every node: locally at once, and on other
/// nodes through a Redis channel when scale-out is configured.
/// </summary>
public sealed class SessionTerminator(ConnectionRegistry registry, IConnectionMultiplexer? redis = null)
{
    public static readonly RedisChannel Channel = RedisChannel.Literal("chat:terminate");

    public async Task EndSessionsAsync(Guid accountId, IReadOnlyCollection<Guid>? sessionIds, CancellationToken ct)
    {
        registry.Abort(accountId, sessionIds);
        if (redis is not null)
        {
            var message = JsonSerializer.Serialize(new TerminateMessage(accountId, sessionIds?.ToArray()));
            await redis.GetSubscriber().PublishAsync(Channel, message).WaitAsync(ct);
        }
    }

    /// <summary>Applies a termination published by another node.</summary>
    public void Apply(string message)
    {
        var parsed = JsonSerializer.Deserialize<TerminateMessage>(message);
        if (parsed is not null)
        {
            registry.Abort(parsed.AccountId, parsed.SessionIds);
        }
    }

    private sealed record TerminateMessage(Guid AccountId, Guid[]? SessionIds);
}
