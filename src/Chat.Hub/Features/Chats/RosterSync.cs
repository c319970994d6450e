using System.Data.Common;
using Chat.Hub.Realtime;
using Chat.Storage.Chats;
using Chat.Storage.Infrastructure;
using Chat.Storage.Invites;

namespace Chat.Hub.Features.Chats;

/// <summary>
/// Keeps the automatic chats (class, parents, staff room, channels) in line with the roster and revokes invite links
/// whose maker may no longer make them (a class teacher detached from the class); closes, when asked, the direct chats
/// the school's rules no longer allow. Called inside the transaction that changed the roster, a role or a parent link;
/// the returned changes are applied to live connections after commit.
/// </summary>
public sealed partial class RosterSync(ChatStore chats, InviteStore invites, LiveConnections live, ChatPush push, ILogger<RosterSync> logger)
{
    public async Task<IReadOnlyList<MembershipChange>> SyncAsync(DbScope s, Guid schoolId, CancellationToken ct)
    {
        await invites.RevokeOrphanedAsync(s, schoolId, ct);
        return await chats.SyncRosterAsync(s, schoolId, ct);
    }

    /// <summary>
    /// After a change that narrows whom someone may reach (a parent link taken back, a pupil moved or no longer a pupil,
    /// staff no longer staff; or, with <paramref name="accountId"/> null, safe mode turned on for the whole school): closes
    /// their direct chats the school's rules no longer allow either way (docs/policies.md).
    /// </summary>
    public Task<IReadOnlyList<MembershipChange>> CloseUnreachableDirectChatsAsync(DbScope s, Guid schoolId, Guid? accountId, CancellationToken ct) =>
        chats.CloseUnreachableDirectChatsAsync(s, schoolId, accountId, ct);

    /// <summary>A pupil new to a class joins its subject chats that hold the whole class (ChatStore.JoinWholeClassSubjectChatsAsync).</summary>
    public Task<IReadOnlyList<MembershipChange>> JoinWholeClassSubjectChatsAsync(DbScope s, Guid schoolId, Guid pupilId, Guid classId, CancellationToken ct) =>
        chats.JoinWholeClassSubjectChatsAsync(s, schoolId, pupilId, classId, ct);

    /// <summary>Applies committed changes to live connections (<see cref="LiveConnections.ApplyMembershipAsync"/>).</summary>
    public Task ApplyAsync(IReadOnlyCollection<MembershipChange> changes) => live.ApplyMembershipAsync(changes);

    /// <summary>
    /// After a committed rename, archiving or restoring of classes: pushes <c>ChatUpdated</c> for each of their chats
    /// (their titles follow the class's name, and they are archived and restored with it). Best effort: the change is
    /// stored, so a failure is logged and the pages see it on their next reload.
    /// </summary>
    public async Task AnnounceClassChatsAsync(Guid schoolId, IReadOnlyCollection<Guid> classIds, CancellationToken ct)
    {
        if (classIds.Count == 0)
        {
            return;
        }

        IReadOnlyList<ChatRow> rows;
        try
        {
            rows = await chats.ListOfClassesAsync(schoolId, classIds, ct);
        }
        catch (Exception e) when (e is DbException or TimeoutException)
        {
            LogAnnounceFailed(logger, e, schoolId);
            return;
        }

        foreach (var row in rows)
        {
            await push.ChatUpdatedAsync(ChatUpdatedDto.From(row));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the chats of changed classes of school {SchoolId}; open pages see them after a reload")]
    private static partial void LogAnnounceFailed(ILogger logger, Exception exception, Guid schoolId);
}
