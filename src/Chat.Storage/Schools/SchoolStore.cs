using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Schools;

public sealed record School(
    Guid Id,
    string Name,
    string Region,
    string Address,
    string? JournalUrl,
    string Status,
    bool ApproveStudents,
    bool ApproveParents,
    bool ApproveStaff,
    bool PupilSafeMode,
    string DeletedUserMessages,
    DateTime CreatedAt)
{
    public bool IsSuspended => Status == "suspended";
}

public sealed record SchoolClass(
    Guid Id,
    Guid SchoolId,
    string Kind,
    string Name,
    int? Grade,
    string? Letter,
    int SchoolYear,
    DateTime? ArchivedAt);

public sealed class SchoolStore(NpgsqlDataSource db)
{
    private const string SchoolColumns = "id, name, region, address, journal_url, status, approve_students, approve_parents, approve_staff, pupil_safe_mode, deleted_user_messages, created_at";
    private const string ClassColumns = "id, school_id, kind, name, grade, letter, school_year, archived_at";

    /// <summary>Creates the school with its staff room, and remembers who its first admin will be.</summary>
    public async Task<School> CreateAsync(DbScope s, string name, string region, string address, Guid createdBy, string? adminPhone, string? adminEmail, int schoolYear, CancellationToken ct)
    {
        var school = await s.Connection.QuerySingleAsync<School>(new CommandDefinition(
            $"INSERT INTO schools (id, name, region, address, created_by) VALUES (@id, @name, @region, @address, @createdBy) RETURNING {SchoolColumns}",
            new { id = Guid.CreateVersion7(), name, region, address, createdBy }, s.Transaction, cancellationToken: ct));
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO classes (id, school_id, kind, name, school_year) VALUES (@id, @schoolId, 'staff_room', 'Учительская', @schoolYear)",
            new { id = Guid.CreateVersion7(), schoolId = school.Id, schoolYear }, s.Transaction, cancellationToken: ct));
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO pending_admins (school_id, phone, email) VALUES (@schoolId, @adminPhone, @adminEmail)",
            new { schoolId = school.Id, adminPhone, adminEmail }, s.Transaction, cancellationToken: ct));
        return school;
    }

    /// <summary>Makes the account an admin of every school that named its phone or e-mail as first admin.</summary>
    public async Task<IReadOnlyList<Guid>> ClaimPendingAdminAsync(DbScope s, Guid accountId, string? phone, string? email, CancellationToken ct)
    {
        var schools = (await s.Connection.QueryAsync<Guid>(new CommandDefinition(
            """
            DELETE FROM pending_admins
            WHERE (@phone::text IS NOT NULL AND phone = @phone) OR (@email::text IS NOT NULL AND email = @email)
            RETURNING school_id
            """,
            new { phone, email }, s.Transaction, cancellationToken: ct))).Distinct().ToList();
        foreach (var schoolId in schools)
        {
            await s.Connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO school_members (school_id, account_id, is_admin) VALUES (@schoolId, @accountId, true)
                ON CONFLICT (school_id, account_id) DO UPDATE SET is_admin = true
                """,
                new { schoolId, accountId }, s.Transaction, cancellationToken: ct));
        }

        return schools;
    }

    /// <summary>The school year the school moved into at its last rollover; null before its first.</summary>
    public Task<int?> RolledOverToAsync(DbScope s, Guid schoolId, CancellationToken ct) =>
        s.Connection.ExecuteScalarAsync<int?>(new CommandDefinition(
            "SELECT rolled_over_to FROM schools WHERE id = @schoolId", new { schoolId }, s.Transaction, cancellationToken: ct));

    public Task SetRolledOverToAsync(DbScope s, Guid schoolId, int schoolYear, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE schools SET rolled_over_to = @schoolYear WHERE id = @schoolId", new { schoolId, schoolYear }, s.Transaction, cancellationToken: ct));

    public async Task<School?> GetAsync(Guid id, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<School>(new CommandDefinition(
            $"SELECT {SchoolColumns} FROM schools WHERE id = @id", new { id }, cancellationToken: ct));
    }

    /// <summary>
    /// The school, its row locked for share for the rest of the transaction: a change of its roster, roles, links or
    /// settings (which lock it with <see cref="LockAsync"/>) waits for this transaction, or this one for it.
    /// </summary>
    public async Task<School?> ShareLockAsync(DbScope s, Guid id, CancellationToken ct)
    {
        return await s.Connection.QuerySingleOrDefaultAsync<School>(new CommandDefinition(
            $"SELECT {SchoolColumns} FROM schools WHERE id = @id FOR SHARE", new { id }, s.Transaction, cancellationToken: ct));
    }

    /// <summary>Locks the school row: admin changes and roster changes of one school go one at a time.</summary>
    public async Task<School?> LockAsync(DbScope s, Guid id, CancellationToken ct)
    {
        return await s.Connection.QuerySingleOrDefaultAsync<School>(new CommandDefinition(
            $"SELECT {SchoolColumns} FROM schools WHERE id = @id FOR UPDATE", new { id }, s.Transaction, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<School>> ListAsync(CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<School>(new CommandDefinition(
            $"SELECT {SchoolColumns} FROM schools ORDER BY name", cancellationToken: ct))).AsList();
    }

    public async Task<School?> UpdateInfoAsync(DbScope s, Guid id, string name, string region, string address, string? journalUrl, bool approveStudents, bool approveParents, bool approveStaff, bool pupilSafeMode, string deletedUserMessages, CancellationToken ct)
    {
        return await s.Connection.QuerySingleOrDefaultAsync<School>(new CommandDefinition(
            $"""
            UPDATE schools SET name = @name, region = @region, address = @address, journal_url = @journalUrl,
                approve_students = @approveStudents, approve_parents = @approveParents, approve_staff = @approveStaff,
                pupil_safe_mode = @pupilSafeMode, deleted_user_messages = @deletedUserMessages
            WHERE id = @id RETURNING {SchoolColumns}
            """,
            new { id, name, region, address, journalUrl, approveStudents, approveParents, approveStaff, pupilSafeMode, deletedUserMessages }, s.Transaction, cancellationToken: ct));
    }

    public async Task<School?> SetStatusAsync(DbScope s, Guid id, string status, CancellationToken ct)
    {
        return await s.Connection.QuerySingleOrDefaultAsync<School>(new CommandDefinition(
            $"UPDATE schools SET status = @status WHERE id = @id RETURNING {SchoolColumns}", new { id, status }, s.Transaction, cancellationToken: ct));
    }

    public async Task<SchoolClass> CreateClassAsync(DbScope s, Guid schoolId, string kind, string name, int? grade, string? letter, int schoolYear, CancellationToken ct)
    {
        return await s.Connection.QuerySingleAsync<SchoolClass>(new CommandDefinition(
            $"INSERT INTO classes (id, school_id, kind, name, grade, letter, school_year) VALUES (@id, @schoolId, @kind, @name, @grade, @letter, @schoolYear) RETURNING {ClassColumns}",
            new { id = Guid.CreateVersion7(), schoolId, kind, name, grade, letter, schoolYear }, s.Transaction, cancellationToken: ct));
    }

    public async Task<SchoolClass?> GetClassAsync(Guid schoolId, Guid classId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<SchoolClass>(new CommandDefinition(
            $"SELECT {ClassColumns} FROM classes WHERE school_id = @schoolId AND id = @classId", new { schoolId, classId }, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<SchoolClass>> ListClassesAsync(Guid schoolId, bool includeArchived, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<SchoolClass>(new CommandDefinition(
            $"SELECT {ClassColumns} FROM classes WHERE school_id = @schoolId AND (@includeArchived OR archived_at IS NULL) ORDER BY kind = 'staff_room' DESC, grade NULLS LAST, name",
            new { schoolId, includeArchived }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Renames, regrades or archives a class. Its chats (the class's and the parents') are archived with it and come
    /// back with it: archived chats keep their history readable to their members and take no new messages. Chats that
    /// were archived at another time (before the class) stay as they are on a return.
    /// </summary>
    public async Task<SchoolClass?> UpdateClassAsync(DbScope s, Guid schoolId, Guid classId, string name, int? grade, string? letter, bool archived, CancellationToken ct)
    {
        return await s.Connection.QuerySingleOrDefaultAsync<SchoolClass>(new CommandDefinition(
            $"""
            WITH before AS (
                SELECT archived_at FROM classes WHERE school_id = @schoolId AND id = @classId
            ), updated AS (
                UPDATE classes SET name = @name, grade = @grade, letter = @letter,
                    archived_at = CASE WHEN @archived THEN coalesce(archived_at, now()) ELSE NULL END
                WHERE school_id = @schoolId AND id = @classId RETURNING *
            ), chats_archived AS (
                UPDATE chats c SET archived_at = u.archived_at
                FROM updated u, before b
                WHERE c.class_id = u.id AND u.archived_at IS NOT NULL AND b.archived_at IS NULL AND c.archived_at IS NULL
            ), links_revoked AS (
                -- A class-wide pupil or parent link of a class gone to the archive leads nowhere: it is revoked (a
                -- one-child link follows its child to their class now and stays).
                UPDATE invites i SET revoked_at = now()
                FROM updated u, before b
                WHERE i.class_id = u.id AND u.archived_at IS NOT NULL AND b.archived_at IS NULL
                  AND i.child_id IS NULL AND i.role IN ('student', 'parent') AND i.revoked_at IS NULL
            ), chats_back AS (
                UPDATE chats c SET archived_at = NULL
                FROM updated u, before b
                WHERE c.class_id = u.id AND u.archived_at IS NULL AND b.archived_at IS NOT NULL AND c.archived_at = b.archived_at
            )
            SELECT {ClassColumns} FROM updated
            """,
            new { schoolId, classId, name, grade, letter, archived }, s.Transaction, cancellationToken: ct));
    }

    /// <summary>How many pupils are in the class now.</summary>
    public async Task<int> CountStudentsAsync(DbScope s, Guid classId, CancellationToken ct) =>
        await s.Connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT count(*)::int FROM students WHERE class_id = @classId", new { classId }, s.Transaction, cancellationToken: ct));
}
