using Chat.Storage.Chats;
using Chat.Storage.Infrastructure;
using Dapper;

namespace Chat.Storage.Lifecycle;

/// <summary>Roster changes over time: pupils move and leave, staff leave, the school year rolls over.</summary>
public sealed class LifecycleStore
{
    public async Task<bool> MoveStudentAsync(DbScope s, Guid schoolId, Guid accountId, Guid classId, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE students SET class_id = @classId WHERE school_id = @schoolId AND account_id = @accountId",
            new { schoolId, accountId, classId }, s.Transaction, cancellationToken: ct)) == 1;

    /// <summary>The parents of a pupil in this school.</summary>
    public async Task<IReadOnlyList<Guid>> ParentsOfAsync(DbScope s, Guid schoolId, Guid childId, CancellationToken ct) =>
        (await s.Connection.QueryAsync<Guid>(new CommandDefinition(
            "SELECT parent_id FROM parent_links WHERE school_id = @schoolId AND child_id = @childId",
            new { schoolId, childId }, s.Transaction, cancellationToken: ct))).AsList();

    /// <summary>Takes back one parent link (a parent linked to the wrong child); false when there is no such link.</summary>
    public async Task<bool> UnlinkParentAsync(DbScope s, Guid schoolId, Guid parentId, Guid childId, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM parent_links WHERE school_id = @schoolId AND parent_id = @parentId AND child_id = @childId",
            new { schoolId, parentId, childId }, s.Transaction, cancellationToken: ct)) == 1;

    /// <summary>Every link of the parent to a child of the school; returns the children.</summary>
    public async Task<IReadOnlyList<Guid>> UnlinkAllChildrenAsync(DbScope s, Guid schoolId, Guid parentId, CancellationToken ct) =>
        (await s.Connection.QueryAsync<Guid>(new CommandDefinition(
            "DELETE FROM parent_links WHERE school_id = @schoolId AND parent_id = @parentId RETURNING child_id",
            new { schoolId, parentId }, s.Transaction, cancellationToken: ct))).AsList();

    /// <summary>Ends a pupil's enrolment (their parent links go with it).</summary>
    public async Task<bool> RemoveStudentAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM students WHERE school_id = @schoolId AND account_id = @accountId",
            new { schoolId, accountId }, s.Transaction, cancellationToken: ct)) == 1;

    /// <summary>Whether the person still has any reason to be in the school (staff, a pupil, or a parent of a pupil).</summary>
    public async Task<bool> StillBelongsAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct) =>
        await s.Connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            """
            SELECT EXISTS (SELECT 1 FROM school_members WHERE school_id = @schoolId AND account_id = @accountId AND (is_admin OR is_teacher))
                OR EXISTS (SELECT 1 FROM students WHERE school_id = @schoolId AND account_id = @accountId)
                OR EXISTS (SELECT 1 FROM parent_links WHERE school_id = @schoolId AND parent_id = @accountId)
            """,
            new { schoolId, accountId }, s.Transaction, cancellationToken: ct));

    /// <summary>
    /// Takes the person out of every chat of the school and out of the school itself. Their direct chats close for the
    /// other person too, as any direct chat the rules no longer allow does (ChatStore.CloseUnreachableDirectChatsAsync):
    /// left with nobody to read it, a parent's chat with a teacher who left would take messages no one ever reads.
    /// </summary>
    public async Task<IReadOnlyList<MembershipChange>> LeaveSchoolAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct)
    {
        var removed = await s.Connection.QueryAsync<MembershipChange>(new CommandDefinition(
            """
            WITH gone AS (
                DELETE FROM chat_members cm USING chats c
                WHERE cm.chat_id = c.id AND c.school_id = @schoolId AND cm.account_id = @accountId
                RETURNING cm.chat_id, cm.account_id, c.kind),
            peers AS (
                DELETE FROM chat_members p USING gone g
                WHERE g.kind = 'direct' AND p.chat_id = g.chat_id AND p.account_id <> @accountId
                RETURNING p.chat_id, p.account_id)
            SELECT chat_id, account_id, false AS added FROM gone
            UNION ALL SELECT chat_id, account_id, false FROM peers
            """,
            new { schoolId, accountId }, s.Transaction, cancellationToken: ct));
        await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            DELETE FROM class_teachers WHERE school_id = @schoolId AND account_id = @accountId;
            DELETE FROM school_members WHERE school_id = @schoolId AND account_id = @accountId;
            """,
            new { schoolId, accountId }, s.Transaction, cancellationToken: ct));
        return removed.AsList();
    }

    /// <summary>
    /// A member of staff who stays as a parent: out of every hand-managed chat of the school, except the groups of a class
    /// one of their children is in (a trip's chat the class teacher made for the class's parents), where they stay as a
    /// plain member (their ownership was handed over); subject chats go. Roster chats are left to the roster sync.
    /// </summary>
    public async Task<IReadOnlyList<MembershipChange>> LeaveSchoolChatsKeepingRosterAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct)
    {
        const string ChildsClassGroup =
            """
            c.kind = 'group' AND EXISTS (SELECT 1 FROM parent_links pl JOIN students st ON st.school_id = pl.school_id AND st.account_id = pl.child_id
                                         WHERE pl.school_id = @schoolId AND pl.parent_id = @accountId AND st.class_id = c.class_id)
            """;
        // A role change is told as the chat's owner's change of it is: a membership change with added = true.
        var demoted = await s.Connection.QueryAsync<MembershipChange>(new CommandDefinition(
            $"""
            UPDATE chat_members cm SET role = 'member' FROM chats c
            WHERE cm.chat_id = c.id AND c.school_id = @schoolId AND cm.account_id = @accountId AND cm.source = 'manual' AND cm.role <> 'member'
              AND {ChildsClassGroup}
            RETURNING cm.chat_id, cm.account_id, true AS added
            """,
            new { schoolId, accountId }, s.Transaction, cancellationToken: ct));
        var left = await s.Connection.QueryAsync<MembershipChange>(new CommandDefinition(
            $"""
            DELETE FROM chat_members cm USING chats c
            WHERE cm.chat_id = c.id AND c.school_id = @schoolId AND cm.account_id = @accountId AND cm.source = 'manual' AND c.kind <> 'direct'
              AND NOT ({ChildsClassGroup})
            RETURNING cm.chat_id, cm.account_id, false AS added
            """,
            new { schoolId, accountId }, s.Transaction, cancellationToken: ct));
        return [.. demoted, .. left];
    }

    /// <summary>
    /// Takes someone out of the hand-managed chats of a class they no longer have a place in (a subject chat its pupils
    /// were added to, a group the class teacher added the class's parents to): a pupil who moved out of it, a parent whose
    /// child left it — unless another child of theirs is still in the class, they are a pupil of it themselves (a pupil
    /// who followed a classmate's parent link, unlinked), or they are staff of the school. Roster chats are left to the
    /// roster sync.
    /// </summary>
    public async Task<IReadOnlyList<MembershipChange>> LeaveClassChatsAsync(DbScope s, Guid schoolId, Guid accountId, Guid classId, CancellationToken ct) =>
        (await s.Connection.QueryAsync<MembershipChange>(new CommandDefinition(
            """
            DELETE FROM chat_members cm USING chats c
            WHERE cm.chat_id = c.id AND c.school_id = @schoolId AND c.class_id = @classId AND c.system_key IS NULL AND c.kind <> 'direct'
              AND cm.account_id = @accountId AND cm.source = 'manual'
              AND NOT EXISTS (SELECT 1 FROM parent_links pl JOIN students st ON st.school_id = pl.school_id AND st.account_id = pl.child_id
                              WHERE pl.school_id = @schoolId AND pl.parent_id = @accountId AND st.class_id = @classId)
              AND NOT EXISTS (SELECT 1 FROM school_members sm WHERE sm.school_id = @schoolId AND sm.account_id = @accountId AND (sm.is_admin OR sm.is_teacher))
              AND NOT EXISTS (SELECT 1 FROM students st WHERE st.school_id = @schoolId AND st.account_id = @accountId AND st.class_id = @classId)
            RETURNING cm.chat_id, cm.account_id, false AS added
            """,
            new { schoolId, accountId, classId }, s.Transaction, cancellationToken: ct))).AsList();

    /// <summary>
    /// A parent no longer linked to a child of <paramref name="classId"/> (the child left, was deleted, or the link was
    /// taken back): out of the school if nothing else keeps them in it, else out of that class's hand-managed chats
    /// (<see cref="LeaveClassChatsAsync"/>).
    /// </summary>
    public async Task<IReadOnlyList<MembershipChange>> ParentLosesChildAsync(DbScope s, Guid schoolId, Guid parentId, Guid classId, CancellationToken ct) =>
        await StillBelongsAsync(s, schoolId, parentId, ct)
            ? await LeaveClassChatsAsync(s, schoolId, parentId, classId, ct)
            : await LeaveSchoolAsync(s, schoolId, parentId, ct);

    /// <summary>Drops the staff roles (teacher, verification, director, admin, class teacher) of a person.</summary>
    public Task EndStaffRolesAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            """
            DELETE FROM class_teachers WHERE school_id = @schoolId AND account_id = @accountId;
            UPDATE school_members SET is_director = false, teacher_verified_at = NULL, teacher_verified_by = NULL, is_teacher = false, is_admin = false
            WHERE school_id = @schoolId AND account_id = @accountId;
            """,
            new { schoolId, accountId }, s.Transaction, cancellationToken: ct));

    /// <summary>
    /// Hands the school's chats the person owns to a class teacher of the chat's class, else to an admin. Returns the
    /// new owners who were not members of those chats yet, so that their live connections join at once.
    /// </summary>
    public async Task<IReadOnlyList<MembershipChange>> HandOverOwnedChatsAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct)
    {
        var owned = (await s.Connection.QueryAsync<(Guid ChatId, Guid? NewOwner)>(new CommandDefinition(
            """
            SELECT c.id,
                   coalesce(
                     (SELECT ct.account_id FROM class_teachers ct WHERE ct.class_id = c.class_id AND ct.account_id <> @accountId ORDER BY ct.assigned_at LIMIT 1),
                     (SELECT sm.account_id FROM school_members sm JOIN accounts a ON a.id = sm.account_id AND a.deleted_at IS NULL
                      WHERE sm.school_id = @schoolId AND sm.is_admin AND sm.account_id <> @accountId ORDER BY sm.joined_at LIMIT 1))
            FROM chats c JOIN chat_members cm ON cm.chat_id = c.id AND cm.account_id = @accountId AND cm.role = 'owner'
            WHERE c.school_id = @schoolId AND c.system_key IS NULL AND c.kind <> 'direct'
            """,
            new { schoolId, accountId }, s.Transaction, cancellationToken: ct))).AsList();
        var joined = new List<MembershipChange>();
        foreach (var (chatId, newOwner) in owned)
        {
            if (newOwner is not { } owner)
            {
                continue;
            }

            // xmax = 0: the row was inserted (a new member), not updated (a member made owner).
            var inserted = await s.Connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                """
                INSERT INTO chat_members (chat_id, account_id, role, source) VALUES (@chatId, @owner, 'owner', 'manual')
                ON CONFLICT (chat_id, account_id) DO UPDATE SET role = 'owner', source = 'manual'
                RETURNING xmax = 0
                """,
                new { chatId, owner }, s.Transaction, cancellationToken: ct));
            if (inserted)
            {
                joined.Add(new MembershipChange(chatId, owner, Added: true));
            }
        }

        return joined;
    }

    public sealed record RolloverClass(Guid Id, string Name, int? Grade, string? Letter, int SchoolYear);

    public async Task<IReadOnlyList<RolloverClass>> ActiveClassesAsync(DbScope s, Guid schoolId, CancellationToken ct) =>
        (await s.Connection.QueryAsync<RolloverClass>(new CommandDefinition(
            "SELECT id, name, grade, letter, school_year FROM classes WHERE school_id = @schoolId AND kind IN ('class', 'group') AND archived_at IS NULL ORDER BY grade DESC NULLS LAST FOR UPDATE",
            new { schoolId }, s.Transaction, cancellationToken: ct))).AsList();

    public async Task<IReadOnlyList<Guid>> StudentsOfAsync(DbScope s, Guid classId, CancellationToken ct) =>
        (await s.Connection.QueryAsync<Guid>(new CommandDefinition(
            "SELECT account_id FROM students WHERE class_id = @classId", new { classId }, s.Transaction, cancellationToken: ct))).AsList();

    /// <summary>
    /// Moves a class into the new school year and archives its subject chats of the year that ended («Физика 5А»: last
    /// year's teacher, subject and history): their members still read them, nobody writes there, and a pupil new to the
    /// class is not put into them (ChatStore.JoinWholeClassSubjectChatsAsync joins active ones only). Its groups stay.
    /// Returns how many subject chats were archived.
    /// </summary>
    public Task<int> PromoteClassAsync(DbScope s, Guid classId, string name, int? grade, int schoolYear, CancellationToken ct) =>
        s.Connection.ExecuteScalarAsync<int>(new CommandDefinition(
            """
            WITH promoted AS (
                UPDATE classes SET name = @name, grade = @grade, school_year = @schoolYear WHERE id = @classId RETURNING id
            ), archived AS (
                UPDATE chats c SET archived_at = now() FROM promoted p
                WHERE c.class_id = p.id AND c.kind = 'subject' AND c.archived_at IS NULL
                RETURNING c.id
            )
            SELECT count(*)::int FROM archived
            """,
            new { classId, name, grade, schoolYear }, s.Transaction, cancellationToken: ct));
}
