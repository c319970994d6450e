using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Accounts;

public sealed record Session(
    Guid Id,
    Guid AccountId,
    string? Device,
    DateTime CreatedAt,
    DateTime LastSeenAt,
    DateTime ExpiresAt,
    DateTime? RevokedAt);

public enum RefreshOutcome
{
    Rotated,
    Unknown,
    Expired,
    /// <summary>An already rotated token came back: the session is treated as stolen and revoked.</summary>
    Reused,
}

public sealed class SessionStore(NpgsqlDataSource db)
{
    private const string Columns = "id, account_id, device, created_at, last_seen_at, expires_at, revoked_at";

    public async Task<Session> CreateAsync(DbScope s, Guid accountId, byte[] refreshHash, string? device, DateTime expiresAt, CancellationToken ct)
    {
        return await s.Connection.QuerySingleAsync<Session>(new CommandDefinition(
            $"INSERT INTO sessions (id, account_id, refresh_hash, device, expires_at) VALUES (@id, @accountId, @refreshHash, @device, @expiresAt) RETURNING {Columns}",
            new { id = Guid.CreateVersion7(), accountId, refreshHash, device, expiresAt }, s.Transaction, cancellationToken: ct));
    }

    /// <summary>
    /// Swaps the session's refresh token for a new one. A spent token coming back revokes the session — unless it is the
    /// retry of the last rotation (the same <paramref name="renewalHash"/> within <paramref name="retryWindow"/>: its
    /// answer was lost), which rotates again from the spent token; the lost token is then worth nothing.
    /// </summary>
    public async Task<(RefreshOutcome Outcome, Session? Session)> RotateAsync(
        byte[] oldHash, byte[] newHash, DateTime newExpiry, byte[]? renewalHash, TimeSpan retryWindow, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rotated = await c.QuerySingleOrDefaultAsync<Session>(new CommandDefinition(
            $"""
            UPDATE sessions SET previous_hash = refresh_hash, refresh_hash = @newHash, last_seen_at = now(), expires_at = @newExpiry,
                                rotated_at = now(), rotation_id_hash = @renewalHash
            WHERE refresh_hash = @oldHash AND revoked_at IS NULL AND expires_at > now()
              AND account_id IN (SELECT id FROM accounts WHERE deleted_at IS NULL)
            RETURNING {Columns}
            """,
            new { oldHash, newHash, newExpiry, renewalHash }, cancellationToken: ct));
        if (rotated is not null)
        {
            return (RefreshOutcome.Rotated, rotated);
        }

        if (renewalHash is not null)
        {
            // previous_hash = the presented token means its successor was never used (using it would have rotated again).
            var retried = await c.QuerySingleOrDefaultAsync<Session>(new CommandDefinition(
                $"""
                UPDATE sessions SET refresh_hash = @newHash, last_seen_at = now(), expires_at = @newExpiry
                WHERE previous_hash = @oldHash AND rotation_id_hash = @renewalHash AND rotated_at > now() - @retryWindow
                  AND revoked_at IS NULL AND expires_at > now()
                  AND account_id IN (SELECT id FROM accounts WHERE deleted_at IS NULL)
                RETURNING {Columns}
                """,
                new { oldHash, newHash, newExpiry, renewalHash, retryWindow }, cancellationToken: ct));
            if (retried is not null)
            {
                return (RefreshOutcome.Rotated, retried);
            }
        }

        var reused = await c.QuerySingleOrDefaultAsync<Session>(new CommandDefinition(
            $"UPDATE sessions SET revoked_at = coalesce(revoked_at, now()) WHERE previous_hash = @oldHash RETURNING {Columns}",
            new { oldHash }, cancellationToken: ct));
        if (reused is not null)
        {
            return (RefreshOutcome.Reused, reused);
        }

        var current = await c.QuerySingleOrDefaultAsync<Session>(new CommandDefinition(
            $"SELECT {Columns} FROM sessions WHERE refresh_hash = @oldHash", new { oldHash }, cancellationToken: ct));
        return current is null ? (RefreshOutcome.Unknown, null) : (RefreshOutcome.Expired, current);
    }

    public async Task<bool> IsActiveAsync(Guid sessionId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<bool>(new CommandDefinition(
            """
            SELECT EXISTS (SELECT 1 FROM sessions s JOIN accounts a ON a.id = s.account_id
                           WHERE s.id = @sessionId AND s.account_id = @accountId AND s.revoked_at IS NULL
                             AND s.expires_at > now() AND a.deleted_at IS NULL)
            """,
            new { sessionId, accountId }, cancellationToken: ct));
    }

    /// <summary>
    /// For a hub connection, in one round trip: null when the session is not live (as <see cref="IsActiveAsync"/>),
    /// else the chats the person is a member of.
    /// </summary>
    public async Task<Guid[]?> ChatIdsIfActiveAsync(Guid sessionId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<Guid[]?>(new CommandDefinition(
            """
            SELECT ARRAY(SELECT chat_id FROM chat_members WHERE account_id = a.id) AS chat_ids
            FROM sessions s JOIN accounts a ON a.id = s.account_id
            WHERE s.id = @sessionId AND s.account_id = @accountId AND s.revoked_at IS NULL
              AND s.expires_at > now() AND a.deleted_at IS NULL
            """,
            new { sessionId, accountId }, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<Session>> ListActiveAsync(Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<Session>(new CommandDefinition(
            $"SELECT {Columns} FROM sessions WHERE account_id = @accountId AND revoked_at IS NULL AND expires_at > now() ORDER BY last_seen_at DESC",
            new { accountId }, cancellationToken: ct));
        return rows.AsList();
    }

    public async Task<bool> RevokeAsync(Guid accountId, Guid sessionId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteAsync(new CommandDefinition(
            "UPDATE sessions SET revoked_at = now() WHERE id = @sessionId AND account_id = @accountId AND revoked_at IS NULL",
            new { accountId, sessionId }, cancellationToken: ct)) > 0;
    }

    public async Task<IReadOnlyList<Guid>> RevokeAllAsync(Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<Guid>(new CommandDefinition(
            "UPDATE sessions SET revoked_at = now() WHERE account_id = @accountId AND revoked_at IS NULL RETURNING id",
            new { accountId }, cancellationToken: ct));
        return rows.AsList();
    }
}
