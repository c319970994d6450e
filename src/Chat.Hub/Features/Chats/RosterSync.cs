using Chat.Hub.Realtime;
using Chat.Storage.Chats;
using Chat.Storage.Infrastructure;

namespace Chat.Hub.Features.Chats;

/// <summary>
/// Keeps the automatic chats (class, parents, staff room, channels) in line with the roster. Called inside the
/// transaction that changed the roster; the returned changes are applied to live connections after commit.
/// </summary>
public sealed class RosterSync(ChatStore chats, LiveConnections live)
{
    public Task<IReadOnlyList<MembershipChange>> SyncAsync(DbScope s, Guid schoolId, CancellationToken ct) => chats.SyncRosterAsync(s, schoolId, ct);

    public Task ApplyAsync(IReadOnlyCollection<MembershipChange> changes, CancellationToken ct) => live.ApplyMembershipAsync(changes, ct);
}
