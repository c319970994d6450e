using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Hub.Realtime;

/// <summary>The live hub connections on this node, so that an ended session or a deleted account can be cut off at once.</summary>
public sealed class ConnectionRegistry
{
    private readonly ConcurrentDictionary<string, LiveConnection> connections = new(StringComparer.Ordinal);
    private readonly Lock admission = new();

    public int Count => connections.Count;

    public void Add(HubCallerContext context, Guid accountId, Guid sessionId) =>
        connections[context.ConnectionId] = new LiveConnection(context, accountId, sessionId);

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

    public void Remove(string connectionId) => connections.TryRemove(connectionId, out _);

    public IEnumerable<string> ConnectionsOf(Guid accountId) =>
        connections.Values.Where(c => c.AccountId == accountId).Select(c => c.Context.ConnectionId);

    public int CountOf(Guid accountId) => connections.Values.Count(c => c.AccountId == accountId);

    /// <summary>Aborts the account's connections on this node (all of them, or only those of the given sessions).</summary>
    public int Abort(Guid accountId, IReadOnlyCollection<Guid>? sessionIds)
    {
        var aborted = 0;
        foreach (var connection in connections.Values)
        {
            if (connection.AccountId == accountId && (sessionIds is null || sessionIds.Contains(connection.SessionId)))
            {
                connection.Context.Abort();
                aborted++;
            }
        }

        return aborted;
    }

    private sealed record LiveConnection(HubCallerContext Context, Guid AccountId, Guid SessionId);
}
