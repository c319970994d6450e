using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Schools;

/// <summary>What one person is in one school, read from the database for every authorization decision.</summary>
public sealed record SchoolMembership(
    Guid SchoolId,
    string SchoolStatus,
    Guid AccountId,
    bool IsAdmin,
    bool IsTeacher,
    bool IsVerifiedTeacher,
    bool IsDirector,
    Guid? StudentClassId,
    Guid[] ClassTeacherOf,
    Guid[] Children)
{
    public bool IsStaff => IsAdmin || IsTeacher;

    public bool IsStudent => StudentClassId is not null;

    public bool IsParent => Children.Length > 0;

    public bool IsSchoolSuspended => SchoolStatus == "suspended";

    public IReadOnlyList<string> Roles
    {
        get
        {
            var roles = new List<string>(4);
            if (IsAdmin) roles.Add("admin");
            if (IsDirector) roles.Add("director");
            if (IsTeacher) roles.Add("teacher");
            if (ClassTeacherOf.Length > 0) roles.Add("class_teacher");
            if (IsStudent) roles.Add("student");
            if (IsParent) roles.Add("parent");
            return roles;
        }
    }
}

/// <summary>A member as other members of the school see them: no phone, no e-mail.</summary>
public sealed record RosterEntry(
    Guid AccountId,
    string DisplayName,
    string? AvatarUrl,
    bool IsAdmin,
    bool IsTeacher,
    bool IsVerifiedTeacher,
    bool IsDirector,
    Guid? StudentClassId,
    Guid[] ClassTeacherOf,
    Guid[] Children)
{
    /// <summary>The entry as a membership of its school, for the rules of who may reach whom.</summary>
    public SchoolMembership AsMembership(Guid schoolId) =>
        new(schoolId, "", AccountId, IsAdmin, IsTeacher, IsVerifiedTeacher, IsDirector, StudentClassId, ClassTeacherOf, Children);
}

public sealed record MySchool(Guid SchoolId, string Name, string Status, bool IsAdmin, bool IsTeacher, bool IsStudent, bool IsParent, bool IsClassTeacher);

public sealed class MembershipStore(NpgsqlDataSource db)
{
    private const string MembershipSql = """
        SELECT m.school_id, s.status AS school_status, m.account_id, m.is_admin, m.is_teacher,
               m.teacher_verified_at IS NOT NULL AS is_verified_teacher, m.is_director,
               (SELECT st.class_id FROM students st WHERE st.school_id = m.school_id AND st.account_id = m.account_id) AS student_class_id,
               ARRAY(SELECT ct.class_id FROM class_teachers ct WHERE ct.school_id = m.school_id AND ct.account_id = m.account_id) AS class_teacher_of,
               ARRAY(SELECT pl.child_id FROM parent_links pl WHERE pl.school_id = m.school_id AND pl.parent_id = m.account_id) AS children
        FROM school_members m JOIN schools s ON s.id = m.school_id
        JOIN accounts a ON a.id = m.account_id AND a.deleted_at IS NULL
        WHERE m.school_id = @schoolId AND m.account_id = @accountId
        """;

    public async Task<SchoolMembership?> GetAsync(Guid schoolId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<SchoolMembership>(new CommandDefinition(MembershipSql, new { schoolId, accountId }, cancellationToken: ct));
    }

    public async Task<SchoolMembership?> GetAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct)
    {
        return await s.Connection.QuerySingleOrDefaultAsync<SchoolMembership>(new CommandDefinition(MembershipSql, new { schoolId, accountId }, s.Transaction, cancellationToken: ct));
    }

    /// <summary>The schools the account is a member of, as the transaction sees them.</summary>
    public async Task<IReadOnlyList<Guid>> SchoolIdsOfAsync(DbScope s, Guid accountId, CancellationToken ct) =>
        (await s.Connection.QueryAsync<Guid>(new CommandDefinition(
            "SELECT school_id FROM school_members WHERE account_id = @accountId", new { accountId }, s.Transaction, cancellationToken: ct))).AsList();

    public async Task<IReadOnlyList<MySchool>> ListSchoolsOfAsync(Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<MySchool>(new CommandDefinition(
            """
            SELECT s.id AS school_id, s.name, s.status, m.is_admin, m.is_teacher,
                   EXISTS (SELECT 1 FROM students st WHERE st.school_id = m.school_id AND st.account_id = m.account_id) AS is_student,
                   EXISTS (SELECT 1 FROM parent_links pl WHERE pl.school_id = m.school_id AND pl.parent_id = m.account_id) AS is_parent,
                   EXISTS (SELECT 1 FROM class_teachers ct WHERE ct.school_id = m.school_id AND ct.account_id = m.account_id) AS is_class_teacher
            FROM school_members m JOIN schools s ON s.id = m.school_id
            WHERE m.account_id = @accountId ORDER BY s.name
            """,
            new { accountId }, cancellationToken: ct))).AsList();
    }

    /// <summary>The school's members (of one class: its pupils, their parents, its class teachers), or only <paramref name="accountIds"/>.</summary>
    public async Task<IReadOnlyList<RosterEntry>> ListRosterAsync(Guid schoolId, Guid? classId, CancellationToken ct, IReadOnlyCollection<Guid>? accountIds = null)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<RosterEntry>(new CommandDefinition(
            """
            SELECT m.account_id, a.display_name, a.avatar_url, m.is_admin, m.is_teacher,
                   m.teacher_verified_at IS NOT NULL AS is_verified_teacher, m.is_director,
                   st.class_id AS student_class_id,
                   ARRAY(SELECT ct.class_id FROM class_teachers ct WHERE ct.school_id = m.school_id AND ct.account_id = m.account_id) AS class_teacher_of,
                   ARRAY(SELECT pl.child_id FROM parent_links pl WHERE pl.school_id = m.school_id AND pl.parent_id = m.account_id) AS children
            FROM school_members m
            JOIN accounts a ON a.id = m.account_id AND a.deleted_at IS NULL
            LEFT JOIN students st ON st.school_id = m.school_id AND st.account_id = m.account_id
            WHERE m.school_id = @schoolId
              AND (@ids::uuid[] IS NULL OR m.account_id = ANY(@ids))
              AND (@classId::uuid IS NULL
                   OR st.class_id = @classId
                   OR EXISTS (SELECT 1 FROM class_teachers ct WHERE ct.class_id = @classId AND ct.account_id = m.account_id)
                   OR EXISTS (SELECT 1 FROM parent_links pl JOIN students cs ON cs.school_id = pl.school_id AND cs.account_id = pl.child_id
                              WHERE pl.school_id = m.school_id AND pl.parent_id = m.account_id AND cs.class_id = @classId))
            ORDER BY a.display_name
            """,
            new { schoolId, classId, ids = accountIds?.ToArray() }, cancellationToken: ct))).AsList();
    }

    public Task EnsureMemberAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO school_members (school_id, account_id) VALUES (@schoolId, @accountId) ON CONFLICT DO NOTHING",
            new { schoolId, accountId }, s.Transaction, cancellationToken: ct));

    public async Task<int> CountAdminsAsync(DbScope s, Guid schoolId, CancellationToken ct) =>
        await s.Connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT count(*)::int FROM school_members m JOIN accounts a ON a.id = m.account_id AND a.deleted_at IS NULL WHERE m.school_id = @schoolId AND m.is_admin",
            new { schoolId }, s.Transaction, cancellationToken: ct));

    public async Task<bool> SetAdminAsync(DbScope s, Guid schoolId, Guid accountId, bool isAdmin, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE school_members SET is_admin = @isAdmin WHERE school_id = @schoolId AND account_id = @accountId",
            new { schoolId, accountId, isAdmin }, s.Transaction, cancellationToken: ct)) == 1;

    public Task MakeTeacherAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO school_members (school_id, account_id, is_teacher) VALUES (@schoolId, @accountId, true)
            ON CONFLICT (school_id, account_id) DO UPDATE SET is_teacher = true
            """,
            new { schoolId, accountId }, s.Transaction, cancellationToken: ct));

    public async Task<bool> SetTeacherVerifiedAsync(DbScope s, Guid schoolId, Guid accountId, Guid? verifiedBy, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE school_members SET teacher_verified_at = CASE WHEN @verifiedBy::uuid IS NULL THEN NULL ELSE coalesce(teacher_verified_at, now()) END,
                                      teacher_verified_by = @verifiedBy,
                                      is_director = is_director AND @verifiedBy::uuid IS NOT NULL
            WHERE school_id = @schoolId AND account_id = @accountId AND is_teacher
            """,
            new { schoolId, accountId, verifiedBy }, s.Transaction, cancellationToken: ct)) == 1;

    public async Task<bool> SetDirectorAsync(DbScope s, Guid schoolId, Guid accountId, bool isDirector, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE school_members SET is_director = @isDirector WHERE school_id = @schoolId AND account_id = @accountId AND (NOT @isDirector OR teacher_verified_at IS NOT NULL)",
            new { schoolId, accountId, isDirector }, s.Transaction, cancellationToken: ct)) == 1;

    public async Task<bool> AddClassTeacherAsync(DbScope s, Guid schoolId, Guid classId, Guid accountId, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO class_teachers (school_id, class_id, account_id) VALUES (@schoolId, @classId, @accountId) ON CONFLICT DO NOTHING",
            new { schoolId, classId, accountId }, s.Transaction, cancellationToken: ct)) == 1;

    public async Task<bool> RemoveClassTeacherAsync(DbScope s, Guid schoolId, Guid classId, Guid accountId, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM class_teachers WHERE school_id = @schoolId AND class_id = @classId AND account_id = @accountId",
            new { schoolId, classId, accountId }, s.Transaction, cancellationToken: ct)) == 1;

    /// <summary>Enrols a student; false when they already study in a class of this school (one class per school).</summary>
    public async Task<bool> TryEnrolStudentAsync(DbScope s, Guid schoolId, Guid accountId, Guid classId, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO students (school_id, account_id, class_id) VALUES (@schoolId, @accountId, @classId) ON CONFLICT (school_id, account_id) DO NOTHING",
            new { schoolId, accountId, classId }, s.Transaction, cancellationToken: ct)) == 1;

    public async Task<Guid?> GetStudentClassAsync(DbScope s, Guid schoolId, Guid accountId, CancellationToken ct) =>
        await s.Connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(
            "SELECT class_id FROM students WHERE school_id = @schoolId AND account_id = @accountId",
            new { schoolId, accountId }, s.Transaction, cancellationToken: ct));

    public Task LinkParentAsync(DbScope s, Guid schoolId, Guid parentId, Guid childId, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO parent_links (school_id, parent_id, child_id) VALUES (@schoolId, @parentId, @childId) ON CONFLICT DO NOTHING",
            new { schoolId, parentId, childId }, s.Transaction, cancellationToken: ct));
}
