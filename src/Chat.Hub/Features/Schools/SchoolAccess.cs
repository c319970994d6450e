using Chat.Hub.Infrastructure;
using Chat.Storage.Infrastructure;
using Chat.Storage.Schools;

namespace Chat.Hub.Features.Schools;

/// <summary>
/// The one gate into a school: reads the caller's membership from the database. Someone who is not a member gets
/// "school not found", the same answer as for an id that does not exist, so nothing leaks across schools.
/// </summary>
public sealed class SchoolAccess(MembershipStore memberships, SchoolStore schools)
{
    /// <summary>Any member, even of a suspended school (they may see that it is suspended).</summary>
    public async Task<SchoolMembership> MemberAsync(Guid schoolId, Guid accountId, CancellationToken ct) =>
        await memberships.GetAsync(schoolId, accountId, ct) ?? throw new ChatException(ChatError.SchoolNotFound);

    /// <summary>A member of an active school: every action other than looking at the school itself goes through here.</summary>
    public async Task<SchoolMembership> ActiveMemberAsync(Guid schoolId, Guid accountId, CancellationToken ct)
    {
        var member = await MemberAsync(schoolId, accountId, ct);
        return member.IsSchoolSuspended ? throw new ChatException(ChatError.SchoolSuspended) : member;
    }

    public async Task<SchoolMembership> AdminAsync(Guid schoolId, Guid accountId, CancellationToken ct)
    {
        var member = await ActiveMemberAsync(schoolId, accountId, ct);
        return member.IsAdmin ? member : throw new ChatException(ChatError.AdminOnly);
    }

    public async Task<SchoolMembership> StaffAsync(Guid schoolId, Guid accountId, CancellationToken ct)
    {
        var member = await ActiveMemberAsync(schoolId, accountId, ct);
        return member.IsStaff ? member : throw new ChatException(ChatError.Forbidden);
    }

    /// <summary>The same check inside a transaction, for actions that change the roster.</summary>
    public async Task<SchoolMembership> AdminAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct)
    {
        var member = await memberships.GetAsync(s, schoolId, accountId, ct) ?? throw new ChatException(ChatError.SchoolNotFound);
        if (member.IsSchoolSuspended)
        {
            throw new ChatException(ChatError.SchoolSuspended);
        }

        return member.IsAdmin ? member : throw new ChatException(ChatError.AdminOnly);
    }

    /// <summary>
    /// An admin's roster change: checked, then the school's lock taken (the order of the school's roster changes), then
    /// checked again under it. An admin removed by a change that committed while this one waited for the lock changes
    /// nothing (the first check keeps anyone else from taking the lock at all).
    /// </summary>
    public async Task<SchoolMembership> AdminUnderLockAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct)
    {
        await AdminAsync(s, schoolId, accountId, ct);
        var member = await MemberUnderLockAsync(s, schoolId, accountId, ct);
        return member.IsAdmin ? member : throw new ChatException(ChatError.AdminOnly);
    }

    /// <summary>
    /// A member's change of the school's roster (a join decision, a parent leaving): a member of an active school, read
    /// under the school's lock, so that the rights read are the ones in force when the change is written (only a member
    /// takes the lock at all).
    /// </summary>
    public async Task<SchoolMembership> MemberUnderLockAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct)
    {
        _ = await memberships.GetAsync(s, schoolId, accountId, ct) ?? throw new ChatException(ChatError.SchoolNotFound);
        _ = await schools.LockAsync(s, schoolId, ct) ?? throw new ChatException(ChatError.SchoolNotFound);
        var member = await memberships.GetAsync(s, schoolId, accountId, ct) ?? throw new ChatException(ChatError.SchoolNotFound);
        return member.IsSchoolSuspended ? throw new ChatException(ChatError.SchoolSuspended) : member;
    }
}
