using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Hub.Realtime;

/// <summary>The live hub connections on this node, by person, so that their groups can follow membership changes
/// and an ended session or a deleted account can be cut off at once.</summary>
/// <remarks>
/// Kept small because there is one entry per idle connection (docs/performance.md, idle memory): a person's
/// connections are an immutable array replaced under a lock, not a dictionary of their own.
/// </remarks>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<Guid, LiveConnection[]> byAccount = new();
    private int count;
    private readonly Lock changes = new();

    public int Count => Volatile.Read(ref count);

    public void Add(HubCallerContext context, Guid accountId, Guid sessionId)
    {
        lock (changes)
        {
            AddLocked(context, accountId, sessionId);
        }
    }

    /// <summary>Adds the connection unless the account already has <paramref name="maxPerAccount"/>; count and add are one step.</summary>
    public bool TryAdd(HubCallerContext context, Guid accountId, Guid sessionId, int maxPerAccount)
    {
        lock (changes)
        {
            if (CountOf(accountId) >= maxPerAccount)
            {
                return false;
            }

            AddLocked(context, accountId, sessionId);
            return true;
        }
    }

    private void AddLocked(HubCallerContext context, Guid accountId, Guid sessionId)
    {
        var mine = byAccount.TryGetValue(accountId, out var current) ? current : [];
        if (Array.Exists(mine, c => c.Context.ConnectionId == context.ConnectionId))
        {
            return;
        }

        byAccount[accountId] = [.. mine, new LiveConnection(context, sessionId)];
        Interlocked.Increment(ref count);
    }

    public void Remove(Guid accountId, string connectionId)
    {
        lock (changes)
        {
            if (!byAccount.TryGetValue(accountId, out var mine))
            {
                return;
            }

            var rest = Array.FindAll(mine, c => c.Context.ConnectionId != connectionId);
            if (rest.Length == mine.Length)
            {
                return;
            }

            Interlocked.Decrement(ref count);
            if (rest.Length == 0)
            {
                byAccount.TryRemove(accountId, out _);
            }
            else
            {
                byAccount[accountId] = rest;
            }
        }
    }

    public IEnumerable<string> ConnectionsOf(Guid accountId) =>
        byAccount.TryGetValue(accountId, out var mine) ? mine.Select(c => c.Context.ConnectionId) : [];

    public int CountOf(Guid accountId) => byAccount.TryGetValue(accountId, out var mine) ? mine.Length : 0;

    public IEnumerable<Guid> AccountIds() => byAccount.Keys;

    /// <summary>The connection ids of the account's connections on this node (all, or those of the given sessions).</summary>
    public IReadOnlyList<string> ConnectionsOf(Guid accountId, IReadOnlyCollection<Guid>? sessionIds) =>
        byAccount.TryGetValue(accountId, out var mine)
            ? mine.Where(c => sessionIds is null || sessionIds.Contains(c.SessionId)).Select(c => c.Context.ConnectionId).ToList()
            : [];

    /// <summary>Aborts the account's connections on this node (all of them, or only those of the given sessions).</summary>
    public int Abort(Guid accountId, IReadOnlyCollection<Guid>? sessionIds)
    {
        if (!byAccount.TryGetValue(accountId, out var mine))
        {
            return 0;
        }

        var aborted = 0;
        foreach (var connection in mine)
        {
            if (sessionIds is null || sessionIds.Contains(connection.SessionId))
            {
                connection.Context.Abort();
                aborted++;
            }
        }

        return aborted;
    }

    /// <summary>Every connection on this node, as it is now (after a Redis outage they are closed: <see cref="RedisOutageRecovery"/>).</summary>
    public IReadOnlyList<HubCallerContext> All() => byAccount.Values.SelectMany(mine => mine.Select(c => c.Context)).ToList();

    private sealed record LiveConnection(HubCallerContext Context, Guid SessionId);
}
