using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Moderation;

public sealed record SchoolRule(Guid Id, Guid SchoolId, int Number, string Text, DateTime CreatedAt, DateTime? ArchivedAt);

public sealed record ChatRestriction(
    Guid Id, Guid ChatId, Guid AccountId, string Kind, Guid RuleId, int RuleNumber, string RuleText, string Reason,
    Guid ModeratorId, DateTime StartsAt, DateTime EndsAt, DateTime? LiftedAt);

public sealed record MessageReport(
    Guid Id, Guid ChatId, long MessageSeq, Guid ReporterId, Guid RuleId, int RuleNumber, string? Comment, string Status,
    string? Resolution, DateTime CreatedAt, Guid? SenderId, string MessageText);

/// <summary>
/// One chat of the school as its admin sees it to moderate it: the admin's own role there (null: not a member) and the
/// end of the admin's open moderation case on it (null: none).
/// </summary>
public sealed record SchoolChatRow(Guid Id, string Kind, Guid? ClassId, string Title, bool Archived, int MemberCount, string? MyRole, DateTime? CaseUntil);

/// <summary>Rules, violations, blocks and mutes, reports and admins' moderation cases.</summary>
public sealed class ModerationStore(NpgsqlDataSource db)
{
    private const string RuleColumns = "id, school_id, number, text, created_at, archived_at";

    private const string RestrictionSelect = """
        SELECT r.id, r.chat_id, r.account_id, r.kind, r.rule_id, sr.number AS rule_number, sr.text AS rule_text, r.reason,
               r.moderator_id, r.starts_at, r.ends_at, r.lifted_at
        FROM chat_restrictions r JOIN school_rules sr ON sr.id = r.rule_id
        """;

    /// <summary>The default rules every school starts with (editable by its admins), drawn from the schools' regulations.</summary>
    public static readonly string[] DefaultRules =
    [
        "Общаемся уважительно: без оскорблений, грубости, угроз и травли.",
        "Не публикуем негативную и избыточную информацию: флуд, спам, повторы, сообщения не по теме чата.",
        "Обсуждаем учебные и организационные вопросы; личные вопросы — в личных сообщениях.",
        "Не публикуем личные данные других людей (телефоны, адреса, фотографии) без их согласия.",
        "Без рекламы, платных услуг и сторонних сообществ.",
        "Запрещены материалы, нарушающие законодательство Российской Федерации.",
    ];

    public async Task SeedDefaultRulesAsync(DbScope s, Guid schoolId, CancellationToken ct)
    {
        for (var i = 0; i < DefaultRules.Length; i++)
        {
            await s.Connection.ExecuteAsync(new CommandDefinition(
                "INSERT INTO school_rules (id, school_id, number, text) VALUES (@id, @schoolId, @number, @text)",
                new { id = Guid.CreateVersion7(), schoolId, number = i + 1, text = DefaultRules[i] }, s.Transaction, cancellationToken: ct));
        }
    }

    public async Task<IReadOnlyList<SchoolRule>> ListRulesAsync(Guid schoolId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<SchoolRule>(new CommandDefinition(
            $"SELECT {RuleColumns} FROM school_rules WHERE school_id = @schoolId AND archived_at IS NULL ORDER BY number",
            new { schoolId }, cancellationToken: ct))).AsList();
    }

    public async Task<SchoolRule?> GetRuleAsync(Guid schoolId, Guid ruleId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<SchoolRule>(new CommandDefinition(
            $"SELECT {RuleColumns} FROM school_rules WHERE school_id = @schoolId AND id = @ruleId AND archived_at IS NULL",
            new { schoolId, ruleId }, cancellationToken: ct));
    }

    /// <summary>
    /// Adds a rule, or replaces the text of rule <paramref name="number"/>: the old text is archived, since past actions
    /// cite it. The school's rules are locked first: two saves of one number at once (a double click, two admins) run one
    /// after the other, the second replacing the first, instead of the second failing the unique number.
    /// </summary>
    public async Task<SchoolRule> PutRuleAsync(DbScope s, Guid schoolId, int number, string text, CancellationToken ct)
    {
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(hashtextextended('rules:' || @schoolId::text, 0))", new { schoolId }, s.Transaction, cancellationToken: ct));
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE school_rules SET archived_at = now() WHERE school_id = @schoolId AND number = @number AND archived_at IS NULL",
            new { schoolId, number }, s.Transaction, cancellationToken: ct));
        return await s.Connection.QuerySingleAsync<SchoolRule>(new CommandDefinition(
            $"INSERT INTO school_rules (id, school_id, number, text) VALUES (@id, @schoolId, @number, @text) RETURNING {RuleColumns}",
            new { id = Guid.CreateVersion7(), schoolId, number, text }, s.Transaction, cancellationToken: ct));
    }

    public async Task<bool> ArchiveRuleAsync(DbScope s, Guid schoolId, Guid ruleId, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE school_rules SET archived_at = now() WHERE school_id = @schoolId AND id = @ruleId AND archived_at IS NULL",
            new { schoolId, ruleId }, s.Transaction, cancellationToken: ct)) == 1;

    /// <summary>
    /// Records a violation, at most one per message: another report of the same message, or a moderator's retry after a
    /// lost answer, records nothing (Recorded is false). Returns the member's count of violations in the chat.
    /// </summary>
    /// <summary>
    /// Records a violation, once per message, and once per <paramref name="id"/> when the caller gives one (a moderator's
    /// retry after a lost answer); returns whether it was recorded now and the member's count in the chat.
    /// </summary>
    public async Task<(bool Recorded, int Count)> RecordViolationAsync(DbScope s, Guid chatId, Guid accountId, Guid ruleId, long? messageSeq, Guid moderatorId, string? note, CancellationToken ct, Guid? id = null)
    {
        var recorded = await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO violations (id, chat_id, account_id, rule_id, message_seq, moderator_id, note)
            SELECT @id, @chatId, @accountId, @ruleId, @messageSeq, @moderatorId, @note
            WHERE @messageSeq::bigint IS NULL
               OR NOT EXISTS (SELECT 1 FROM violations v WHERE v.chat_id = @chatId AND v.account_id = @accountId AND v.message_seq = @messageSeq)
            ON CONFLICT (id) DO NOTHING
            """,
            new { id = id ?? Guid.CreateVersion7(), chatId, accountId, ruleId, messageSeq, moderatorId, note }, s.Transaction, cancellationToken: ct)) == 1;
        return (recorded, await CountViolationsAsync(s, chatId, accountId, ct));
    }

    /// <summary>The member's violations in the chat: those of one message count once (two recorded at the same moment, or before the rule, included).</summary>
    private const string CountViolationsSql =
        "SELECT count(DISTINCT coalesce(message_seq::text, id::text))::int FROM violations WHERE chat_id = @chatId AND account_id = @accountId";

    public async Task<int> CountViolationsAsync(DbScope s, Guid chatId, Guid accountId, CancellationToken ct) =>
        await s.Connection.ExecuteScalarAsync<int>(new CommandDefinition(CountViolationsSql, new { chatId, accountId }, s.Transaction, cancellationToken: ct));

    /// <summary>Each member of the chat with violations there, and how many (as <see cref="CountViolationsAsync(Guid, Guid, CancellationToken)"/> counts them).</summary>
    public async Task<IReadOnlyList<(Guid AccountId, int Count)>> ViolationCountsAsync(Guid chatId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<(Guid, int)>(new CommandDefinition(
            """
            SELECT v.account_id, count(DISTINCT coalesce(v.message_seq::text, v.id::text))::int
            FROM violations v JOIN chat_members cm ON cm.chat_id = v.chat_id AND cm.account_id = v.account_id
            WHERE v.chat_id = @chatId GROUP BY v.account_id
            """,
            new { chatId }, cancellationToken: ct))).AsList();
    }

    public async Task<int> CountViolationsAsync(Guid chatId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<int>(new CommandDefinition(CountViolationsSql, new { chatId, accountId }, cancellationToken: ct));
    }

    /// <summary>
    /// Restricts from <paramref name="startsAt"/> (the server's clock, the one its limits were checked against: a month
    /// for a block, a day for a mute, which the table checks again) to <paramref name="endsAt"/>.
    /// </summary>
    public async Task<ChatRestriction> RestrictAsync(DbScope s, Guid chatId, Guid accountId, string kind, Guid ruleId, string reason, Guid moderatorId, DateTime startsAt, DateTime endsAt, CancellationToken ct)
    {
        // A new restriction of a kind replaces the active one of that kind.
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE chat_restrictions SET lifted_at = now(), lifted_by = @moderatorId WHERE chat_id = @chatId AND account_id = @accountId AND kind = @kind AND lifted_at IS NULL AND ends_at > now()",
            new { chatId, accountId, kind, moderatorId }, s.Transaction, cancellationToken: ct));
        var id = Guid.CreateVersion7();
        await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO chat_restrictions (id, chat_id, account_id, kind, rule_id, reason, moderator_id, starts_at, ends_at)
            VALUES (@id, @chatId, @accountId, @kind, @ruleId, @reason, @moderatorId, @startsAt, @endsAt)
            """,
            new { id, chatId, accountId, kind, ruleId, reason, moderatorId, startsAt, endsAt }, s.Transaction, cancellationToken: ct));
        return await s.Connection.QuerySingleAsync<ChatRestriction>(new CommandDefinition(
            RestrictionSelect + " WHERE r.id = @id", new { id }, s.Transaction, cancellationToken: ct));
    }

    /// <summary>Lifts the active restriction of this kind early; null when there is none.</summary>
    public async Task<ChatRestriction?> LiftAsync(DbScope s, Guid chatId, Guid accountId, string kind, Guid liftedBy, CancellationToken ct)
    {
        var id = await s.Connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(
            """
            UPDATE chat_restrictions SET lifted_at = now(), lifted_by = @liftedBy
            WHERE chat_id = @chatId AND account_id = @accountId AND kind = @kind AND lifted_at IS NULL AND ends_at > now()
            RETURNING id
            """,
            new { chatId, accountId, kind, liftedBy }, s.Transaction, cancellationToken: ct));
        return id is null ? null : await s.Connection.QuerySingleAsync<ChatRestriction>(new CommandDefinition(
            RestrictionSelect + " WHERE r.id = @id", new { id }, s.Transaction, cancellationToken: ct));
    }

    /// <summary>The member's active restriction in the chat (a block before a mute), if any.</summary>
    public async Task<ChatRestriction?> ActiveAsync(Guid chatId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QueryFirstOrDefaultAsync<ChatRestriction>(new CommandDefinition(
            RestrictionSelect + " WHERE r.chat_id = @chatId AND r.account_id = @accountId AND r.lifted_at IS NULL AND r.ends_at > now() ORDER BY r.kind = 'block' DESC, r.ends_at DESC LIMIT 1",
            new { chatId, accountId }, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<ChatRestriction>> ListActiveAsync(Guid chatId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<ChatRestriction>(new CommandDefinition(
            RestrictionSelect + " WHERE r.chat_id = @chatId AND r.lifted_at IS NULL AND r.ends_at > now() ORDER BY r.ends_at",
            new { chatId }, cancellationToken: ct))).AsList();
    }

    public async Task<Guid> ReportAsync(DbScope s, Guid chatId, long messageSeq, Guid reporterId, Guid ruleId, string? comment, CancellationToken ct) =>
        await s.Connection.ExecuteScalarAsync<Guid>(new CommandDefinition(
            """
            INSERT INTO message_reports (id, chat_id, message_seq, reporter_id, rule_id, comment) VALUES (@id, @chatId, @messageSeq, @reporterId, @ruleId, @comment)
            ON CONFLICT (chat_id, message_seq, reporter_id) WHERE status = 'open' DO UPDATE SET rule_id = excluded.rule_id, comment = excluded.comment
            RETURNING id
            """,
            new { id = Guid.CreateVersion7(), chatId, messageSeq, reporterId, ruleId, comment }, s.Transaction, cancellationToken: ct));

    private const string ReportSelect = """
        SELECT r.id, r.chat_id, r.message_seq, r.reporter_id, r.rule_id, sr.number AS rule_number, r.comment, r.status, r.resolution, r.created_at,
               m.sender_id, CASE WHEN m.deleted_at IS NULL THEN m.text ELSE '' END AS message_text
        FROM message_reports r JOIN school_rules sr ON sr.id = r.rule_id JOIN messages m ON m.chat_id = r.chat_id AND m.seq = r.message_seq
        """;

    public async Task<IReadOnlyList<MessageReport>> ListReportsAsync(Guid chatId, string? status, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<MessageReport>(new CommandDefinition(
            ReportSelect + " WHERE r.chat_id = @chatId AND (@status::text IS NULL OR r.status = @status) ORDER BY r.created_at",
            new { chatId, status }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Locks the reports of one message in id order: two moderators resolving two reports of it at once (each resolves
    /// all of them) then wait for each other instead of deadlocking.
    /// </summary>
    public Task LockReportsOfMessageAsync(DbScope s, Guid chatId, long messageSeq, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            "SELECT 1 FROM message_reports WHERE chat_id = @chatId AND message_seq = @messageSeq ORDER BY id FOR UPDATE",
            new { chatId, messageSeq }, s.Transaction, cancellationToken: ct));

    public async Task<MessageReport?> LockReportAsync(DbScope s, Guid reportId, CancellationToken ct) =>
        await s.Connection.QuerySingleOrDefaultAsync<MessageReport>(new CommandDefinition(
            ReportSelect + " WHERE r.id = @reportId FOR UPDATE OF r", new { reportId }, s.Transaction, cancellationToken: ct));

    /// <summary>
    /// Resolves the report (open: the caller checked it under its lock) and every other open report of the same message
    /// with it (the decision is about the message, whoever reported it). Returns the ids resolved.
    /// </summary>
    public async Task<IReadOnlyList<Guid>> ResolveReportAsync(DbScope s, MessageReport report, string resolution, Guid resolvedBy, CancellationToken ct) =>
        (await s.Connection.QueryAsync<Guid>(new CommandDefinition(
            """
            UPDATE message_reports SET status = 'resolved', resolution = @resolution, resolved_by = @resolvedBy, resolved_at = now()
            WHERE chat_id = @chatId AND message_seq = @messageSeq AND status = 'open'
            RETURNING id
            """,
            new { report.ChatId, report.MessageSeq, resolution, resolvedBy }, s.Transaction, cancellationToken: ct))).AsList();

    /// <summary>The school's chats but direct ones (who talks with whom privately is not the admin's list), active first, by title.</summary>
    public async Task<IReadOnlyList<SchoolChatRow>> ListSchoolChatsAsync(Guid schoolId, Guid adminId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<SchoolChatRow>(new CommandDefinition(
            """
            SELECT c.id, c.kind, c.class_id, c.title, c.archived_at IS NOT NULL AS archived,
                   (SELECT count(*)::int FROM chat_members cm WHERE cm.chat_id = c.id) AS member_count,
                   (SELECT m.role FROM chat_members m WHERE m.chat_id = c.id AND m.account_id = @adminId) AS my_role,
                   (SELECT max(mc.closes_at) FROM moderation_cases mc WHERE mc.chat_id = c.id AND mc.admin_id = @adminId AND mc.closes_at > now()) AS case_until
            FROM chats c
            WHERE c.school_id = @schoolId AND c.kind <> 'direct'
            ORDER BY c.archived_at IS NOT NULL, c.title, c.id
            """,
            new { schoolId, adminId }, cancellationToken: ct))).AsList();
    }

    public Task OpenCaseAsync(DbScope s, Guid schoolId, Guid chatId, Guid adminId, string reason, DateTime closesAt, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO moderation_cases (id, school_id, chat_id, admin_id, reason, closes_at) VALUES (@id, @schoolId, @chatId, @adminId, @reason, @closesAt)",
            new { id = Guid.CreateVersion7(), schoolId, chatId, adminId, reason, closesAt }, s.Transaction, cancellationToken: ct));
}
