using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Polls;

/// <summary>A poll as stored, with its message's author and whether the message was deleted.</summary>
public sealed record PollRow(
    Guid ChatId,
    long MessageSeq,
    Guid? AuthorId,
    string Question,
    string[] Options,
    bool Multiple,
    bool Anonymous,
    bool Quiz,
    short? CorrectOption,
    DateTime? ClosesAt,
    DateTime? ClosedAt,
    bool MessageDeleted)
{
    public bool IsOpen(DateTime now) => ClosedAt is null && (ClosesAt is null || ClosesAt > now);
}

public sealed record NewPoll(string Question, string[] Options, bool Multiple, bool Anonymous, bool Quiz, short? CorrectOption, DateTime? ClosesAt);

/// <summary>
/// Polls and ballots. A ballot is keyed by a keyed hash of (poll, voter) made by the caller, never by the account in an
/// anonymous poll. Every write authorizes in the same statement: the voter is a member of the chat (of an active school),
/// the poll's message is not deleted and the poll is open.
/// </summary>
public sealed class PollStore(NpgsqlDataSource db)
{
    private const string PollColumns = """
        p.chat_id, p.message_seq, m.sender_id AS author_id, p.question, p.options, p.multiple, p.anonymous, p.quiz,
        p.correct_option, p.closes_at, p.closed_at, m.deleted_at IS NOT NULL AS message_deleted
        """;

    /// <summary>Stores the poll of a new message (inside the transaction that appends the message).</summary>
    public Task InsertAsync(DbScope s, Guid chatId, long seq, NewPoll poll, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO polls (chat_id, message_seq, question, options, multiple, anonymous, quiz, correct_option, closes_at)
            VALUES (@chatId, @seq, @Question, @Options, @Multiple, @Anonymous, @Quiz, @CorrectOption, @ClosesAt)
            """,
            new { chatId, seq, poll.Question, poll.Options, poll.Multiple, poll.Anonymous, poll.Quiz, poll.CorrectOption, poll.ClosesAt },
            s.Transaction, cancellationToken: ct));

    public async Task<PollRow?> GetAsync(Guid chatId, long seq, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<PollRow>(new CommandDefinition(
            $"SELECT {PollColumns} FROM polls p JOIN messages m ON m.chat_id = p.chat_id AND m.seq = p.message_seq WHERE p.chat_id = @chatId AND p.message_seq = @seq",
            new { chatId, seq }, cancellationToken: ct));
    }

    /// <summary>The options of this voter's ballot, or null when they have not voted.</summary>
    public async Task<short[]?> BallotAsync(Guid chatId, long seq, byte[] voterKey, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<short[]?>(new CommandDefinition(
            "SELECT options FROM poll_ballots WHERE chat_id = @chatId AND message_seq = @seq AND voter_key = @voterKey",
            new { chatId, seq, voterKey }, cancellationToken: ct));
    }

    // The poll row is share-locked, so a vote and the poll's closing are ordered: a vote either counts in the closed
    // poll's results or is refused.
    private const string OpenPollForMember = """
        SELECT p.chat_id, p.message_seq, p.anonymous, p.quiz, cardinality(p.options) AS option_count, p.multiple FROM polls p
        JOIN messages m ON m.chat_id = p.chat_id AND m.seq = p.message_seq AND m.deleted_at IS NULL
        JOIN chat_members cm ON cm.chat_id = p.chat_id AND cm.account_id = @me
        JOIN chats c ON c.id = p.chat_id
        JOIN schools s ON s.id = c.school_id AND s.status = 'active'
        WHERE p.chat_id = @chatId AND p.message_seq = @seq AND p.closed_at IS NULL AND (p.closes_at IS NULL OR p.closes_at > now())
        FOR SHARE OF p
        """;

    /// <summary>
    /// Casts or replaces the voter's ballot; false when refused (not a member, no such open poll, options invalid, or a
    /// quiz already answered: a quiz answer is final, since the voter learns the right one).
    /// </summary>
    public async Task<bool> VoteAsync(Guid chatId, long seq, Guid me, byte[] voterKey, short[] options, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var stored = await c.ExecuteAsync(new CommandDefinition(
            $"""
            WITH target AS ({OpenPollForMember})
            INSERT INTO poll_ballots (chat_id, message_seq, voter_key, anonymous, account_id, options, voted_at)
            SELECT t.chat_id, t.message_seq, @voterKey, t.anonymous,
                   CASE WHEN t.anonymous THEN NULL ELSE @me::uuid END, @options, CASE WHEN t.anonymous THEN NULL ELSE now() END
            FROM target t
            WHERE (t.multiple OR cardinality(@options::smallint[]) = 1)
              AND NOT EXISTS (SELECT 1 FROM unnest(@options::smallint[]) x WHERE x < 0 OR x >= t.option_count)
            ON CONFLICT (chat_id, message_seq, voter_key) DO UPDATE SET options = EXCLUDED.options, voted_at = EXCLUDED.voted_at
            WHERE NOT EXISTS (SELECT 1 FROM polls q WHERE q.chat_id = EXCLUDED.chat_id AND q.message_seq = EXCLUDED.message_seq AND q.quiz)
            """,
            new { chatId, seq, me, voterKey, options }, cancellationToken: ct));
        return stored == 1;
    }

    /// <summary>Removes the voter's ballot (not in a quiz). Null when refused (not a member, no such open poll, a quiz); false when there was none.</summary>
    public async Task<bool?> RetractAsync(Guid chatId, long seq, Guid me, byte[] voterKey, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var result = await c.QuerySingleAsync<(bool Allowed, int Deleted)>(new CommandDefinition(
            $"""
            WITH target AS ({OpenPollForMember}),
            gone AS (
                DELETE FROM poll_ballots b USING target t
                WHERE b.chat_id = t.chat_id AND b.message_seq = t.message_seq AND b.voter_key = @voterKey AND NOT t.quiz
                RETURNING 1)
            SELECT EXISTS (SELECT 1 FROM target WHERE NOT quiz) AS allowed, (SELECT count(*)::int FROM gone) AS deleted
            """,
            new { chatId, seq, me, voterKey }, cancellationToken: ct));
        return result.Allowed ? result.Deleted > 0 : null;
    }

    /// <summary>Closes the poll now if it is still open; false when it was closed already (by someone, or by the clock).</summary>
    public async Task<bool> CloseAsync(DbScope s, Guid chatId, long seq, Guid? closedBy, bool onlyIfDue, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE polls SET closed_at = now(), closed_by = @closedBy
            WHERE chat_id = @chatId AND message_seq = @seq AND closed_at IS NULL AND (NOT @onlyIfDue OR closes_at <= now())
            """,
            new { chatId, seq, closedBy, onlyIfDue }, s.Transaction, cancellationToken: ct)) == 1;

    /// <summary>Open polls (of messages not deleted) whose closing time has come, oldest first.</summary>
    public async Task<IReadOnlyList<(Guid ChatId, long Seq)>> DueAsync(int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<(Guid, long)>(new CommandDefinition(
            """
            SELECT p.chat_id, p.message_seq FROM polls p
            JOIN messages m ON m.chat_id = p.chat_id AND m.seq = p.message_seq AND m.deleted_at IS NULL
            WHERE p.closed_at IS NULL AND p.closes_at <= now()
            ORDER BY p.closes_at LIMIT @limit
            """,
            new { limit }, cancellationToken: ct))).AsList();
    }
}
