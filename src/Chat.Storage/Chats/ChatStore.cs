using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Chats;

public sealed record ChatRow(
    Guid Id,
    Guid SchoolId,
    string Kind,
    string? SystemKey,
    Guid? ClassId,
    string Title,
    string? AvatarUrl,
    string Rules,
    int RulesVersion,
    bool ReadOnly,
    int SlowModeSeconds,
    DateTime CreatedAt,
    DateTime? ArchivedAt,
    long LastSeq,
    DateTime? LastMessageAt);

/// <summary>A chat as one member sees it: their role, read position and counters.</summary>
public sealed record MyChatRow(
    Guid Id,
    Guid SchoolId,
    string Kind,
    Guid? ClassId,
    string Title,
    string? AvatarUrl,
    bool ReadOnly,
    int SlowModeSeconds,
    long LastSeq,
    DateTime? LastMessageAt,
    string Role,
    long ReadSeq,
    bool Pinned,
    DateTime? MutedUntil,
    int RulesVersion,
    int? RulesAcceptedVersion,
    int UnreadCount,
    int MentionCount,
    int MemberCount,
    Guid? PeerId,
    string? PeerName,
    bool Archived,
    Guid? LiveCallId = null,
    string? LiveCallKind = null,
    bool RosterKept = false);

public sealed record ChatMemberRow(Guid AccountId, string DisplayName, string? AvatarUrl, string Role, long ReadSeq, bool VerifiedTeacher, DateTime JoinedAt);

/// <summary>A change of who is in which chat, so that live connections can follow it on every node.</summary>
public sealed record MembershipChange(Guid ChatId, Guid AccountId, bool Added);

public sealed class ChatStore(NpgsqlDataSource db)
{
    private const string Columns = "id, school_id, kind, system_key, class_id, title, avatar_url, rules, rules_version, read_only, slow_mode_seconds, created_at, archived_at, last_seq, last_message_at";

    public async Task<ChatRow?> GetAsync(Guid chatId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<ChatRow>(new CommandDefinition($"SELECT {Columns} FROM chats WHERE id = @chatId", new { chatId }, cancellationToken: ct));
    }

    /// <summary>The chats of these classes (the class's, the parents', subject chats made for it), never direct ones.</summary>
    public async Task<IReadOnlyList<ChatRow>> ListOfClassesAsync(Guid schoolId, IReadOnlyCollection<Guid> classIds, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<ChatRow>(new CommandDefinition(
            $"SELECT {Columns} FROM chats WHERE school_id = @schoolId AND class_id = ANY(@classIds) AND kind <> 'direct'",
            new { schoolId, classIds = classIds.ToArray() }, cancellationToken: ct))).AsList();
    }

    /// <summary>The member's view of one chat, or null when they are not in it (or the chat does not exist, or its school is suspended).</summary>
    public async Task<MyChatRow?> GetForMemberAsync(Guid chatId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<MyChatRow>(new CommandDefinition(
            MyChatsSql + " AND c.id = @chatId", new { accountId, chatId, schoolId = (Guid?)null, activeOnly = true }, cancellationToken: ct));
    }

    /// <summary>
    /// The person's chats (of one school, if given), pinned first, then by activity. A suspended school's chats are left
    /// out (its chats are not read while it is suspended), unless <paramref name="withSuspended"/> (the person's own
    /// data export lists everything stored).
    /// </summary>
    public async Task<IReadOnlyList<MyChatRow>> ListForMemberAsync(Guid accountId, Guid? schoolId, CancellationToken ct, bool withSuspended = false)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<MyChatRow>(new CommandDefinition(
            MyChatsSql + " ORDER BY m.pinned DESC, coalesce(c.last_message_at, c.created_at) DESC",
            new { accountId, schoolId, chatId = (Guid?)null, activeOnly = !withSuspended }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// A school admin's view of a chat they moderate through an open case without being a member: the chat's own
    /// figures, as a moderator with nothing unread (no read position of theirs), no pin or mute, the rules not asked.
    /// </summary>
    public async Task<MyChatRow?> GetForCaseAsync(Guid chatId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<MyChatRow>(new CommandDefinition(
            MyChatsColumns + CaseViewerSql + MyChatsJoins + " WHERE c.id = @chatId", new { accountId, chatId }, cancellationToken: ct));
    }

    /// <summary>The end of the person's open moderation case on the chat (null: none, or no longer the school's admin).</summary>
    public async Task<DateTime?> OpenCaseUntilAsync(Guid chatId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<DateTime?>(new CommandDefinition("SELECT max(mc.closes_at) " + OpenCasesSql, new { chatId, accountId }, cancellationToken: ct));
    }

    private const string CaseViewerSql = """
        FROM (SELECT id AS chat_id, @accountId AS account_id, 'moderator' AS role, last_seq AS read_seq, false AS pinned,
                     NULL::timestamptz AS muted_until, rules_version AS rules_accepted_version FROM chats WHERE id = @chatId) m
        """;

    private const string MyChatsSql = MyChatsColumns + " FROM chat_members m" + MyChatsJoins + """
         WHERE m.account_id = @accountId AND (@schoolId::uuid IS NULL OR c.school_id = @schoolId) AND (@chatId::uuid IS NULL OR c.id = @chatId)
           AND (NOT @activeOnly OR EXISTS (SELECT 1 FROM schools sc WHERE sc.id = c.school_id AND sc.status = 'active'))
        """;

    private const string MyChatsColumns = """
        SELECT c.id, c.school_id, c.kind, c.class_id, c.title, c.avatar_url, c.read_only, c.slow_mode_seconds, c.last_seq, c.last_message_at,
               m.role, m.read_seq, m.pinned, m.muted_until, c.rules_version, m.rules_accepted_version,
               (SELECT count(*)::int FROM (SELECT 1 FROM messages x WHERE x.chat_id = c.id AND x.seq > m.read_seq AND x.sender_id IS DISTINCT FROM m.account_id AND x.deleted_at IS NULL LIMIT 1000) u) AS unread_count,
               (SELECT count(*)::int FROM messages x WHERE x.chat_id = c.id AND x.seq > m.read_seq AND m.account_id = ANY(x.mentions) AND x.deleted_at IS NULL) AS mention_count,
               (SELECT count(*)::int FROM chat_members cm WHERE cm.chat_id = c.id) AS member_count,
               peer.account_id AS peer_id, peer.display_name AS peer_name, c.archived_at IS NOT NULL AS archived,
               live.id AS live_call_id, live.kind AS live_call_kind, c.system_key IS NOT NULL AS roster_kept

        """;

    private const string MyChatsJoins = """

        JOIN chats c ON c.id = m.chat_id
        JOIN schools s ON s.id = c.school_id
        LEFT JOIN LATERAL (
            SELECT o.account_id, a.display_name FROM chat_members o JOIN accounts a ON a.id = o.account_id
            WHERE c.kind = 'direct' AND o.chat_id = c.id AND o.account_id <> m.account_id LIMIT 1) peer ON true
        -- The chat's live call (at most one: calls_live_per_chat), as the list marks it; not for a member blocked there,
        -- who may not join it (GetChatCall refuses them too).
        LEFT JOIN LATERAL (
            SELECT k.id, CASE WHEN k.kind = 'broadcast' THEN 'broadcast' WHEN k.lesson_mode THEN 'lesson' ELSE 'call' END AS kind
            FROM calls k WHERE k.chat_id = c.id AND k.ended_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM chat_restrictions x WHERE x.chat_id = c.id AND x.account_id = m.account_id
                              AND x.kind = 'block' AND x.lifted_at IS NULL AND x.ends_at > now())) live ON true
        """;

    public async Task<IReadOnlyList<Guid>> ChatIdsOfAsync(Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<Guid>(new CommandDefinition(
            "SELECT chat_id FROM chat_members WHERE account_id = @accountId", new { accountId }, cancellationToken: ct))).AsList();
    }

    /// <summary>Those of the given people who share at least one chat with the account (presence is answered for them).</summary>
    public async Task<IReadOnlyList<Guid>> ContactsAmongAsync(Guid accountId, Guid[] candidates, CancellationToken ct)
    {
        // A pupil of a school in safe mode counts only for those who may reach them there (DirectChatPolicy.MayReachPupil:
        // the school's staff, classmates, the pupil's own parents): sharing the school channel is not enough. Nor is it
        // for adults: two readers of a channel do not see each other there.
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<Guid>(new CommandDefinition(
            """
            SELECT DISTINCT o.account_id FROM chat_members mine JOIN chat_members o ON o.chat_id = mine.chat_id
            JOIN chats ch ON ch.id = mine.chat_id JOIN schools s ON s.id = ch.school_id
            LEFT JOIN students pupil ON pupil.school_id = ch.school_id AND pupil.account_id = o.account_id
            WHERE mine.account_id = @accountId AND o.account_id = ANY(@candidates) AND o.account_id <> @accountId
              -- A channel's readers are not shown to each other: reading the same channel makes nobody a contact (a
              -- reader and its writers are).
              AND (NOT ch.read_only OR mine.role <> 'member' OR o.role <> 'member')
              AND (pupil.account_id IS NULL OR NOT s.pupil_safe_mode
                   OR EXISTS (SELECT 1 FROM school_members staff WHERE staff.school_id = ch.school_id AND staff.account_id = @accountId AND (staff.is_admin OR staff.is_teacher))
                   OR EXISTS (SELECT 1 FROM students mate WHERE mate.school_id = ch.school_id AND mate.account_id = @accountId AND mate.class_id = pupil.class_id)
                   OR EXISTS (SELECT 1 FROM parent_links pl WHERE pl.school_id = ch.school_id AND pl.parent_id = @accountId AND pl.child_id = o.account_id))
            UNION
            -- A parent and their child are each other's contacts whatever chats they share (their school's channel
            -- alone does not make anyone a contact).
            SELECT pl.child_id FROM parent_links pl JOIN schools s ON s.id = pl.school_id AND s.status = 'active'
            WHERE pl.parent_id = @accountId AND pl.child_id = ANY(@candidates)
            UNION
            SELECT pl.parent_id FROM parent_links pl JOIN schools s ON s.id = pl.school_id AND s.status = 'active'
            WHERE pl.child_id = @accountId AND pl.parent_id = ANY(@candidates)
            """,
            new { accountId, candidates }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// The person's role in the chat: as a member, or as "moderator" for a school admin with an open moderation case
    /// on it (admins never read chats they are not in without a logged case).
    /// </summary>
    internal const string RoleSql = MemberRoleSql + """

        UNION ALL
        SELECT 'moderator'
        """ + OpenCasesSql;

    /// <summary>The person's role as a member of the chat (in an active school); a moderation case gives none.</summary>
    private const string MemberRoleSql = """
        SELECT m.role FROM chat_members m JOIN chats c ON c.id = m.chat_id JOIN schools s ON s.id = c.school_id AND s.status = 'active'
        WHERE m.chat_id = @chatId AND m.account_id = @accountId
        """;

    /// <summary>The admin's open cases on the chat (in an active school, while they are still its admin).</summary>
    private const string OpenCasesSql = """

        FROM moderation_cases mc JOIN chats c ON c.id = mc.chat_id JOIN schools s ON s.id = c.school_id AND s.status = 'active'
        JOIN school_members sm ON sm.school_id = c.school_id AND sm.account_id = mc.admin_id AND sm.is_admin
        WHERE mc.chat_id = @chatId AND mc.admin_id = @accountId AND mc.closes_at > now()
        """;

    /// <summary>
    /// The role of a member who wants to act in the chat (a moderation case lets an admin moderate, not take part),
    /// whether the chat is archived, and, when the person is blocked or muted there, until when (one query).
    /// </summary>
    public async Task<(string? Role, bool Archived, string? Restriction, DateTime? Until)> ActingRoleOfAsync(Guid chatId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<(string?, bool, string?, DateTime?)>(new CommandDefinition(
            $"""
            SELECT ({MemberRoleSql} LIMIT 1) AS role, COALESCE((SELECT archived_at IS NOT NULL FROM chats WHERE id = @chatId), false) AS archived, r.kind, r.ends_at
            FROM (SELECT 1) one LEFT JOIN LATERAL (
                SELECT kind, ends_at FROM chat_restrictions WHERE chat_id = @chatId AND account_id = @accountId AND lifted_at IS NULL AND ends_at > now()
                ORDER BY kind = 'block' DESC, ends_at DESC LIMIT 1) r ON true
            """,
            new { chatId, accountId }, cancellationToken: ct));
    }

    /// <summary>
    /// For a typing hint: whether the person is a member of the chat (in an active school), and their name if they may
    /// write there now — not archived, not read-only unless they moderate it, not blocked or muted (a moderation case
    /// gives no membership: an admin reading a chat to moderate it does not show as typing).
    /// </summary>
    public async Task<(bool Member, string? WriterName)> TypingNameAsync(Guid chatId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<(bool, string?)>(new CommandDefinition(
            """
            SELECT true,
                   CASE WHEN ch.archived_at IS NULL AND (NOT ch.read_only OR m.role <> 'member')
                             AND NOT EXISTS (SELECT 1 FROM chat_restrictions r WHERE r.chat_id = @chatId AND r.account_id = @accountId
                                             AND r.lifted_at IS NULL AND r.ends_at > now())
                        THEN (SELECT display_name FROM accounts WHERE id = @accountId) END
            FROM chat_members m JOIN chats ch ON ch.id = m.chat_id JOIN schools s ON s.id = ch.school_id AND s.status = 'active'
            WHERE m.chat_id = @chatId AND m.account_id = @accountId
            """,
            new { chatId, accountId }, cancellationToken: ct));
    }

    public async Task<string?> RoleOfAsync(Guid chatId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<string?>(new CommandDefinition(RoleSql + " LIMIT 1", new { chatId, accountId }, cancellationToken: ct));
    }

    /// <summary>The furthest read position among the chat's members other than the account (0 when none has read anything).</summary>
    public async Task<long> OthersReadSeqAsync(Guid chatId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT coalesce(max(read_seq), 0) FROM chat_members WHERE chat_id = @chatId AND account_id <> @accountId",
            new { chatId, accountId }, cancellationToken: ct));
    }

    /// <summary>
    /// Locks the chat's owners' membership rows (in one order, so two owners leaving at once are taken one after the
    /// other) and counts its members: the other owners, and all members.
    /// </summary>
    public async Task<(int OtherOwners, int Members)> LockOwnersAsync(DbScope s, Guid chatId, Guid me, CancellationToken ct)
    {
        var owners = (await s.Connection.QueryAsync<Guid>(new CommandDefinition(
            "SELECT account_id FROM chat_members WHERE chat_id = @chatId AND role = 'owner' ORDER BY account_id FOR UPDATE",
            new { chatId }, s.Transaction, cancellationToken: ct))).AsList();
        var members = await s.Connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT count(*)::int FROM chat_members WHERE chat_id = @chatId", new { chatId }, s.Transaction, cancellationToken: ct));
        return (owners.Count(o => o != me), members);
    }

    public async Task<IReadOnlyList<ChatMemberRow>> ListMembersAsync(Guid chatId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<ChatMemberRow>(new CommandDefinition(
            """
            SELECT m.account_id, a.display_name, a.avatar_url, m.role, m.read_seq, coalesce(sm.teacher_verified_at IS NOT NULL, false) AS verified_teacher, m.joined_at
            FROM chat_members m JOIN chats c ON c.id = m.chat_id JOIN accounts a ON a.id = m.account_id
            LEFT JOIN school_members sm ON sm.school_id = c.school_id AND sm.account_id = m.account_id
            WHERE m.chat_id = @chatId ORDER BY m.role DESC, a.display_name
            """,
            new { chatId }, cancellationToken: ct))).AsList();
    }

    public async Task<ChatRow> CreateAsync(DbScope s, Guid schoolId, string kind, string title, string rules, bool readOnly, Guid? classId, Guid createdBy, string? directKey, CancellationToken ct)
    {
        return await s.Connection.QuerySingleAsync<ChatRow>(new CommandDefinition(
            $"""
            INSERT INTO chats (id, school_id, kind, title, rules, read_only, class_id, created_by, direct_key)
            VALUES (@id, @schoolId, @kind, @title, @rules, @readOnly, @classId, @createdBy, @directKey) RETURNING {Columns}
            """,
            new { id = Guid.CreateVersion7(), schoolId, kind, title, rules, readOnly, classId, createdBy, directKey }, s.Transaction, cancellationToken: ct));
    }

    /// <summary>
    /// Locks the pair's direct chat in the school for the transaction (made or not yet: an advisory lock of its key) and
    /// finds it. Two people opening their chat at the same moment then make one, the second finding the first's.
    /// </summary>
    public async Task<ChatRow?> LockDirectAsync(DbScope s, Guid schoolId, string directKey, CancellationToken ct)
    {
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(hashtextextended('direct:' || @schoolId::text || ':' || @directKey, 0))",
            new { schoolId, directKey }, s.Transaction, cancellationToken: ct));
        return await s.Connection.QuerySingleOrDefaultAsync<ChatRow>(new CommandDefinition(
            $"SELECT {Columns} FROM chats WHERE school_id = @schoolId AND direct_key = @directKey", new { schoolId, directKey }, s.Transaction, cancellationToken: ct));
    }

    /// <summary>Those of the given people who are not members of the chat.</summary>
    public async Task<IReadOnlyList<Guid>> MissingMembersAsync(DbScope s, Guid chatId, Guid[] accountIds, CancellationToken ct) =>
        (await s.Connection.QueryAsync<Guid>(new CommandDefinition(
            "SELECT id FROM unnest(@accountIds) id WHERE NOT EXISTS (SELECT 1 FROM chat_members WHERE chat_id = @chatId AND account_id = id)",
            new { chatId, accountIds }, s.Transaction, cancellationToken: ct))).AsList();

    public async Task<bool> AddMemberAsync(DbScope s, Guid chatId, Guid accountId, string role, int? rulesAcceptedVersion, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO chat_members (chat_id, account_id, role, source, rules_accepted_version) VALUES (@chatId, @accountId, @role, 'manual', @rulesAcceptedVersion)
            ON CONFLICT (chat_id, account_id) DO NOTHING
            """,
            new { chatId, accountId, role, rulesAcceptedVersion }, s.Transaction, cancellationToken: ct)) == 1;

    /// <summary>
    /// Whether a plain member may start calls in the chat: either person of a direct chat, or a verified teacher of the
    /// chat's school unless the chat is a read-only channel, which a plain member only reads (moderators and owners always
    /// may; the caller knows their role).
    /// </summary>
    public async Task<bool> MemberMayStartCallsAsync(Guid chatId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<bool>(new CommandDefinition(
            """
            SELECT coalesce((SELECT ch.kind = 'direct' OR (NOT ch.read_only AND sm.teacher_verified_at IS NOT NULL)
                             FROM chats ch JOIN chat_members cm ON cm.chat_id = ch.id AND cm.account_id = @accountId
                             LEFT JOIN school_members sm ON sm.school_id = ch.school_id AND sm.account_id = @accountId
                             WHERE ch.id = @chatId), false)
            """,
            new { chatId, accountId }, cancellationToken: ct));
    }

    /// <summary>
    /// A pupil new to a class (enrolled, or moved into it) joins the class's subject chats that hold the whole class: those
    /// every other pupil of the class is in (a subject chat made for the class; not one made for a group of it, and not
    /// one nobody of the class is in). Their parents are not added: a subject chat is the pupils'.
    /// </summary>
    public async Task<IReadOnlyList<MembershipChange>> JoinWholeClassSubjectChatsAsync(DbScope s, Guid schoolId, Guid accountId, Guid classId, CancellationToken ct) =>
        (await s.Connection.QueryAsync<MembershipChange>(new CommandDefinition(
            """
            INSERT INTO chat_members (chat_id, account_id, role, source)
            SELECT c.id, @accountId, 'member', 'manual' FROM chats c
            WHERE c.school_id = @schoolId AND c.class_id = @classId AND c.kind = 'subject' AND c.archived_at IS NULL
              AND EXISTS (SELECT 1 FROM students st JOIN chat_members m ON m.chat_id = c.id AND m.account_id = st.account_id
                          WHERE st.school_id = @schoolId AND st.class_id = @classId AND st.account_id <> @accountId)
              AND NOT EXISTS (SELECT 1 FROM students st
                              WHERE st.school_id = @schoolId AND st.class_id = @classId AND st.account_id <> @accountId
                                AND NOT EXISTS (SELECT 1 FROM chat_members m WHERE m.chat_id = c.id AND m.account_id = st.account_id))
            ON CONFLICT (chat_id, account_id) DO NOTHING
            RETURNING chat_id, account_id, true AS added
            """,
            new { schoolId, accountId, classId }, s.Transaction, cancellationToken: ct))).AsList();

    /// <summary>Sets a member's role; the membership becomes hand-managed so the roster sync keeps the choice.</summary>
    public async Task<bool> SetRoleAsync(DbScope s, Guid chatId, Guid accountId, string role, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE chat_members SET role = @role, source = 'manual' WHERE chat_id = @chatId AND account_id = @accountId",
            new { chatId, accountId, role }, s.Transaction, cancellationToken: ct)) == 1;

    /// <summary>Whether the person's role in the chat is an owner's or moderator's given by the roster (the school's roles).</summary>
    public async Task<bool> HasRosterRoleAsync(DbScope s, Guid chatId, Guid accountId, CancellationToken ct) =>
        await s.Connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM chat_members WHERE chat_id = @chatId AND account_id = @accountId AND source = 'roster' AND role <> 'member')",
            new { chatId, accountId }, s.Transaction, cancellationToken: ct));

    public async Task<bool> RemoveMemberAsync(DbScope s, Guid chatId, Guid accountId, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM chat_members WHERE chat_id = @chatId AND account_id = @accountId", new { chatId, accountId }, s.Transaction, cancellationToken: ct)) == 1;

    public async Task<bool> UpdateSettingsAsync(Guid chatId, Guid accountId, bool? pinned, DateTime? mutedUntil, bool clearMute, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteAsync(new CommandDefinition(
            """
            UPDATE chat_members SET pinned = coalesce(@pinned, pinned),
                muted_until = CASE WHEN @clearMute THEN NULL ELSE coalesce(@mutedUntil, muted_until) END
            WHERE chat_id = @chatId AND account_id = @accountId
            """,
            new { chatId, accountId, pinned, mutedUntil, clearMute }, cancellationToken: ct)) == 1;
    }

    public async Task<ChatRow?> UpdateAsync(DbScope s, Guid chatId, string title, string rules, int slowModeSeconds, string? avatarUrl, CancellationToken ct) =>
        await s.Connection.QuerySingleOrDefaultAsync<ChatRow>(new CommandDefinition(
            $"""
            UPDATE chats SET title = @title, slow_mode_seconds = @slowModeSeconds, avatar_url = @avatarUrl,
                rules_version = rules_version + CASE WHEN rules <> @rules THEN 1 ELSE 0 END, rules = @rules
            WHERE id = @chatId RETURNING {Columns}
            """,
            new { chatId, title, rules, slowModeSeconds, avatarUrl }, s.Transaction, cancellationToken: ct));

    public async Task<bool> AcceptRulesAsync(Guid chatId, Guid accountId, int version, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteAsync(new CommandDefinition(
            "UPDATE chat_members SET rules_accepted_version = @version WHERE chat_id = @chatId AND account_id = @accountId",
            new { chatId, accountId, version }, cancellationToken: ct)) == 1;
    }

    /// <summary>Moves the read position forward only, never past the chat's last message; returns the position now stored.</summary>
    public async Task<long?> MarkReadAsync(Guid chatId, Guid accountId, long seq, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<long?>(new CommandDefinition(
            """
            UPDATE chat_members m SET read_seq = GREATEST(m.read_seq, LEAST(@seq, c.last_seq))
            FROM chats c WHERE c.id = m.chat_id AND m.chat_id = @chatId AND m.account_id = @accountId
            RETURNING m.read_seq
            """,
            new { chatId, accountId, seq }, cancellationToken: ct));
    }

    public async Task<bool> IsBlockedByAsync(DbScope s, Guid blocker, Guid blocked, CancellationToken ct) =>
        await s.Connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM person_blocks WHERE blocker_id = @blocker AND blocked_id = @blocked)", new { blocker, blocked }, s.Transaction, cancellationToken: ct));

    /// <summary>Whether the two are members of at least one common school.</summary>
    public async Task<bool> ShareSchoolAsync(Guid a, Guid b, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<bool>(new CommandDefinition(
            """
            SELECT EXISTS (SELECT 1 FROM school_members x JOIN school_members y ON y.school_id = x.school_id
                           WHERE x.account_id = @a AND y.account_id = @b)
            """,
            new { a, b }, cancellationToken: ct));
    }

    /// <summary>
    /// Closes the direct chats of <paramref name="accountId"/> in the school (all of the school's when null: safe mode
    /// turned on; a school of 22 000 direct chats takes ~0.7 s, so it is not part of every roster sync) whose two people
    /// may no longer reach each other either way (DirectChatPolicy, docs/policies.md): an unlinked parent and the child, a
    /// teacher who left the staff but stays as a parent and a pupil or parent, a pupil and a former classmate under safe
    /// mode, and, once safe mode is turned on, whatever it now forbids. Both leave the chat; its history stays, and
    /// opening it again brings both back once the rules allow it.
    /// </summary>
    public async Task<IReadOnlyList<MembershipChange>> CloseUnreachableDirectChatsAsync(DbScope s, Guid schoolId, Guid? accountId, CancellationToken ct) =>
        (await s.Connection.QueryAsync<MembershipChange>(new CommandDefinition(
            $"""
            WITH pairs AS (
                SELECT c.id AS chat_id, a.account_id AS a, b.account_id AS b
                FROM chat_members a
                JOIN chats c ON c.id = a.chat_id AND c.school_id = @schoolId AND c.kind = 'direct'
                JOIN chat_members b ON b.chat_id = c.id AND b.account_id <> a.account_id
                WHERE {(accountId is null ? "b.account_id > a.account_id" : "a.account_id = @accountId")}),
            facts AS (
                SELECT p.chat_id, sc.pupil_safe_mode AS safe,
                       EXISTS (SELECT 1 FROM school_members m WHERE m.school_id = @schoolId AND m.account_id = p.a AND (m.is_admin OR m.is_teacher)) AS a_staff,
                       EXISTS (SELECT 1 FROM school_members m WHERE m.school_id = @schoolId AND m.account_id = p.b AND (m.is_admin OR m.is_teacher)) AS b_staff,
                       (SELECT st.class_id FROM students st WHERE st.school_id = @schoolId AND st.account_id = p.a) AS a_class,
                       (SELECT st.class_id FROM students st WHERE st.school_id = @schoolId AND st.account_id = p.b) AS b_class,
                       EXISTS (SELECT 1 FROM parent_links pl WHERE pl.school_id = @schoolId AND pl.parent_id = p.a AND pl.child_id = p.b) AS a_parent_of_b,
                       EXISTS (SELECT 1 FROM parent_links pl WHERE pl.school_id = @schoolId AND pl.parent_id = p.b AND pl.child_id = p.a) AS b_parent_of_a
                FROM pairs p JOIN schools sc ON sc.id = @schoolId),
            unreachable AS (
                SELECT chat_id FROM facts
                WHERE NOT ({ReachSql("a", "b")}) AND NOT ({ReachSql("b", "a")}))
            DELETE FROM chat_members cm USING unreachable u
            WHERE cm.chat_id = u.chat_id
            RETURNING cm.chat_id, cm.account_id, false AS added
            """,
            new { schoolId, accountId }, s.Transaction, cancellationToken: ct))).AsList();

    /// <summary>
    /// DirectChatPolicy.MayReach of writer <paramref name="w"/> and target <paramref name="t"/> over the columns of
    /// <see cref="CloseUnreachableDirectChatsAsync"/>: a pupil is reached by anyone outside safe mode, else by staff,
    /// classmates and their own parents; anyone else by staff, by their own children, and staff reach anyone.
    /// </summary>
    private static string ReachSql(string w, string t) =>
        $"""
        CASE WHEN {t}_class IS NOT NULL
             THEN NOT safe OR {w}_staff OR coalesce({w}_class = {t}_class, false) OR {w}_parent_of_{t}
             ELSE {w}_staff OR {t}_staff OR {t}_parent_of_{w} END
        """;

    /// <summary>
    /// Creates the school's system chats (staff room, channels, each class's pupils' and parents' chats) and brings
    /// their roster-kept memberships in line with the roster. Returns who was added and removed. A role an owner gave
    /// by hand (source 'manual', e.g. a teacher allowed to post in a channel) is kept, but only while the roster still
    /// names the person for the chat: whoever it no longer names leaves it, whatever their source.
    /// </summary>
    public async Task<IReadOnlyList<MembershipChange>> SyncRosterAsync(DbScope s, Guid schoolId, CancellationToken ct)
    {
        await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO chats (id, school_id, kind, system_key, class_id, title, read_only, rules)
            SELECT gen_random_uuid(), @schoolId, x.kind, x.system_key, x.class_id, x.title, x.read_only, x.rules
            FROM (
                SELECT 'staff_room' AS kind, 'staff_room' AS system_key, cl.id AS class_id, 'Учительская' AS title, false AS read_only,
                       'Чат всех сотрудников школы.' AS rules
                FROM classes cl WHERE cl.school_id = @schoolId AND cl.kind = 'staff_room'
                UNION ALL SELECT 'group', 'administration', NULL, 'Администрация', false, 'Чат администрации школы и директора.'
                UNION ALL SELECT 'channel', 'school_channel', NULL, 'Общешкольный канал', true, 'Новости и объявления школы. Пишут администраторы.'
                UNION ALL SELECT 'channel', 'staff_channel', NULL, 'Сотрудники', true, 'Объявления для сотрудников. Пишут администраторы.'
                UNION ALL SELECT 'class', 'class:' || cl.id, cl.id, cl.name, false, 'Чат учеников класса и классного руководителя.'
                FROM classes cl WHERE cl.school_id = @schoolId AND cl.kind IN ('class', 'group') AND cl.archived_at IS NULL
                UNION ALL SELECT 'parents', 'parents:' || cl.id, cl.id, 'Родители ' || cl.name, false, 'Чат родителей класса и классного руководителя.'
                FROM classes cl WHERE cl.school_id = @schoolId AND cl.kind IN ('class', 'group') AND cl.archived_at IS NULL
            ) x
            ON CONFLICT (school_id, system_key) WHERE system_key IS NOT NULL DO NOTHING;

            UPDATE chats c SET title = CASE WHEN c.kind = 'class' THEN cl.name ELSE 'Родители ' || cl.name END
            FROM classes cl
            WHERE c.school_id = @schoolId AND c.class_id = cl.id AND c.kind IN ('class', 'parents')
              AND c.title <> CASE WHEN c.kind = 'class' THEN cl.name ELSE 'Родители ' || cl.name END;
            """,
            new { schoolId }, s.Transaction, cancellationToken: ct));

        var added = await s.Connection.QueryAsync<MembershipChange>(new CommandDefinition(
            """
            INSERT INTO chat_members (chat_id, account_id, role, source, rules_accepted_version)
            SELECT DISTINCT ON (d.chat_id, d.account_id) d.chat_id, d.account_id, d.role, 'roster', NULL
            FROM roster_chat_members(@schoolId) d
            ORDER BY d.chat_id, d.account_id, CASE d.role WHEN 'owner' THEN 0 WHEN 'moderator' THEN 1 ELSE 2 END
            ON CONFLICT (chat_id, account_id) DO UPDATE SET role = excluded.role, source = 'roster'
                WHERE chat_members.role <> excluded.role
                  -- A role given by hand stands only for what the roster does not give: an ordinary member let write
                  -- (moderator). A hand-made owner's row (a channel's creator) and a role the roster raises follow the roster.
                  AND (chat_members.source = 'roster' OR chat_members.role = 'owner'
                       OR CASE excluded.role WHEN 'owner' THEN 0 WHEN 'moderator' THEN 1 ELSE 2 END
                          < CASE chat_members.role WHEN 'owner' THEN 0 WHEN 'moderator' THEN 1 ELSE 2 END)
            RETURNING chat_id, account_id, (xmax = 0) AS added
            """,
            new { schoolId }, s.Transaction, cancellationToken: ct));

        var removed = await s.Connection.QueryAsync<MembershipChange>(new CommandDefinition(
            """
            WITH d AS MATERIALIZED (SELECT * FROM roster_chat_members(@schoolId)),
            gone AS (
                DELETE FROM chat_members cm USING chats c
                WHERE cm.chat_id = c.id AND c.school_id = @schoolId AND c.system_key IS NOT NULL AND c.archived_at IS NULL
                  AND NOT EXISTS (SELECT 1 FROM d WHERE d.chat_id = cm.chat_id AND d.account_id = cm.account_id)
                RETURNING cm.chat_id, cm.account_id, cm.source
            ),
            -- Someone put into a roster chat by hand (before such chats refused it, or a channel's creator no longer
            -- named by its audience) leaves it here too; the school's audit log says so, as nobody else did it.
            noted AS (
                INSERT INTO audit_events (school_id, actor_id, action, subject_id, details)
                SELECT @schoolId, NULL, 'chat.member_removed_by_roster', g.account_id, jsonb_build_object('chatId', g.chat_id)
                FROM gone g WHERE g.source = 'manual'
            )
            SELECT chat_id, account_id, false AS added FROM gone
            """,
            new { schoolId }, s.Transaction, cancellationToken: ct));

        return added.Where(a => a.Added).Concat(removed).ToList();
    }
}
