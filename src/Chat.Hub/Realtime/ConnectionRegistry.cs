using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Hub.Realtime;

/// <summary>The live hub connections on this node, by person, so that their groups can follow membership changes
/// and an ended session or a deleted account can be cut off at once.</summary>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<Guid, ConcurrentDictionary<string, LiveConnection>> byAccount = new();
    private int count;
    private readonly Lock admission = new();

    public int Count => Volatile.Read(ref count);

    public void Add(HubCallerContext context, Guid accountId, Guid sessionId)
    {
        var mine = byAccount.GetOrAdd(accountId, _ => new ConcurrentDictionary<string, LiveConnection>(StringComparer.Ordinal));
        if (mine.TryAdd(context.ConnectionId, new LiveConnection(context, sessionId)))
        {
            Interlocked.Increment(ref count);
        }
    }

    /// <summary>Adds the connection unless the account already has <paramref name="maxPerAccount"/>; count and add are one step.</summary>
    public bool TryAdd(HubCallerContext context, Guid accountId, Guid sessionId, int maxPerAccount)
    {
        lock (admission)
        {
            if (CountOf(accountId) >= maxPerAccount)
            {
                return false;
            }

            Add(context, accountId, sessionId);
            return true;
        }
    }


    public void Remove(Guid accountId, string connectionId)
    {
        if (byAccount.TryGetValue(accountId, out var mine) && mine.TryRemove(connectionId, out _))
        {
            Interlocked.Decrement(ref count);
            if (mine.IsEmpty)
            {
                // Lost race with a concurrent Add is harmless: GetOrAdd there recreates the entry.
                byAccount.TryRemove(new KeyValuePair<Guid, ConcurrentDictionary<string, LiveConnection>>(accountId, mine));
            }
        }
    }

    public IEnumerable<string> ConnectionsOf(Guid accountId) =>
        byAccount.TryGetValue(accountId, out var mine) ? mine.Keys : [];

    public int CountOf(Guid accountId) => byAccount.TryGetValue(accountId, out var mine) ? mine.Count : 0;

    public IEnumerable<Guid> AccountIds() => byAccount.Keys;

    /// <summary>The connection ids of the account's connections on this node (all, or those of the given sessions).</summary>
    public IReadOnlyList<string> ConnectionsOf(Guid accountId, IReadOnlyCollection<Guid>? sessionIds) =>
        byAccount.TryGetValue(accountId, out var mine)
            ? mine.Where(c => sessionIds is null || sessionIds.Contains(c.Value.SessionId)).Select(c => c.Key).ToList()
            : [];

    /// <summary>Aborts the account's connections on this node (all of them, or only those of the given sessions).</summary>
    public int Abort(Guid accountId, IReadOnlyCollection<Guid>? sessionIds)
    {
        if (!byAccount.TryGetValue(accountId, out var mine))
        {
            return 0;
        }

        var aborted = 0;
        foreach (var connection in mine.Values)
        {
            if (sessionIds is null || sessionIds.Contains(connection.SessionId))
            {
                connection.Context.Abort();
                aborted++;
            }
        }

        return aborted;
    }

    private sealed record LiveConnection(HubCallerContext Context, Guid SessionId);
}
