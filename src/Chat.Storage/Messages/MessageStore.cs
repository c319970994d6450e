using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Messages;

public sealed record MessageRow(
    Guid ChatId,
    long Seq,
    Guid? SenderId,
    string? SenderName,
    Guid ClientId,
    string Kind,
    string Text,
    long? ReplyToSeq,
    string? ForwardedFrom,
    Guid[] Mentions,
    DateTime CreatedAt,
    DateTime? EditedAt,
    DateTime? DeletedAt,
    long VersionSeq,
    string? Reactions,
    string? Poll = null,
    string? Files = null)
{
    public bool IsDeleted => DeletedAt is not null;
}

/// <summary>One entry of a chat's sequence: a new message, or a change to an earlier one (with its current state).</summary>
public sealed record ChatEventRow(long Seq, string Type, MessageRow Message);

/// <summary>Catch-up of one member: the role (null: no access), the chat's last seq and the events after a seq.</summary>
public sealed record ChatUpdatesRow(string? Role, long LastSeq, IReadOnlyList<ChatEventRow> Events);

public sealed record NewMessage(Guid ChatId, Guid SenderId, Guid ClientId, string Kind, string Text, long? ReplyToSeq, string? ForwardedFrom, Guid[] Mentions);

public enum SendRefusal
{
    None,
    NotMember,
    ReadOnly,
    SlowMode,
    ReplyNotFound,
    Restricted,
    Archived,
}

/// <summary>
/// Messages and their changes. Every write advances the chat's <c>last_seq</c> in the same statement, so each chat has a
/// gap-free sequence shared by messages and changes; a resend with the same client id returns the stored message.
/// </summary>
public sealed class MessageStore(NpgsqlDataSource db)
{
    public const string MessageColumns = """
        m.chat_id, m.seq, m.sender_id, a.display_name AS sender_name, m.client_id, m.kind,
        CASE WHEN m.deleted_at IS NULL THEN m.text ELSE '' END AS text, m.reply_to_seq, m.forwarded_from::text AS forwarded_from,
        m.mentions, m.created_at, m.edited_at, m.deleted_at, m.version_seq,
        (SELECT json_agg(json_build_object('emoji', r.emoji, 'count', r.n, 'by', r.who))::text FROM (
            SELECT emoji, count(*)::int AS n, array_agg(account_id ORDER BY at) AS who FROM message_reactions
            WHERE chat_id = m.chat_id AND message_seq = m.seq GROUP BY emoji ORDER BY min(at)) r) AS reactions,
        CASE WHEN m.kind = 'poll' AND m.deleted_at IS NULL THEN message_poll_json(m.chat_id, m.seq) END AS poll,
        CASE WHEN m.kind = 'files' AND m.deleted_at IS NULL THEN message_files_json(m.chat_id, m.seq) END AS files
        """;

    /// <summary>
    /// Stores one message in one round trip, as a batch of one (<see cref="AppendBatchAsync(IReadOnlyList{NewMessage}, CancellationToken)"/>:
    /// the same statement, so the same checks). Returns the stored message and whether it is new; null when refused
    /// (see <see cref="DiagnoseAsync"/>).
    /// </summary>
    public Task<(MessageRow Message, bool Created)?> AppendAsync(NewMessage m, CancellationToken ct) => AppendAsync(m, null, ct);

    /// <summary>
    /// As <see cref="AppendAsync(NewMessage, CancellationToken)"/>; when the message is new, <paramref name="attach"/> stores
    /// what belongs to it (a poll, the links to its files) in the same transaction, given the new seq. If it throws,
    /// nothing is stored and the seq is not used.
    /// </summary>
    public async Task<(MessageRow Message, bool Created)?> AppendAsync(NewMessage m, Func<DbScope, long, Task>? attach, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (attach is null)
                {
                    return (await AppendBatchAsync([m], ct))[0];
                }

                // A batch of one inside a transaction, so what belongs to the message is stored with it.
                var stored = await DbScope.InTransactionAsync(db, async s =>
                {
                    var row = (await AppendBatchAsync(s.Connection, s.Transaction, [m], ct))[0];
                    if (row is { Created: true } created)
                    {
                        await attach(s, created.Message.Seq);
                    }

                    return row;
                }, ct);

                // Read back after commit: the push carries what was attached (the poll, the files). Not cancelled with the
                // caller: the message is stored, and its members must get it even if the sender's connection closed.
                return stored is { } row && await GetAsync(m.ChatId, row.Message.Seq, CancellationToken.None) is { } message ? (message, row.Created) : stored;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && attempt == 0)
            {
                // The same client id raced in through another connection: the retry finds the stored message.
            }
        }
    }

    /// <summary>
    /// Stores many messages (of any chats) in ONE statement, that is one round trip, one transaction and one WAL flush
    /// (group commit). Each message goes through every check on its own (member, school active, chat not archived,
    /// read-only, restrictions, slow mode, reply exists, client id not stored yet): a refused message (null in the result, see <see cref="DiagnoseAsync"/>) does not fail the others.
    /// Messages of one chat get consecutive seqs in the order given; a resend of a stored client id returns the stored
    /// message with Created=false. The caller must not put two messages of the same (chat, sender, client id) into one
    /// batch: the client id check looks only at what was committed before the statement. Several messages of one sender
    /// to one chat may: under slow mode only the first of them that could be stored is (the others are refused as slow
    /// mode, as they would be a moment later).
    /// A database error fails the whole batch (nothing is stored); callers retry its messages one by one.
    /// </summary>
    public async Task<(MessageRow Message, bool Created)?[]> AppendBatchAsync(IReadOnlyList<NewMessage> batch, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        try
        {
            return await AppendBatchAsync(c, null, batch, ct);
        }
        catch (NpgsqlException)
        {
            // Npgsql 10.0.3 can leave an automatically prepared statement out of step with the server when its
            // execution fails (npgsql/npgsql#6391): the next use of this pooled connection then fails with "Received
            // unexpected backend message DataRow". Forgetting the connection's prepared statements on both sides
            // before it goes back to the pool keeps one failed batch from failing the next (DbScope does the same after
            // a failed statement). It never throws, so this error is the one the caller sees.
            DbScope.ForgetPreparedStatements(c);
            throw;
        }
    }

    private async Task<(MessageRow Message, bool Created)?[]> AppendBatchAsync(NpgsqlConnection c, NpgsqlTransaction? transaction, IReadOnlyList<NewMessage> batch, CancellationToken ct)
    {
        var n = batch.Count;
        var idx = new int[n];
        var chatIds = new Guid[n];
        var senderIds = new Guid[n];
        var clientIds = new Guid[n];
        var kinds = new string[n];
        var texts = new string[n];
        var replies = new long?[n];
        var forwards = new string?[n];
        var mentionIdx = new List<int>();
        var mentionIds = new List<Guid>();
        var after = new bool[n]; // an earlier message of the same sender to the same chat is in the batch
        var senders = new HashSet<(Guid, Guid)>();
        for (var i = 0; i < n; i++)
        {
            var m = batch[i];
            idx[i] = i;
            after[i] = !senders.Add((m.ChatId, m.SenderId));
            chatIds[i] = m.ChatId;
            senderIds[i] = m.SenderId;
            clientIds[i] = m.ClientId;
            kinds[i] = m.Kind;
            texts[i] = m.Text;
            replies[i] = m.ReplyToSeq;
            forwards[i] = m.ForwardedFrom;
            foreach (var mention in m.Mentions)
            {
                mentionIdx.Add(i);
                mentionIds.Add(mention);
            }
        }

        var results = new (MessageRow Message, bool Created)?[n];
        var resent = new List<(int Index, long Seq)>();
        await using (var command = new NpgsqlCommand(AppendBatchSql, c, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = idx });
            command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = chatIds });
            command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = senderIds });
            command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = clientIds });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = kinds });
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = texts });
            command.Parameters.Add(new NpgsqlParameter<long?[]> { TypedValue = replies });
            command.Parameters.Add(new NpgsqlParameter<string?[]> { TypedValue = forwards });
            command.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = mentionIdx.ToArray() });
            command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = mentionIds.ToArray() });
            command.Parameters.Add(new NpgsqlParameter<bool[]> { TypedValue = after });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var i = reader.GetInt32(0);
                var seq = reader.GetInt64(2);
                if (!reader.GetBoolean(1))
                {
                    resent.Add((i, seq));
                    continue;
                }

                var m = batch[i];
                results[i] = (new MessageRow(
                    m.ChatId,
                    seq,
                    m.SenderId,
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    m.ClientId,
                    m.Kind,
                    m.Text,
                    m.ReplyToSeq,
                    reader.IsDBNull(4) ? null : reader.GetString(4),
                    reader.GetFieldValue<Guid[]>(5),
                    reader.GetFieldValue<DateTime>(6),
                    null,
                    null,
                    seq,
                    null), true);
            }
        }

        // A resend (rare): the stored message as it is now (it may have been edited or reacted to since).
        foreach (var (i, seq) in resent)
        {
            if (await GetAsync(batch[i].ChatId, seq, ct) is { } stored)
            {
                results[i] = (stored, false);
            }
        }

        return results;
    }

    /// <summary>The batch statement; internal for the test that reads its plan (MessageSendPlanTests).</summary>
    internal const string AppendBatchSql = """
        WITH input AS (
            SELECT * FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::bigint[], $8::text[], $11::bool[])
                AS t(idx, chat_id, sender_id, client_id, kind, text, reply_to_seq, forwarded_from, after)
        ), existing AS MATERIALIZED (
            -- Resends: one probe of the unique (chat_id, sender_id, client_id) index per message (migration 0013). LIMIT
            -- keeps it a per-message probe: as a join, a plan made while the table was empty would scan it whole.
            SELECT i.idx, e.seq FROM input i
            CROSS JOIN LATERAL (SELECT e.seq FROM messages e WHERE e.chat_id = i.chat_id AND e.sender_id = i.sender_id AND e.client_id = i.client_id LIMIT 1) e
        ), allowed AS (
            SELECT i.* FROM input i
            JOIN chats c ON c.id = i.chat_id
            JOIN chat_members cm ON cm.chat_id = c.id AND cm.account_id = i.sender_id
            JOIN schools s ON s.id = c.school_id AND s.status = 'active'
            WHERE c.archived_at IS NULL
              AND (NOT c.read_only OR cm.role <> 'member')
              AND NOT EXISTS (SELECT 1 FROM chat_restrictions x WHERE x.chat_id = c.id AND x.account_id = i.sender_id AND x.lifted_at IS NULL AND x.ends_at > now())
              AND (c.slow_mode_seconds = 0 OR cm.role <> 'member' OR NOT EXISTS (
                   SELECT 1 FROM messages p WHERE p.sender_id = i.sender_id
                   AND p.created_at > now() - make_interval(secs => c.slow_mode_seconds) AND p.chat_id = c.id))
              -- Slow mode within the batch: an earlier message of the sender to the chat that is neither a resend nor a
              -- reply to nothing (the only checks that differ between two messages of one sender to one chat) is stored.
              -- ($11, "after": the sender has an earlier message to the chat in the batch; only those are looked at.)
              AND (c.slow_mode_seconds = 0 OR cm.role <> 'member' OR NOT i.after OR NOT EXISTS (
                   SELECT 1 FROM input j WHERE j.chat_id = i.chat_id AND j.sender_id = i.sender_id AND j.idx < i.idx
                   AND NOT EXISTS (SELECT 1 FROM existing e WHERE e.idx = j.idx)
                   AND (j.reply_to_seq IS NULL OR EXISTS (SELECT 1 FROM messages r WHERE r.chat_id = j.chat_id AND r.seq = j.reply_to_seq))))
              AND (i.reply_to_seq IS NULL OR EXISTS (SELECT 1 FROM messages r WHERE r.chat_id = c.id AND r.seq = i.reply_to_seq))
              AND NOT EXISTS (SELECT 1 FROM existing e WHERE e.idx = i.idx)
        ), counts AS (
            SELECT chat_id, count(*) AS n FROM allowed GROUP BY chat_id
        ), locked AS (
            -- Chats are locked in id order, so two nodes' batches over the same chats cannot deadlock.
            SELECT c.id FROM chats c WHERE c.id IN (SELECT chat_id FROM counts) ORDER BY c.id FOR UPDATE
        ), bump AS (
            UPDATE chats c SET last_seq = c.last_seq + k.n, last_message_at = now()
            FROM counts k WHERE c.id = k.chat_id AND c.id IN (SELECT id FROM locked)
            RETURNING c.id, c.last_seq, k.n
        ), numbered AS (
            SELECT a.*, b.last_seq - b.n + row_number() OVER (PARTITION BY a.chat_id ORDER BY a.idx) AS seq
            FROM allowed a JOIN bump b ON b.id = a.chat_id
        ), inserted AS (
            INSERT INTO messages (chat_id, seq, sender_id, client_id, kind, text, reply_to_seq, forwarded_from, mentions, version_seq)
            SELECT n.chat_id, n.seq, n.sender_id, n.client_id, n.kind, n.text, n.reply_to_seq, n.forwarded_from::jsonb,
                   ARRAY(SELECT x.id FROM unnest($9::int[], $10::uuid[]) x(idx, id)
                         WHERE x.idx = n.idx AND EXISTS (SELECT 1 FROM chat_members mm WHERE mm.chat_id = n.chat_id AND mm.account_id = x.id)),
                   n.seq
            FROM numbered n
            RETURNING chat_id, seq, sender_id, client_id, forwarded_from::text AS forwarded_from, mentions, created_at
        )
        SELECT i.idx, true AS created, m.seq, a.display_name, m.forwarded_from, m.mentions, m.created_at
        FROM inserted m JOIN input i ON i.chat_id = m.chat_id AND i.sender_id = m.sender_id AND i.client_id = m.client_id
        LEFT JOIN accounts a ON a.id = m.sender_id
        UNION ALL
        SELECT e.idx, false, e.seq, NULL, NULL, NULL, NULL FROM existing e JOIN input i ON i.idx = e.idx
        WHERE EXISTS (SELECT 1 FROM chat_members cm WHERE cm.chat_id = i.chat_id AND cm.account_id = i.sender_id)
        """;

    /// <summary>Why a send was refused (the slow path, run only after a refusal).</summary>
    public async Task<(SendRefusal Refusal, int SlowModeSeconds)> DiagnoseAsync(NewMessage m, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var info = await c.QuerySingleOrDefaultAsync<(string Role, bool ReadOnly, int SlowMode, bool ReplyExists, bool Archived)>(new CommandDefinition(
            """
            SELECT cm.role, c.read_only, c.slow_mode_seconds,
                   (@ReplyToSeq::bigint IS NULL OR EXISTS (SELECT 1 FROM messages r WHERE r.chat_id = c.id AND r.seq = @ReplyToSeq)),
                   c.archived_at IS NOT NULL
            FROM chats c JOIN chat_members cm ON cm.chat_id = c.id AND cm.account_id = @SenderId
            JOIN schools s ON s.id = c.school_id AND s.status = 'active'
            WHERE c.id = @ChatId
            """,
            new { m.ChatId, m.SenderId, m.ReplyToSeq }, cancellationToken: ct));
        if (info == default)
        {
            return (SendRefusal.NotMember, 0);
        }

        if (info.Archived)
        {
            return (SendRefusal.Archived, 0);
        }

        if (info.ReadOnly && info.Role == "member")
        {
            return (SendRefusal.ReadOnly, 0);
        }

        var restricted = await c.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM chat_restrictions WHERE chat_id = @ChatId AND account_id = @SenderId AND lifted_at IS NULL AND ends_at > now())",
            new { m.ChatId, m.SenderId }, cancellationToken: ct));
        if (restricted)
        {
            return (SendRefusal.Restricted, 0);
        }

        return !info.ReplyExists ? (SendRefusal.ReplyNotFound, 0) : (SendRefusal.SlowMode, info.SlowMode);
    }

    public async Task<MessageRow?> GetAsync(Guid chatId, long seq, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<MessageRow>(new CommandDefinition(
            $"SELECT {MessageColumns} FROM messages m LEFT JOIN accounts a ON a.id = m.sender_id WHERE m.chat_id = @chatId AND m.seq = @seq",
            new { chatId, seq }, cancellationToken: ct));
    }

    /// <summary>Messages before <paramref name="beforeSeq"/> (or the newest), oldest first.</summary>
    public async Task<IReadOnlyList<MessageRow>> HistoryAsync(Guid chatId, long? beforeSeq, int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = (await c.QueryAsync<MessageRow>(new CommandDefinition(
            $"""
            SELECT {MessageColumns} FROM messages m LEFT JOIN accounts a ON a.id = m.sender_id
            WHERE m.chat_id = @chatId AND (@beforeSeq::bigint IS NULL OR m.seq < @beforeSeq)
            ORDER BY m.seq DESC LIMIT @limit
            """,
            new { chatId, beforeSeq, limit }, cancellationToken: ct))).AsList();
        rows.Reverse();
        return rows;
    }

    /// <summary>The newest message of each of these chats (chats without messages are left out), in one round trip.</summary>
    public async Task<IReadOnlyList<MessageRow>> LatestOfChatsAsync(IReadOnlyCollection<Guid> chatIds, CancellationToken ct)
    {
        if (chatIds.Count == 0)
        {
            return [];
        }

        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<MessageRow>(new CommandDefinition(
            $"""
            SELECT {MessageColumns}
            FROM unnest(@chatIds::uuid[]) AS ch(id)
            CROSS JOIN LATERAL (SELECT * FROM messages WHERE chat_id = ch.id ORDER BY seq DESC LIMIT 1) m
            LEFT JOIN accounts a ON a.id = m.sender_id
            """,
            new { chatIds = chatIds.ToArray() }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Catch-up in one round trip and one snapshot: the caller's role in the chat (null: no access, and then no event is
    /// read), the chat's last seq, and the events (messages and changes) after <paramref name="afterSeq"/>, at most
    /// <paramref name="limit"/>. One snapshot also means that a message and a later change committed meanwhile cannot
    /// come back as the change without the message (a client that moved on to the change's seq would never see it).
    /// </summary>
    public async Task<ChatUpdatesRow> UpdatesForAsync(Guid chatId, Guid accountId, long afterSeq, int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = (await c.QueryAsync<UpdatesHead, MessageRow, (UpdatesHead Head, MessageRow? Message)>(new CommandDefinition(
            $"""
            WITH acc AS MATERIALIZED (
                SELECT ({Chats.ChatStore.RoleSql} LIMIT 1) AS role, coalesce((SELECT last_seq FROM chats WHERE id = @chatId), 0) AS last_seq
            ), ev AS (
                (SELECT seq, 'message' AS type, seq AS message_seq FROM messages
                 WHERE chat_id = @chatId AND seq > @afterSeq AND (SELECT role FROM acc) IS NOT NULL ORDER BY seq LIMIT @limit)
                UNION ALL
                (SELECT seq, kind, message_seq FROM message_changes
                 WHERE chat_id = @chatId AND seq > @afterSeq AND (SELECT role FROM acc) IS NOT NULL ORDER BY seq LIMIT @limit)
                ORDER BY 1 LIMIT @limit
            )
            SELECT acc.role, acc.last_seq, e.*
            FROM acc LEFT JOIN LATERAL (
                SELECT ev.seq AS event_seq, ev.type AS event_type, {MessageColumns}
                FROM ev JOIN messages m ON m.chat_id = @chatId AND m.seq = ev.message_seq LEFT JOIN accounts a ON a.id = m.sender_id
            ) e ON true
            ORDER BY e.event_seq
            """,
            new { chatId, accountId, afterSeq, limit }, cancellationToken: ct),
            (head, message) => (head, message),
            splitOn: "chat_id")).AsList();

        // acc always yields one row; with no events its message columns are null (Dapper maps them to no message).
        var first = rows[0].Head;
        var events = rows.Where(r => r.Message is not null && r.Head.EventSeq is not null)
            .Select(r => new ChatEventRow(r.Head.EventSeq!.Value, r.Head.EventType!, r.Message!)).ToList();
        return new ChatUpdatesRow(first.Role, first.LastSeq, events);
    }

    private sealed record UpdatesHead(string? Role, long LastSeq, long? EventSeq, string? EventType);


    /// <summary>Records a change (edit, deletion, reactions, a poll closing, pinning) of a message as the next entry of the chat's sequence; no actor when the server made it.</summary>
    public async Task<long> AppendChangeAsync(DbScope s, Guid chatId, long messageSeq, string kind, Guid? actorId, CancellationToken ct)
    {
        var seq = await s.Connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "UPDATE chats SET last_seq = last_seq + 1 WHERE id = @chatId RETURNING last_seq", new { chatId }, s.Transaction, cancellationToken: ct));
        await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO message_changes (chat_id, seq, message_seq, kind, actor_id) VALUES (@chatId, @seq, @messageSeq, @kind, @actorId);
            UPDATE messages SET version_seq = @seq WHERE chat_id = @chatId AND seq = @messageSeq;
            """,
            new { chatId, seq, messageSeq, kind, actorId }, s.Transaction, cancellationToken: ct));
        return seq;
    }

    /// <summary>Locks the message for a change; null when it does not exist.</summary>
    public async Task<(Guid? SenderId, string Text, DateTime? DeletedAt)?> LockAsync(DbScope s, Guid chatId, long seq, CancellationToken ct)
    {
        var row = await s.Connection.QuerySingleOrDefaultAsync<(Guid? SenderId, string Text, DateTime? DeletedAt)?>(new CommandDefinition(
            "SELECT sender_id, text, deleted_at FROM messages WHERE chat_id = @chatId AND seq = @seq FOR UPDATE",
            new { chatId, seq }, s.Transaction, cancellationToken: ct));
        return row;
    }

    /// <summary>The seq of the chat's pinned message as it is now (no lock); null when none is pinned.</summary>
    public Task<long?> PinnedSeqAsync(DbScope s, Guid chatId, CancellationToken ct) =>
        s.Connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT pinned_seq FROM chats WHERE id = @chatId", new { chatId }, s.Transaction, cancellationToken: ct));

    /// <summary>Locks these messages of the chat in seq order (two changes locking two messages never wait on each other in a circle); the ones that exist.</summary>
    public async Task<IReadOnlyList<(long Seq, DateTime? DeletedAt)>> LockManyAsync(DbScope s, Guid chatId, long[] seqs, CancellationToken ct) =>
        (await s.Connection.QueryAsync<(long Seq, DateTime? DeletedAt)>(new CommandDefinition(
            "SELECT seq, deleted_at FROM messages WHERE chat_id = @chatId AND seq = ANY(@seqs) ORDER BY seq FOR UPDATE",
            new { chatId, seqs }, s.Transaction, cancellationToken: ct))).AsList();

    /// <summary>
    /// Locks the chat's row (after the messages', the order every change of a message takes) and reads the seq of its
    /// pinned message; null when none is pinned.
    /// </summary>
    public Task<long?> LockPinnedAsync(DbScope s, Guid chatId, CancellationToken ct) =>
        s.Connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT pinned_seq FROM chats WHERE id = @chatId FOR UPDATE", new { chatId }, s.Transaction, cancellationToken: ct));

    /// <summary>Pins the message (null: unpins whatever was pinned).</summary>
    public Task SetPinnedAsync(DbScope s, Guid chatId, long? seq, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE chats SET pinned_seq = @seq WHERE id = @chatId", new { chatId, seq }, s.Transaction, cancellationToken: ct));

    /// <summary>The chat's pinned message; null when none is pinned or it was deleted since.</summary>
    public async Task<MessageRow?> PinnedAsync(Guid chatId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<MessageRow>(new CommandDefinition(
            $"""
            SELECT {MessageColumns} FROM chats ch JOIN messages m ON m.chat_id = ch.id AND m.seq = ch.pinned_seq
            LEFT JOIN accounts a ON a.id = m.sender_id
            WHERE ch.id = @chatId AND m.deleted_at IS NULL
            """,
            new { chatId }, cancellationToken: ct));
    }

    /// <summary>Replaces the text, keeping the earlier one for moderators; <paramref name="mentions"/> null keeps the mentions.</summary>
    public Task EditAsync(DbScope s, Guid chatId, long seq, string oldText, string newText, Guid[]? mentions, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO message_edits (chat_id, message_seq, old_text) VALUES (@chatId, @seq, @oldText);
            UPDATE messages SET text = @newText, edited_at = now(),
                mentions = CASE WHEN @mentions::uuid[] IS NULL THEN mentions ELSE
                    ARRAY(SELECT x FROM unnest(@mentions::uuid[]) x WHERE EXISTS (SELECT 1 FROM chat_members mm WHERE mm.chat_id = @chatId AND mm.account_id = x)) END
            WHERE chat_id = @chatId AND seq = @seq;
            """,
            new { chatId, seq, oldText, newText, mentions }, s.Transaction, cancellationToken: ct));

    public Task DeleteAsync(DbScope s, Guid chatId, long seq, Guid deletedBy, CancellationToken ct, Guid? ruleId = null) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE messages SET deleted_at = now(), deleted_by = @deletedBy, deleted_rule_id = @ruleId, mentions = '{}' WHERE chat_id = @chatId AND seq = @seq",
            new { chatId, seq, deletedBy, ruleId }, s.Transaction, cancellationToken: ct));

    /// <summary>
    /// Deletes everything a person wrote in one school's chats (account deletion under the school's "remove" policy) in
    /// a fixed number of statements, whatever their number: each chat's sequence is advanced by its number of messages, and every
    /// message gets its "deleted" change, so clients catching up by seq see the deletions. Locks are taken in the order
    /// every other path takes them — the messages first (an edit or a moderator's deletion locks its message, then its
    /// chat), in (chat, seq) order, then the chats in id order (as the send batch does) — so none of them can deadlock
    /// with this. Returns how many were deleted.
    /// </summary>
    public async Task<int> DeleteAllOfSenderAsync(DbScope s, Guid schoolId, Guid senderId, CancellationToken ct)
    {
        // Theirs: what they sent, and the copies others forwarded of it (their words under their name).
        const string Theirs = """
            SELECT m.chat_id, m.seq FROM messages m JOIN chats c ON c.id = m.chat_id
            WHERE c.school_id = @schoolId AND m.sender_id = @senderId AND m.deleted_at IS NULL
            UNION
            SELECT m.chat_id, m.seq FROM messages m JOIN chats c ON c.id = m.chat_id
            WHERE c.school_id = @schoolId AND m.forwarded_from IS NOT NULL AND (m.forwarded_from ->> 'senderId') = @sender AND m.deleted_at IS NULL
            """;
        var sender = senderId.ToString();
        await s.Connection.ExecuteAsync(new CommandDefinition(
            $"""
            SELECT 1 FROM messages m WHERE (m.chat_id, m.seq) IN ({Theirs}) ORDER BY m.chat_id, m.seq FOR UPDATE OF m;
            SELECT 1 FROM chats WHERE id IN (SELECT chat_id FROM ({Theirs}) t) ORDER BY id FOR UPDATE;
            """,
            new { schoolId, senderId, sender }, s.Transaction, cancellationToken: ct));
        return await s.Connection.ExecuteScalarAsync<int>(new CommandDefinition(
            $$"""
            WITH own AS (
                {{Theirs}}
            ), bumped AS (
                UPDATE chats c SET last_seq = c.last_seq + o.n
                FROM (SELECT chat_id, count(*) AS n FROM own GROUP BY chat_id) o
                WHERE c.id = o.chat_id
                RETURNING c.id, c.last_seq - o.n AS base
            ), numbered AS (
                SELECT o.chat_id, o.seq, b.base + row_number() OVER (PARTITION BY o.chat_id ORDER BY o.seq) AS change_seq
                FROM own o JOIN bumped b ON b.id = o.chat_id
            ), changes AS (
                INSERT INTO message_changes (chat_id, seq, message_seq, kind, actor_id)
                SELECT chat_id, change_seq, seq, 'deleted', @senderId FROM numbered
            ), deleted AS (
                UPDATE messages m SET deleted_at = now(), deleted_by = @senderId, mentions = '{}', version_seq = n.change_seq
                FROM numbered n WHERE m.chat_id = n.chat_id AND m.seq = n.seq
                RETURNING 1
            )
            SELECT count(*)::int FROM deleted
            """,
            new { schoolId, senderId, sender }, s.Transaction, cancellationToken: ct));
    }

    /// <summary>
    /// Copies of a deleted person's messages that others forwarded in the school stop naming them: «Переслано · <the
    /// name>» becomes the name deleted accounts go by. Returns how many.
    /// </summary>
    public Task<int> ForgetForwardedSenderAsync(DbScope s, Guid schoolId, Guid senderId, string deletedName, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE messages m SET forwarded_from = m.forwarded_from || jsonb_build_object('senderName', @deletedName::text)
            FROM chats c
            WHERE c.id = m.chat_id AND c.school_id = @schoolId AND m.forwarded_from IS NOT NULL AND (m.forwarded_from ->> 'senderId') = @sender
            """,
            new { schoolId, sender = senderId.ToString(), deletedName }, s.Transaction, cancellationToken: ct));

    /// <summary>Adds or removes one reaction; false when nothing changed.</summary>
    public async Task<bool> SetReactionAsync(DbScope s, Guid chatId, long seq, Guid accountId, string emoji, bool add, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            add
                ? "INSERT INTO message_reactions (chat_id, message_seq, account_id, emoji) VALUES (@chatId, @seq, @accountId, @emoji) ON CONFLICT DO NOTHING"
                : "DELETE FROM message_reactions WHERE chat_id = @chatId AND message_seq = @seq AND account_id = @accountId AND emoji = @emoji",
            new { chatId, seq, accountId, emoji }, s.Transaction, cancellationToken: ct)) == 1;

    /// <summary>How many other reactions (not <paramref name="exceptEmoji"/>) the person has put on the message.</summary>
    public async Task<int> CountOtherReactionKindsAsync(DbScope s, Guid chatId, long seq, Guid accountId, string exceptEmoji, CancellationToken ct) =>
        await s.Connection.ExecuteScalarAsync<int>(new CommandDefinition(
            "SELECT count(*)::int FROM message_reactions WHERE chat_id = @chatId AND message_seq = @seq AND account_id = @accountId AND emoji <> @exceptEmoji",
            new { chatId, seq, accountId, exceptEmoji }, s.Transaction, cancellationToken: ct));

    public async Task<IReadOnlyList<(string OldText, DateTime EditedAt)>> EditHistoryAsync(Guid chatId, long seq, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<(string, DateTime)>(new CommandDefinition(
            "SELECT old_text, edited_at FROM message_edits WHERE chat_id = @chatId AND message_seq = @seq ORDER BY edited_at",
            new { chatId, seq }, cancellationToken: ct))).AsList();
    }

    /// <summary>Everything a person wrote (for their data export), newest first.</summary>
    public async Task<IReadOnlyList<MessageRow>> OwnMessagesAsync(Guid accountId, int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<MessageRow>(new CommandDefinition(
            $"SELECT {MessageColumns} FROM messages m LEFT JOIN accounts a ON a.id = m.sender_id WHERE m.sender_id = @accountId ORDER BY m.created_at DESC LIMIT @limit",
            new { accountId, limit }, cancellationToken: ct))).AsList();
    }

    /// <summary>Full-text search (Russian stemming) in the chats the person belongs to.</summary>
    public async Task<IReadOnlyList<MessageRow>> SearchAsync(Guid accountId, Guid? schoolId, string query, int limit, CancellationToken ct) =>
        (await SearchPageAsync(new SearchFilter(accountId, schoolId, null, null), query, limit, withWords: false, ct)).Select(h => h.Message).ToList();

    /// <summary>
    /// One page of a full-text search of message texts and the names of their files, newest first, keyset-paged by (created_at, chat_id, seq) below
    /// <see cref="SearchFilter.Before"/>. Without a chat: the person's chats (of the school, if given) in active schools
    /// (a suspended school's chats are not read, as history and files are not); with a chat: only that chat (the caller
    /// has checked the person's access to it). Each hit carries the words of its text that matched
    /// (<c>ts_headline</c> with control characters as markers: message texts cannot hold them), lower-cased, as plain text;
    /// without <paramref name="withWords"/> the words are not computed (<c>ts_headline</c> re-parses every hit's text) and
    /// each hit has none.
    /// </summary>
    public async Task<IReadOnlyList<SearchHitRow>> SearchPageAsync(SearchFilter filter, string query, int limit, bool withWords, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var (accountId, schoolId, chatId, before) = filter;
        return (await c.QueryAsync<MessageRow, SearchWordsRow, SearchHitRow>(new CommandDefinition(
            $"""
            SELECT {MessageColumns},
                   CASE WHEN NOT @withWords THEN ARRAY[]::text[] ELSE ARRAY(SELECT DISTINCT lower(w[1]) FROM regexp_matches(
                       ts_headline('russian', CASE WHEN m.files_search IS NULL THEN m.text ELSE message_files_text(m.chat_id, m.seq, m.text) END,
                           websearch_to_tsquery('russian', @query), 'HighlightAll=true, StartSel=' || chr(1) || ', StopSel=' || chr(2)),
                       chr(1) || '([^' || chr(2) || ']+)' || chr(2), 'g') w) END AS words
            FROM (
                SELECT m.* FROM messages m
                WHERE (CASE WHEN @chatId::uuid IS NOT NULL THEN m.chat_id = @chatId
                            ELSE m.chat_id IN (SELECT cm.chat_id FROM chat_members cm JOIN chats ch ON ch.id = cm.chat_id
                                               JOIN schools sc ON sc.id = ch.school_id AND sc.status = 'active'
                                               WHERE cm.account_id = @accountId AND (@schoolId::uuid IS NULL OR ch.school_id = @schoolId)) END)
                  -- A message of files is searched as its caption with its files' names (files_search, 0024); any other by its text.
                  AND ((m.files_search IS NULL AND m.search @@ websearch_to_tsquery('russian', @query))
                       OR m.files_search @@ websearch_to_tsquery('russian', @query))
                  AND m.deleted_at IS NULL
                  AND (@beforeAt::timestamptz IS NULL OR (m.created_at, m.chat_id, m.seq) < (@beforeAt, @beforeChatId, @beforeSeq))
                ORDER BY m.created_at DESC, m.chat_id DESC, m.seq DESC LIMIT @limit
            ) m LEFT JOIN accounts a ON a.id = m.sender_id
            ORDER BY m.created_at DESC, m.chat_id DESC, m.seq DESC
            """,
            new { accountId, schoolId, chatId, query, limit, withWords, beforeAt = before?.CreatedAt, beforeChatId = before?.ChatId, beforeSeq = before?.Seq },
            cancellationToken: ct),
            (message, words) => new SearchHitRow(message, words.Words),
            splitOn: "words")).AsList();
    }
}

/// <summary>Where a search looks: the person's chats (of one school), or one chat; below a hit of the previous page.</summary>
public sealed record SearchFilter(Guid AccountId, Guid? SchoolId, Guid? ChatId, SearchPosition? Before);

/// <summary>A hit's place in the search order (newest first).</summary>
public sealed record SearchPosition(DateTime CreatedAt, Guid ChatId, long Seq);

public sealed record SearchWordsRow(string[] Words);

public sealed record SearchHitRow(MessageRow Message, string[] Words);
