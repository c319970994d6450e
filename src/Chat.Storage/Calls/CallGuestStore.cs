using Dapper;
using Npgsql;

namespace Chat.Storage.Calls;

/// <summary>Someone from the call's school, outside its chat, who asked to join through the waiting room.</summary>
public sealed record CallGuestRow(Guid CallId, Guid AccountId, string DisplayName, string Status, DateTime AskedAt, DateTime? DecidedAt);

/// <summary>The waiting room of calls: who asked, who was admitted or rejected.</summary>
public sealed class CallGuestStore(NpgsqlDataSource db)
{
    /// <summary>
    /// Records a request to join (again "waiting" unless already decided); returns the row as it now stands, or null when
    /// the call has ended or its waiting room is closed. The call's row is read under a share lock, so a request is
    /// either in before the room closes or the call ends (and those waiting are then told), or refused after.
    /// </summary>
    public async Task<CallGuestRow?> AskAsync(Guid callId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<CallGuestRow>(new CommandDefinition(
            """
            WITH live AS (
                SELECT id FROM calls WHERE id = @callId AND waiting_room AND ended_at IS NULL FOR SHARE
            ), up AS (
                INSERT INTO call_guests (call_id, account_id, status) SELECT @callId, @accountId, 'waiting' FROM live
                ON CONFLICT (call_id, account_id) DO UPDATE SET status = call_guests.status
                RETURNING call_id, account_id, status, asked_at, decided_at)
            SELECT up.call_id, up.account_id, a.display_name, up.status, up.asked_at, up.decided_at FROM up JOIN accounts a ON a.id = up.account_id
            """,
            new { callId, accountId }, cancellationToken: ct));
    }

    public async Task<CallGuestRow?> GetAsync(Guid callId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<CallGuestRow>(new CommandDefinition(
            """
            SELECT g.call_id, g.account_id, a.display_name, g.status, g.asked_at, g.decided_at
            FROM call_guests g JOIN accounts a ON a.id = g.account_id WHERE g.call_id = @callId AND g.account_id = @accountId
            """,
            new { callId, accountId }, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<CallGuestRow>> ListAsync(Guid callId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<CallGuestRow>(new CommandDefinition(
            """
            SELECT g.call_id, g.account_id, a.display_name, g.status, g.asked_at, g.decided_at
            FROM call_guests g JOIN accounts a ON a.id = g.account_id WHERE g.call_id = @callId ORDER BY g.asked_at, g.account_id
            """,
            new { callId }, cancellationToken: ct))).AsList();
    }

    /// <summary>The host's decision on a request that exists; returns false when nobody by that id asked.</summary>
    public async Task<bool> DecideAsync(Guid callId, Guid accountId, bool admit, Guid decidedBy, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteAsync(new CommandDefinition(
            "UPDATE call_guests SET status = @status, decided_at = now(), decided_by = @decidedBy WHERE call_id = @callId AND account_id = @accountId",
            new { callId, accountId, status = admit ? "admitted" : "rejected", decidedBy }, cancellationToken: ct)) == 1;
    }

    /// <summary>Admitted guests who are still active members of the call's school (someone who left the school is out).</summary>
    public async Task<IReadOnlyList<Guid>> AdmittedAsync(Guid callId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<Guid>(new CommandDefinition(
            """
            SELECT g.account_id FROM call_guests g
            JOIN calls cl ON cl.id = g.call_id JOIN chats ch ON ch.id = cl.chat_id JOIN schools s ON s.id = ch.school_id AND s.status = 'active'
            JOIN school_members m ON m.school_id = ch.school_id AND m.account_id = g.account_id
            WHERE g.call_id = @callId AND g.status = 'admitted'
            """,
            new { callId }, cancellationToken: ct))).AsList();
    }

    /// <summary>Those still waiting for the host's decision (to be told the call ended: whatever their school's state).</summary>
    public async Task<IReadOnlyList<Guid>> WaitingAsync(Guid callId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<Guid>(new CommandDefinition(
            "SELECT account_id FROM call_guests WHERE call_id = @callId AND status = 'waiting'", new { callId }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// The waiting room closed: the requests still waiting are dropped (whoever wants in knocks again when it opens), so
    /// the host's queue holds nobody who left. Returns whose they were, to tell them.
    /// </summary>
    public async Task<IReadOnlyList<Guid>> DropWaitingAsync(Guid callId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<Guid>(new CommandDefinition(
            "DELETE FROM call_guests WHERE call_id = @callId AND status = 'waiting' RETURNING account_id", new { callId }, cancellationToken: ct))).AsList();
    }

    /// <summary>Whether the person belongs to the active school of the call's chat (who may knock on its waiting room).</summary>
    public async Task<bool> InSchoolOfCallAsync(Guid callId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<bool>(new CommandDefinition(
            """
            SELECT EXISTS (SELECT 1 FROM calls cl JOIN chats ch ON ch.id = cl.chat_id JOIN schools s ON s.id = ch.school_id AND s.status = 'active'
                           JOIN school_members m ON m.school_id = ch.school_id AND m.account_id = @accountId
                           WHERE cl.id = @callId)
            """,
            new { callId, accountId }, cancellationToken: ct));
    }
}
