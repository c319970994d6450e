using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Invites;

public sealed record InviteLink(
    Guid Id,
    Guid SchoolId,
    string Token,
    string Role,
    Guid? ClassId,
    Guid? ChildId,
    Guid CreatedBy,
    DateTime CreatedAt,
    DateTime? ExpiresAt,
    int? MaxUses,
    int Uses,
    DateTime? RevokedAt,
    Guid? ChatId)
{
    public bool IsUsedUp => MaxUses is { } max && Uses >= max;

    public bool IsExpired(DateTime now) => ExpiresAt is { } at && at <= now;
}

public sealed record JoinRequest(
    Guid Id,
    Guid SchoolId,
    Guid InviteId,
    Guid AccountId,
    string DisplayName,
    string Role,
    Guid? ClassId,
    Guid? ChildId,
    string? ChildName,
    string Status,
    string? Reason,
    Guid? DecidedBy,
    DateTime? DecidedAt,
    DateTime CreatedAt);

/// <summary>Where a request of mine is: its school's and class's names (I may not be a member to read them otherwise).</summary>
public sealed record RequestPlace(string SchoolName, string? ClassName);

public sealed class InviteStore(NpgsqlDataSource db)
{
    private const string Columns = "id, school_id, token, role, class_id, child_id, created_by, created_at, expires_at, max_uses, uses, revoked_at, chat_id";
    private const string RequestColumns = "r.id, r.school_id, r.invite_id, r.account_id, a.display_name, r.role, r.class_id, r.child_id, r.child_name, r.status, r.reason, r.decided_by, r.decided_at, r.created_at";

    public async Task<InviteLink> CreateAsync(DbScope s, Guid schoolId, string token, string role, Guid? classId, Guid? childId, Guid createdBy, DateTime? expiresAt, int? maxUses, CancellationToken ct, Guid? chatId = null)
    {
        return await s.Connection.QuerySingleAsync<InviteLink>(new CommandDefinition(
            $"""
            INSERT INTO invites (id, school_id, token, role, class_id, child_id, created_by, expires_at, max_uses, chat_id)
            VALUES (@id, @schoolId, @token, @role, @classId, @childId, @createdBy, @expiresAt, @maxUses, @chatId) RETURNING {Columns}
            """,
            new { id = Guid.CreateVersion7(), schoolId, token, role, classId, childId, createdBy, expiresAt, maxUses, chatId }, s.Transaction, cancellationToken: ct));
    }

    public async Task<InviteLink?> GetByTokenAsync(string token, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<InviteLink>(new CommandDefinition(
            $"SELECT {Columns} FROM invites WHERE token = @token", new { token }, cancellationToken: ct));
    }

    /// <summary>Reads and locks the link, so that its use count cannot be overrun by parallel joins.</summary>
    public async Task<InviteLink?> LockByTokenAsync(DbScope s, string token, CancellationToken ct)
    {
        return await s.Connection.QuerySingleOrDefaultAsync<InviteLink>(new CommandDefinition(
            $"SELECT {Columns} FROM invites WHERE token = @token FOR UPDATE", new { token }, s.Transaction, cancellationToken: ct));
    }

    public Task CountUseAsync(DbScope s, Guid id, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition("UPDATE invites SET uses = uses + 1 WHERE id = @id", new { id }, s.Transaction, cancellationToken: ct));

    public async Task<InviteLink?> GetAsync(Guid schoolId, Guid id, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<InviteLink>(new CommandDefinition(
            $"SELECT {Columns} FROM invites WHERE school_id = @schoolId AND id = @id", new { schoolId, id }, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<InviteLink>> ListForChatAsync(Guid chatId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<InviteLink>(new CommandDefinition(
            $"SELECT {Columns} FROM invites WHERE chat_id = @chatId ORDER BY created_at DESC", new { chatId }, cancellationToken: ct))).AsList();
    }

    public async Task<IReadOnlyList<InviteLink>> ListAsync(Guid schoolId, Guid? classId, Guid? createdBy, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<InviteLink>(new CommandDefinition(
            $"""
            SELECT {Columns} FROM invites
            WHERE school_id = @schoolId AND (@classId::uuid IS NULL OR class_id = @classId) AND (@createdBy::uuid IS NULL OR created_by = @createdBy)
            ORDER BY created_at DESC
            """,
            new { schoolId, classId, createdBy }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Revokes the school's usable links whose maker may no longer make them (InviteService.CanManage): a class
    /// teacher's pupil and parent links once they are no longer that class's teacher (detached, unverified, gone from
    /// the school), any link of someone no longer an admin who could make it only as one. A link works on the maker's
    /// authority; passed on after that ends, it would let people into a class nobody there vouches for. Each is written
    /// to the audit log (no actor: the roster did it). Returns how many.
    /// </summary>
    public async Task<int> RevokeOrphanedAsync(DbScope s, Guid schoolId, CancellationToken ct) =>
        await s.Connection.ExecuteScalarAsync<int>(new CommandDefinition(
            """
            WITH gone AS (
                UPDATE invites i SET revoked_at = now()
                WHERE i.school_id = @schoolId AND i.role <> 'chat' AND i.revoked_at IS NULL
                  AND (i.expires_at IS NULL OR i.expires_at > now()) AND (i.max_uses IS NULL OR i.uses < i.max_uses)
                  AND NOT EXISTS (SELECT 1 FROM school_members m WHERE m.school_id = i.school_id AND m.account_id = i.created_by AND m.is_admin)
                  AND NOT (i.role IN ('student', 'parent')
                           AND EXISTS (SELECT 1 FROM class_teachers ct WHERE ct.school_id = i.school_id AND ct.account_id = i.created_by
                                       -- a one-child link follows its child: it is the class the child is in now that counts
                                       AND ct.class_id = coalesce((SELECT st.class_id FROM students st WHERE st.school_id = i.school_id AND st.account_id = i.child_id), i.class_id)))
                RETURNING i.id, i.created_by, i.role, i.class_id),
            noted AS (
                INSERT INTO audit_events (school_id, actor_id, action, subject_id, details)
                SELECT @schoolId, NULL, 'invite.revoked_by_roster', g.id, jsonb_build_object('maker', g.created_by, 'role', g.role, 'classId', g.class_id)
                FROM gone g)
            SELECT count(*)::int FROM gone
            """,
            new { schoolId }, s.Transaction, cancellationToken: ct));

    /// <summary>
    /// Revokes the link if it is not revoked yet and returns it; null when it already was (or does not exist), so that
    /// only the request that revokes it writes the audit entry.
    /// </summary>
    public async Task<InviteLink?> RevokeAsync(DbScope s, Guid schoolId, Guid id, Guid revokedBy, CancellationToken ct)
    {
        return await s.Connection.QuerySingleOrDefaultAsync<InviteLink>(new CommandDefinition(
            $"UPDATE invites SET revoked_at = now(), revoked_by = @revokedBy WHERE school_id = @schoolId AND id = @id AND revoked_at IS NULL RETURNING {Columns}",
            new { schoolId, id, revokedBy }, s.Transaction, cancellationToken: ct));
    }

    /// <summary>
    /// Revokes every link of the school (or of one class) that nobody has used yet. A chat's links are not the school's
    /// (its staff owners and moderators manage them in the chat): they are left alone.
    /// </summary>
    public async Task<int> RevokeUnusedAsync(DbScope s, Guid schoolId, Guid? classId, Guid revokedBy, CancellationToken ct)
    {
        return await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE invites SET revoked_at = now(), revoked_by = @revokedBy
            WHERE school_id = @schoolId AND (@classId::uuid IS NULL OR class_id = @classId) AND uses = 0 AND revoked_at IS NULL
              AND role <> 'chat'
            """,
            new { schoolId, classId, revokedBy }, s.Transaction, cancellationToken: ct));
    }

    public async Task<JoinRequest> CreateRequestAsync(DbScope s, Guid schoolId, Guid inviteId, Guid accountId, string role, Guid? classId, Guid? childId, string? childName, CancellationToken ct)
    {
        var id = await s.Connection.ExecuteScalarAsync<Guid>(new CommandDefinition(
            """
            INSERT INTO join_requests (id, school_id, invite_id, account_id, role, class_id, child_id, child_name)
            VALUES (@id, @schoolId, @inviteId, @accountId, @role, @classId, @childId, @childName)
            ON CONFLICT (school_id, account_id, role, coalesce(class_id, '00000000-0000-0000-0000-000000000000'::uuid),
                         coalesce(child_id, '00000000-0000-0000-0000-000000000000'::uuid)) WHERE status = 'pending'
            DO UPDATE SET child_name = excluded.child_name
            RETURNING id
            """,
            new { id = Guid.CreateVersion7(), schoolId, inviteId, accountId, role, classId, childId, childName }, s.Transaction, cancellationToken: ct));
        return (await GetRequestAsync(s, schoolId, id, ct))!;
    }

    public async Task<JoinRequest?> GetRequestAsync(DbScope s, Guid schoolId, Guid id, CancellationToken ct)
    {
        return await s.Connection.QuerySingleOrDefaultAsync<JoinRequest>(new CommandDefinition(
            $"SELECT {RequestColumns} FROM join_requests r JOIN accounts a ON a.id = r.account_id WHERE r.school_id = @schoolId AND r.id = @id FOR UPDATE OF r",
            new { schoolId, id }, s.Transaction, cancellationToken: ct));
    }

    /// <summary>
    /// The class whose class teacher decides a request (<c>r</c>): a pending one through a one-child link follows its
    /// child to the class they are in now; any other, the class of its link.
    /// </summary>
    private const string DecidingClassSql =
        "coalesce(CASE WHEN r.status = 'pending' THEN (SELECT st.class_id FROM students st WHERE st.school_id = r.school_id AND st.account_id = r.child_id) END, r.class_id)";

    /// <summary>The class whose class teacher decides the request (<see cref="DecidingClassSql"/>).</summary>
    public Task<Guid?> DecidingClassAsync(DbScope s, Guid requestId, CancellationToken ct) =>
        s.Connection.QuerySingleOrDefaultAsync<Guid?>(new CommandDefinition(
            $"SELECT {DecidingClassSql} FROM join_requests r WHERE r.id = @requestId", new { requestId }, s.Transaction, cancellationToken: ct));

    /// <summary>Who may decide the request: the school's admins, and (not for a teacher's) the class teachers of its deciding class.</summary>
    public async Task<IReadOnlyList<Guid>> DecidersAsync(Guid schoolId, Guid requestId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<Guid>(new CommandDefinition(
            $"""
            SELECT sm.account_id FROM school_members sm WHERE sm.school_id = @schoolId AND sm.is_admin
            UNION
            SELECT ct.account_id FROM join_requests r JOIN class_teachers ct ON ct.class_id = {DecidingClassSql}
            WHERE r.id = @requestId AND r.school_id = @schoolId AND r.role <> 'teacher'
            """,
            new { schoolId, requestId }, cancellationToken: ct))).AsList();
    }

    public async Task<IReadOnlyList<JoinRequest>> ListRequestsAsync(Guid schoolId, string? status, Guid[]? classIds, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<JoinRequest>(new CommandDefinition(
            $"""
            SELECT {RequestColumns} FROM join_requests r JOIN accounts a ON a.id = r.account_id
            WHERE r.school_id = @schoolId AND (@status::text IS NULL OR r.status = @status)
              AND (@classIds::uuid[] IS NULL OR {DecidingClassSql} = ANY(@classIds))
            ORDER BY r.created_at
            """,
            new { schoolId, status, classIds }, cancellationToken: ct))).AsList();
    }

    /// <summary>The person's own requests, newest first, with the names of their school and class (they may not be a member).</summary>
    public async Task<IReadOnlyList<(JoinRequest Request, RequestPlace Place)>> ListRequestsOfAccountAsync(Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<JoinRequest, RequestPlace, (JoinRequest, RequestPlace)>(new CommandDefinition(
            $"""
            SELECT {RequestColumns}, s.name AS school_name, cl.name AS class_name
            FROM join_requests r JOIN accounts a ON a.id = r.account_id JOIN schools s ON s.id = r.school_id
            LEFT JOIN classes cl ON cl.id = r.class_id
            WHERE r.account_id = @accountId ORDER BY r.created_at DESC
            """,
            new { accountId }, cancellationToken: ct), (r, p) => (r, p), splitOn: "school_name")).AsList();
    }

    /// <summary>Whether the request's person has deleted their account (a request left waiting by an older deletion).</summary>
    public Task<bool> RequesterDeletedAsync(DbScope s, Guid requestId, CancellationToken ct) =>
        s.Connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT a.deleted_at IS NOT NULL FROM join_requests r JOIN accounts a ON a.id = r.account_id WHERE r.id = @requestId",
            new { requestId }, s.Transaction, cancellationToken: ct));

    /// <summary>
    /// An account being deleted: its waiting requests are declined with <paramref name="reason"/> (nobody is left to take
    /// in), and the child's name it typed is erased from all of its requests. Returns the schools of the declined requests
    /// with who could decide each while it waited (read before the decline: a one-child link's request follows its child).
    /// </summary>
    public async Task<IReadOnlyList<(Guid SchoolId, Guid DeciderId)>> DeclineRequestsOfDeletedAsync(DbScope s, Guid accountId, string reason, CancellationToken ct)
    {
        var deciders = (await s.Connection.QueryAsync<(Guid, Guid)>(new CommandDefinition(
            $"""
            SELECT r.school_id, sm.account_id FROM join_requests r JOIN school_members sm ON sm.school_id = r.school_id AND sm.is_admin
            WHERE r.account_id = @accountId AND r.status = 'pending'
            UNION
            SELECT r.school_id, ct.account_id FROM join_requests r JOIN class_teachers ct ON ct.class_id = {DecidingClassSql}
            WHERE r.account_id = @accountId AND r.status = 'pending' AND r.role <> 'teacher'
            """,
            new { accountId }, s.Transaction, cancellationToken: ct))).AsList();
        var schoolsDeclined = (await s.Connection.QueryAsync<Guid>(new CommandDefinition(
            """
            UPDATE join_requests SET status = 'rejected', reason = @reason, decided_at = now()
            WHERE account_id = @accountId AND status = 'pending'
            RETURNING school_id
            """,
            new { accountId, reason }, s.Transaction, cancellationToken: ct))).ToHashSet();
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE join_requests SET child_name = NULL WHERE account_id = @accountId AND child_name IS NOT NULL",
            new { accountId }, s.Transaction, cancellationToken: ct));
        return deciders.Where(d => schoolsDeclined.Contains(d.Item1)).ToList();
    }

    public Task DecideRequestAsync(DbScope s, Guid id, string status, string? reason, Guid decidedBy, Guid? childId, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE join_requests SET status = @status, reason = @reason, decided_by = @decidedBy, decided_at = now(), child_id = coalesce(@childId, child_id) WHERE id = @id",
            new { id, status, reason, decidedBy, childId }, s.Transaction, cancellationToken: ct));
}
