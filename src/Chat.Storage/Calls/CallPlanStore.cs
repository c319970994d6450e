using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Calls;

/// <summary>A planned call, lesson or broadcast in a chat.</summary>
public sealed record CallPlanRow(
    Guid Id, Guid ChatId, Guid HostId, string Kind, string Title, DateTime StartsAt, DateTime CreatedAt, DateTime? CancelledAt, Guid? CallId);

/// <summary>A plan whose reminder went out: <see cref="AtStart"/> when the "starts now" one did.</summary>
public sealed record RemindedPlanRow(Guid Id, Guid ChatId, Guid HostId, string Kind, string Title, DateTime StartsAt, bool AtStart);

public sealed class CallPlanStore(NpgsqlDataSource db)
{
    private const string Columns = "id, chat_id, host_id, kind, title, starts_at, created_at, cancelled_at, call_id";

    /// <summary>The new plan, or null when a plan with this id exists already (a retry: the caller reads that one).</summary>
    public async Task<CallPlanRow?> InsertAsync(Guid id, Guid chatId, Guid hostId, string kind, string title, DateTime startsAt, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<CallPlanRow>(new CommandDefinition(
            $"INSERT INTO call_plans (id, chat_id, host_id, kind, title, starts_at) VALUES (@id, @chatId, @hostId, @kind, @title, @startsAt) ON CONFLICT (id) DO NOTHING RETURNING {Columns}",
            new { id, chatId, hostId, kind, title, startsAt }, cancellationToken: ct));
    }

    public async Task<CallPlanRow?> GetAsync(Guid id, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<CallPlanRow>(new CommandDefinition(
            $"SELECT {Columns} FROM call_plans WHERE id = @id", new { id }, cancellationToken: ct));
    }

    /// <summary>Plans of the chat that are not cancelled and started at most <paramref name="since"/> ago.</summary>
    public async Task<IReadOnlyList<CallPlanRow>> UpcomingAsync(Guid chatId, DateTime since, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<CallPlanRow>(new CommandDefinition(
            $"SELECT {Columns} FROM call_plans WHERE chat_id = @chatId AND cancelled_at IS NULL AND starts_at >= @since ORDER BY starts_at, id LIMIT 100",
            new { chatId, since }, cancellationToken: ct))).AsList();
    }

    public async Task<bool> CancelAsync(Guid id, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteAsync(new CommandDefinition(
            "UPDATE call_plans SET cancelled_at = now() WHERE id = @id AND cancelled_at IS NULL", new { id }, cancellationToken: ct)) == 1;
    }

    /// <summary>
    /// Cancels the plans, not started yet, that these (chat, host) pairs made, where the host is no longer a member of
    /// the chat (a teacher who left the school or was taken out of the chat): nobody would host them. Returns them.
    /// </summary>
    public async Task<IReadOnlyList<CallPlanRow>> CancelOfHostsGoneAsync(IReadOnlyCollection<(Guid ChatId, Guid AccountId)> pairs, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<CallPlanRow>(new CommandDefinition(
            $"""
            WITH gone AS (
                SELECT p.id FROM call_plans p
                JOIN unnest(@chatIds, @accountIds) AS l(chat_id, account_id) ON p.chat_id = l.chat_id AND p.host_id = l.account_id
                WHERE p.cancelled_at IS NULL AND p.call_id IS NULL AND p.starts_at > now() - interval '6 hours'
                  AND NOT EXISTS (SELECT 1 FROM chat_members m WHERE m.chat_id = p.chat_id AND m.account_id = p.host_id))
            UPDATE call_plans SET cancelled_at = now()
            WHERE id IN (SELECT id FROM gone) AND cancelled_at IS NULL
            RETURNING {Columns}
            """,
            new { chatIds = pairs.Select(p => p.ChatId).ToArray(), accountIds = pairs.Select(p => p.AccountId).ToArray() }, cancellationToken: ct))).AsList();
    }

    /// <summary>Links the plan to the call opened for it.</summary>
    public async Task LinkAsync(DbScope s, Guid id, Guid callId, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE call_plans SET call_id = @callId WHERE id = @id", new { id, callId }, s.Transaction, cancellationToken: ct));

    /// <summary>Locks the plan row (two people coming at once open one call).</summary>
    public async Task<CallPlanRow?> LockAsync(DbScope s, Guid id, CancellationToken ct) =>
        await s.Connection.QuerySingleOrDefaultAsync<CallPlanRow>(new CommandDefinition(
            $"SELECT {Columns} FROM call_plans WHERE id = @id FOR UPDATE", new { id }, s.Transaction, cancellationToken: ct));

    /// <summary>
    /// Claims the due "starts soon" reminders: plans starting within <paramref name="lead"/> from now, not cancelled,
    /// whose call has not started (no call linked, no live call in the chat), not reminded yet. The conditional update
    /// is the claim: of several nodes polling at once, each plan goes to exactly one (the row lock and the re-checked
    /// <c>reminded_at IS NULL</c> make the others skip it).
    /// </summary>
    public Task<IReadOnlyList<CallPlanRow>> ClaimSoonRemindersAsync(TimeSpan lead, int limit, CancellationToken ct) =>
        ClaimAsync(
            "reminded_at IS NULL AND starts_at > now() AND starts_at <= now() + @lead",
            "reminded_at = now()",
            new { lead, limit }, ct);

    /// <summary>
    /// Claims the due "starts now" reminders: plans whose start came at most <paramref name="late"/> ago (a node that was
    /// down longer does not remind of a lesson long under way), on the same terms. The "soon" one, if never sent, is
    /// then not sent any more either.
    /// </summary>
    public Task<IReadOnlyList<CallPlanRow>> ClaimStartRemindersAsync(TimeSpan late, int limit, CancellationToken ct) =>
        ClaimAsync(
            "start_reminded_at IS NULL AND starts_at <= now() AND starts_at > now() - @late",
            "start_reminded_at = now(), reminded_at = coalesce(reminded_at, now())",
            new { late, limit }, ct);

    /// <summary>
    /// The plans of the person's chats whose reminder went out and that still wait for their call: not cancelled, no
    /// call opened for them, none live in the chat and none started there since the reminder went out (the teacher began
    /// the lesson by hand), started at most <paramref name="shownFor"/> ago. Chats where the
    /// person is blocked, archived chats and suspended schools are left out. Soonest first.
    /// </summary>
    public async Task<IReadOnlyList<RemindedPlanRow>> RemindedForAsync(Guid accountId, TimeSpan shownFor, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<RemindedPlanRow>(new CommandDefinition(
            """
            SELECT p.id, p.chat_id, p.host_id, p.kind, p.title, p.starts_at, p.start_reminded_at IS NOT NULL AS at_start
            FROM chat_members m
            JOIN chats ch ON ch.id = m.chat_id AND ch.archived_at IS NULL
            JOIN schools s ON s.id = ch.school_id AND s.status = 'active'
            JOIN call_plans p ON p.chat_id = m.chat_id
            WHERE m.account_id = @accountId
              AND p.reminded_at IS NOT NULL AND p.cancelled_at IS NULL AND p.call_id IS NULL AND p.starts_at > now() - @shownFor
              AND NOT EXISTS (SELECT 1 FROM calls k WHERE k.chat_id = p.chat_id AND (k.ended_at IS NULL OR k.started_at >= p.reminded_at))
              AND NOT EXISTS (SELECT 1 FROM chat_restrictions x WHERE x.chat_id = p.chat_id AND x.account_id = @accountId
                              AND x.kind = 'block' AND x.lifted_at IS NULL AND x.ends_at > now())
            ORDER BY p.starts_at
            """, new { accountId, shownFor }, cancellationToken: ct))).AsList();
    }

    private async Task<IReadOnlyList<CallPlanRow>> ClaimAsync(string due, string set, object parameters, CancellationToken ct)
    {
        var condition = $"""
            {due} AND start_reminded_at IS NULL AND cancelled_at IS NULL AND call_id IS NULL
            AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.chat_id = call_plans.chat_id AND c.ended_at IS NULL)
            """;
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<CallPlanRow>(new CommandDefinition(
            $"""
            UPDATE call_plans SET {set}
            WHERE id IN (SELECT id FROM call_plans WHERE {condition} ORDER BY starts_at LIMIT @limit FOR UPDATE SKIP LOCKED)
              AND {condition}
            RETURNING {Columns}
            """,
            parameters, cancellationToken: ct))).AsList();
    }
}
