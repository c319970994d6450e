using System.Globalization;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Schools;
using Chat.Hub.Infrastructure;
using Chat.Storage.Audit;
using Chat.Storage.Chats;
using Chat.Storage.Infrastructure;
using Chat.Storage.Lifecycle;
using Chat.Storage.Schools;
using Npgsql;

namespace Chat.Hub.Features.Lifecycle;

public sealed record MoveStudentBody(Guid? ClassId);

public sealed record LeaveBody(string? Reason);

public sealed record RolloverBody(int? FinalGrade);

public sealed record RolloverResult(int Promoted, int Graduated, int PupilsLeft, IReadOnlyList<string> Classes, int SchoolYear);

/// <summary>
/// The school year as it happens: a pupil moves to another class or leaves (with their parents, except from chats a
/// parent still belongs to through another child), a staff member leaves (their chats get a new owner), and the year
/// rolls over. Each action is one transaction, and live connections follow at once.
/// </summary>
public sealed class LifecycleService(
    LifecycleStore lifecycle,
    SchoolAccess access,
    SchoolStore schools,
    MembershipStore memberships,
    RosterSync roster,
    ChatDatabase database,
    AuditLog audit,
    TimeProvider clock)
{
    public async Task MoveStudentAsync(Guid schoolId, Guid accountId, Guid me, MoveStudentBody body, CancellationToken ct)
    {
        var changes = await database.InTransactionAsync(async s =>
        {
            await access.AdminAsync(s, schoolId, me, ct);
            var classId = body.ClassId ?? throw ChatException.Field("classId", "Укажите класс, в который переводится ученик.");
            await access.AdminUnderLockAsync(s, schoolId, me, ct); // one class change of the school at a time: a class is not archived under a move
            var cls = await schools.GetClassAsync(schoolId, classId, ct);
            if (cls is null || cls.Kind == "staff_room" || cls.ArchivedAt is not null)
            {
                throw new ChatException(ChatError.ClassNotFound);
            }

            var from = await memberships.GetStudentClassAsync(s, schoolId, accountId, ct) ?? throw new ChatException(ChatError.MemberNotFound);
            await lifecycle.MoveStudentAsync(s, schoolId, accountId, classId, ct);
            await audit.AppendAsync(s, schoolId, me, "student.moved", accountId, new { from, to = classId }, ct);
            var changes = new List<MembershipChange>();
            if (from != classId)
            {
                // Out of the old class's chats the pupil was added to by hand (its subject chats), with their parents
                // unless another child of theirs is still in that class; the roster sync does the class and parents' chats.
                changes.AddRange(await lifecycle.LeaveClassChatsAsync(s, schoolId, accountId, from, ct));
                foreach (var parent in await lifecycle.ParentsOfAsync(s, schoolId, accountId, ct))
                {
                    changes.AddRange(await lifecycle.LeaveClassChatsAsync(s, schoolId, parent, from, ct));
                }

                // Under safe mode, former classmates no longer reach each other: their direct chats close.
                changes.AddRange(await roster.CloseUnreachableDirectChatsAsync(s, schoolId, accountId, ct));
                // Into the new class's subject chats that hold the whole class, as the classmates are.
                changes.AddRange(await roster.JoinWholeClassSubjectChatsAsync(s, schoolId, accountId, classId, ct));
            }

            changes.AddRange(await roster.SyncAsync(s, schoolId, ct));
            return (IReadOnlyList<MembershipChange>)changes;
        }, ct);
        await roster.ApplyAsync(changes);
    }

    public async Task RemoveStudentAsync(Guid schoolId, Guid accountId, Guid me, LeaveBody body, CancellationToken ct)
    {
        var changes = await database.InTransactionAsync(async s =>
        {
            await access.AdminUnderLockAsync(s, schoolId, me, ct); // the pupil's class read on the way stays theirs: a move waits
            var changes = await StudentLeavesAsync(s, schoolId, accountId, ct);
            await audit.AppendAsync(s, schoolId, me, "student.left", accountId, new { reason = Text.Optional(body.Reason, "reason", 500) }, ct);
            return changes;
        }, ct);
        await roster.ApplyAsync(changes);
    }

    /// <summary>
    /// Takes back a parent link made by mistake (an approver picked the wrong child, a stranger followed a one-child
    /// link): the parent leaves the school if nothing else keeps them in it, else the chats of that child's class (as
    /// when the child leaves). The child stays. Admins only; written to the audit log.
    /// </summary>
    public async Task UnlinkParentAsync(Guid schoolId, Guid childId, Guid parentId, Guid me, LeaveBody body, CancellationToken ct)
    {
        var changes = await database.InTransactionAsync(async s =>
        {
            await access.AdminUnderLockAsync(s, schoolId, me, ct); // the child's class read here stays theirs: a move waits
            var classId = await memberships.GetStudentClassAsync(s, schoolId, childId, ct) ?? throw new ChatException(ChatError.MemberNotFound);
            if (!await lifecycle.UnlinkParentAsync(s, schoolId, parentId, childId, ct))
            {
                throw new ChatException(ChatError.MemberNotFound, detail: "Этот человек не записан родителем этого ученика.");
            }

            var changes = new List<MembershipChange>(await lifecycle.ParentLosesChildAsync(s, schoolId, parentId, classId, ct));
            changes.AddRange(await roster.CloseUnreachableDirectChatsAsync(s, schoolId, parentId, ct)); // the child, if no longer theirs to reach
            changes.AddRange(await roster.SyncAsync(s, schoolId, ct)); // the parents' chat of the child's class, unless another child keeps them there
            await audit.AppendAsync(s, schoolId, me, "parent.unlinked", parentId, new { child = childId, reason = Text.Optional(body.Reason, "reason", 500) }, ct);
            return changes;
        }, ct);
        await roster.ApplyAsync(changes);
    }

    /// <summary>
    /// A parent leaves the school herself (her child moved to another school, or a link made her a parent there by
    /// mistake): her links to its pupils go, and she leaves its chats and the school, her direct chats there closing for
    /// both. Coming back takes a new invite link. Staff and pupils leave through the school's admins — a teacher's chats
    /// need a new owner, a pupil's leaving is the school's record (<c>leave_needs_admin</c>). Not in a suspended school
    /// (kept as it is: <c>school_suspended</c>). Written to the audit log.
    /// </summary>
    public async Task LeaveAsParentAsync(Guid schoolId, Guid me, LeaveBody body, CancellationToken ct)
    {
        var reason = Text.Optional(body.Reason, "reason", 500);
        var changes = await database.InTransactionAsync(async s =>
        {
            // The children's links read here stay as they are: an approval waits. A suspended school is kept as it is.
            var member = await access.MemberUnderLockAsync(s, schoolId, me, ct);
            if (member.IsStaff || member.IsStudent)
            {
                throw new ChatException(ChatError.LeaveNeedsAdmin);
            }

            var children = await lifecycle.UnlinkAllChildrenAsync(s, schoolId, me, ct);
            var changes = await lifecycle.LeaveSchoolAsync(s, schoolId, me, ct);
            await audit.AppendAsync(s, schoolId, me, "parent.left", me, new { children = children.Count, reason }, ct);
            return changes;
        }, ct);
        await roster.ApplyAsync(changes);
    }

    public async Task RemoveStaffAsync(Guid schoolId, Guid accountId, Guid me, LeaveBody body, CancellationToken ct)
    {
        var changes = await database.InTransactionAsync(async s =>
        {
            await access.AdminUnderLockAsync(s, schoolId, me, ct);
            var target = await memberships.GetAsync(s, schoolId, accountId, ct) ?? throw new ChatException(ChatError.MemberNotFound);
            if (!target.IsStaff)
            {
                throw new ChatException(ChatError.NotATeacher);
            }

            if (target.IsAdmin && await memberships.CountAdminsAsync(s, schoolId, ct) <= 1)
            {
                throw new ChatException(ChatError.LastAdmin);
            }

            var changes = await StaffLeavesAsync(s, schoolId, accountId, ct);
            await audit.AppendAsync(s, schoolId, me, "staff.left", accountId, new { reason = Text.Optional(body.Reason, "reason", 500) }, ct);
            return changes;
        }, ct);
        await roster.ApplyAsync(changes);
    }

    /// <summary>
    /// Classes move up a year (5А → 6А), their subject chats of the year that ended archived; classes of the final grade
    /// graduate: archived, and their pupils leave.
    /// </summary>
    public async Task<RolloverResult> RolloverAsync(Guid schoolId, Guid me, RolloverBody body, CancellationToken ct)
    {
        var finalGrade = body.FinalGrade ?? 11;
        if (finalGrade is < 1 or > 12)
        {
            throw ChatException.Field("finalGrade", "Выпускной класс — от 1 до 12.");
        }

        var (result, changes, changedClasses) = await database.InTransactionAsync(async s =>
        {
            await access.AdminUnderLockAsync(s, schoolId, me, ct);
            // The rollover moves the school into one year, once: a second one in the same summer (a double click, a
            // retry after a lost answer) would move every class up again and graduate the next class.
            var target = SchoolYear.RolloverTarget(clock);
            if (await schools.RolledOverToAsync(s, schoolId, ct) >= target)
            {
                throw new ChatException(ChatError.AlreadyRolledOver,
                    detail: $"Школа уже перешла на {SchoolYear.Name(target)} учебный год. Следующий переход — в конце этого учебного года.");
            }

            var changes = new List<MembershipChange>();
            var changedClasses = new List<Guid>(); // archived, or renamed: their chats follow
            var names = new List<string>();
            int promoted = 0, graduated = 0, left = 0;
            // The classes of earlier years move up; classes made for the new year already (next September's first
            // grades, made in August) stay as they are.
            var active = await lifecycle.ActiveClassesAsync(s, schoolId, ct);
            foreach (var cls in active.Where(c => c.SchoolYear < target))
            {
                if (cls.Grade is { } grade && grade >= finalGrade)
                {
                    foreach (var pupil in await lifecycle.StudentsOfAsync(s, cls.Id, ct))
                    {
                        changes.AddRange(await StudentLeavesAsync(s, schoolId, pupil, ct, sync: false));
                        left++;
                    }

                    // Archived as the admin archives a class: its chats with it, its class-wide links revoked.
                    await schools.UpdateClassAsync(s, schoolId, cls.Id, cls.Name, cls.Grade, cls.Letter, archived: true, ct);
                    changedClasses.Add(cls.Id);
                    names.Add($"{cls.Name} → выпуск");
                    graduated++;
                }
                else
                {
                    var name = cls.Grade is { } g ? NextName(cls.Name, g) : cls.Name;
                    if (name.Length > MaxClassNameLength)
                    {
                        // «9…» of 60 characters would become «10…» of 61: nothing of the rollover is kept.
                        throw ChatException.Field("classes",
                            $"«{cls.Name}» не перевести: название «{name}» длиннее {MaxClassNameLength} символов. Сократите название класса и повторите переход.");
                    }

                    int subjectChatsArchived;
                    try
                    {
                        subjectChatsArchived = await lifecycle.PromoteClassAsync(s, cls.Id, name, cls.Grade + 1, target, ct);
                    }
                    catch (PostgresException e) when (s.MarkFailed() || e.SqlState == PostgresErrorCodes.UniqueViolation)
                    {
                        // A class of that name was made for the next year already: nothing of the rollover is kept.
                        throw new ChatException(ChatError.ClassNameTaken,
                            detail: $"«{cls.Name}» не перевести в «{name}»: класс «{name}» на следующий учебный год уже создан. Переименуйте его и повторите переход.");
                    }

                    if (name != cls.Name || subjectChatsArchived > 0)
                    {
                        changedClasses.Add(cls.Id); // renamed, or last year's subject chats archived: their members are told
                    }

                    names.Add($"{cls.Name} → {name}");
                    promoted++;
                }
            }

            await schools.SetRolledOverToAsync(s, schoolId, target, ct);
            changes.AddRange(await roster.SyncAsync(s, schoolId, ct));
            await audit.AppendAsync(s, schoolId, me, "school_year.rolled_over", schoolId, new { finalGrade, schoolYear = target, promoted, graduated, pupilsLeft = left }, ct);
            return (new RolloverResult(promoted, graduated, left, names, target), (IReadOnlyList<MembershipChange>)changes, changedClasses);
        }, ct);
        await roster.ApplyAsync(changes);
        await roster.AnnounceClassChatsAsync(schoolId, changedClasses, ct);
        return result;
    }

    /// <summary>The pupil leaves the school, and so do their parents, unless another child keeps them in it.</summary>
    private async Task<List<MembershipChange>> StudentLeavesAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct, bool sync = true)
    {
        var parents = await lifecycle.ParentsOfAsync(s, schoolId, accountId, ct);
        var classId = await memberships.GetStudentClassAsync(s, schoolId, accountId, ct);
        if (classId is null || !await lifecycle.RemoveStudentAsync(s, schoolId, accountId, ct))
        {
            throw new ChatException(ChatError.MemberNotFound);
        }

        var changes = new List<MembershipChange>();
        if (!await lifecycle.StillBelongsAsync(s, schoolId, accountId, ct))
        {
            changes.AddRange(await lifecycle.LeaveSchoolAsync(s, schoolId, accountId, ct));
        }
        else
        {
            changes.AddRange(await roster.CloseUnreachableDirectChatsAsync(s, schoolId, accountId, ct)); // no longer a classmate
        }

        foreach (var parent in parents)
        {
            changes.AddRange(await lifecycle.ParentLosesChildAsync(s, schoolId, parent, classId.Value, ct));
            changes.AddRange(await roster.CloseUnreachableDirectChatsAsync(s, schoolId, parent, ct));
        }

        if (sync)
        {
            changes.AddRange(await roster.SyncAsync(s, schoolId, ct)); // parents still there lose only the chats of this child's class
        }

        return changes;
    }

    /// <summary>
    /// A member of staff leaves the staff, inside the caller's transaction under the school's lock: the chats they own
    /// are handed over, their staff roles end, and they leave the school — or, still a parent (or pupil) there, every
    /// chat but what that gives them. «Покинул школу», and an admin who is no teacher losing the admin right.
    /// </summary>
    internal async Task<IReadOnlyList<MembershipChange>> StaffLeavesAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct)
    {
        var changes = new List<MembershipChange>(await lifecycle.HandOverOwnedChatsAsync(s, schoolId, accountId, ct));
        await lifecycle.EndStaffRolesAsync(s, schoolId, accountId, ct);
        if (await lifecycle.StillBelongsAsync(s, schoolId, accountId, ct))
        {
            // Still a parent here: out of the staff's chats (the sync), and out of the chats they owned or joined as staff
            // but the groups of their children's classes (as the «Покинул школу» dialog promises), and their direct chats
            // with other families (a parent reaches staff and their own children only) close.
            changes.AddRange(await lifecycle.LeaveSchoolChatsKeepingRosterAsync(s, schoolId, accountId, ct));
            changes.AddRange(await roster.CloseUnreachableDirectChatsAsync(s, schoolId, accountId, ct));
        }
        else
        {
            changes.AddRange(await lifecycle.LeaveSchoolAsync(s, schoolId, accountId, ct));
        }

        changes.AddRange(await roster.SyncAsync(s, schoolId, ct));
        return changes;
    }

    /// <summary>The longest class name (the column's check).</summary>
    public const int MaxClassNameLength = 60;

    /// <summary>«5А» in grade 5 becomes «6А»; a name that does not start with its grade keeps its name.</summary>
    public static string NextName(string name, int grade)
    {
        var prefix = grade.ToString(CultureInfo.InvariantCulture);
        return name.StartsWith(prefix, StringComparison.Ordinal) && (name.Length == prefix.Length || !char.IsAsciiDigit(name[prefix.Length]))
            ? (grade + 1).ToString(CultureInfo.InvariantCulture) + name[prefix.Length..]
            : name;
    }
}
