using StackExchange.Redis;

namespace Chat.Hub.Realtime;

/// <summary>
/// Who is online: someone with at least one live hub connection on any node. Each node keeps the set of people
/// connected to it in Redis under its own key with a short expiry that it keeps refreshing, so a node that dies
/// stops reporting its people within a minute. Without Redis, this node's connections are the whole truth.
/// </summary>
public sealed class PresenceTracker(ConnectionRegistry registry, IConnectionMultiplexer? redis = null) : IHostedService, IDisposable
{
    private const string NodesKey = "chat:presence:nodes";
    private static readonly TimeSpan Expiry = TimeSpan.FromSeconds(60);
    private readonly string nodeKey = "chat:presence:node:" + Guid.NewGuid().ToString("N");
    private Timer? heartbeat;

    public async Task ConnectedAsync(Guid accountId)
    {
        if (redis is not null && registry.CountOf(accountId) == 1)
        {
            await TryAsync(db => db.SetAddAsync(nodeKey, accountId.ToString("N")));
        }
    }

    public async Task DisconnectedAsync(Guid accountId)
    {
        if (redis is not null && registry.CountOf(accountId) == 0)
        {
            await TryAsync(db => db.SetRemoveAsync(nodeKey, accountId.ToString("N")));
        }
    }

    /// <summary>Which of these people are online now.</summary>
    public async Task<IReadOnlyList<Guid>> OnlineAsync(IReadOnlyCollection<Guid> accountIds)
    {
        var online = accountIds.Where(id => registry.CountOf(id) > 0).ToHashSet();
        if (redis is null || online.Count == accountIds.Count)
        {
            return online.ToList();
        }

        try
        {
            var db = redis.GetDatabase();
            var cutoff = DateTimeOffset.UtcNow.Add(-Expiry).ToUnixTimeSeconds();
            var nodes = await db.SortedSetRangeByScoreAsync(NodesKey, cutoff, double.PositiveInfinity);
            foreach (var node in nodes)
            {
                var rest = accountIds.Where(id => !online.Contains(id)).ToArray();
                if (rest.Length == 0)
                {
                    break;
                }

                var hits = await db.SetContainsAsync((string)node!, rest.Select(id => (RedisValue)id.ToString("N")).ToArray());
                for (var i = 0; i < rest.Length; i++)
                {
                    if (hits[i])
                    {
                        online.Add(rest[i]);
                    }
                }
            }
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Presence is best effort: without Redis we know this node's people only.
        }

        return online.ToList();
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (redis is not null)
        {
            heartbeat = new Timer(_ => _ = BeatAsync(), null, TimeSpan.Zero, TimeSpan.FromSeconds(20));
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        heartbeat?.Dispose();
        if (redis is not null)
        {
            await TryAsync(async db =>
            {
                await db.SortedSetRemoveAsync(NodesKey, nodeKey);
                return await db.KeyDeleteAsync(nodeKey);
            });
        }
    }

    public void Dispose() => heartbeat?.Dispose();

    private Task BeatAsync() => TryAsync(async db =>
    {
        await db.SortedSetAddAsync(NodesKey, nodeKey, DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        // After a Redis restart the set is gone: write this node's people again.
        var people = registry.AccountIds().Select(id => (RedisValue)id.ToString("N")).ToArray();
        if (people.Length > 0)
        {
            await db.SetAddAsync(nodeKey, people);
        }

        return await db.KeyExpireAsync(nodeKey, Expiry);
    });

    private async Task TryAsync<T>(Func<IDatabase, Task<T>> action)
    {
        try
        {
            await action(redis!.GetDatabase());
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Best effort; the next heartbeat repairs it.
        }
    }
}
