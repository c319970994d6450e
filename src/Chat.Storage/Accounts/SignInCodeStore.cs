using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Accounts;

public sealed record SignInCodeAttempt(Guid Id, byte[] CodeHash, int Attempts);

public sealed class SignInCodeStore(NpgsqlDataSource db)
{
    public async Task<(int ForIdentity, int ForClient)> CountRecentAsync(byte[] identityHash, string? clientAddress, DateTime since, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleAsync<(int, int)>(new CommandDefinition(
            """
            SELECT (SELECT count(*)::int FROM sign_in_codes WHERE identity_hash = @identityHash AND created_at > @since),
                   (SELECT count(*)::int FROM sign_in_codes WHERE @clientAddress::text IS NOT NULL AND client_address = @clientAddress AND created_at > @since)
            """,
            new { identityHash, clientAddress, since }, cancellationToken: ct));
    }

    /// <summary>Stores a new code; earlier unused codes of the same identity stop working.</summary>
    public async Task InsertAsync(byte[] identityHash, byte[] codeHash, string? clientAddress, DateTime expiresAt, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        await c.ExecuteAsync(new CommandDefinition(
            "UPDATE sign_in_codes SET consumed_at = now() WHERE identity_hash = @identityHash AND consumed_at IS NULL",
            new { identityHash }, tx, cancellationToken: ct));
        await c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO sign_in_codes (id, identity_hash, code_hash, client_address, expires_at) VALUES (@id, @identityHash, @codeHash, @clientAddress, @expiresAt)",
            new { id = Guid.CreateVersion7(), identityHash, codeHash, clientAddress, expiresAt }, tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
    }

    /// <summary>
    /// Counts one attempt against the identity's live code and returns it, or null when there is no live code.
    /// A code whose attempts are spent still comes back, with <see cref="SignInCodeAttempt.Attempts"/> above
    /// <paramref name="maxAttempts"/>, so that the caller can say so instead of "expired"; its hash must not be compared.
    /// </summary>
    public async Task<SignInCodeAttempt?> TakeAttemptAsync(byte[] identityHash, int maxAttempts, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<SignInCodeAttempt>(new CommandDefinition(
            """
            UPDATE sign_in_codes SET attempts = least(attempts + 1, @maxAttempts + 1)
            WHERE id = (SELECT id FROM sign_in_codes
                        WHERE identity_hash = @identityHash AND consumed_at IS NULL AND expires_at > now()
                        ORDER BY created_at DESC LIMIT 1 FOR UPDATE)
            RETURNING id, code_hash, attempts
            """,
            new { identityHash, maxAttempts }, cancellationToken: ct));
    }

    /// <summary>Marks the code used; false when another request used it first (codes are single use).</summary>
    /// <summary>Uses the code up, in the sign-in's transaction: a sign-in that fails after it leaves the code usable.</summary>
    public async Task<bool> ConsumeAsync(DbScope s, Guid id, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE sign_in_codes SET consumed_at = now() WHERE id = @id AND consumed_at IS NULL", new { id }, s.Transaction, cancellationToken: ct)) == 1;

    public Task DeleteAsync(DbScope s, byte[] identityHash, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            "DELETE FROM sign_in_codes WHERE identity_hash = @identityHash", new { identityHash }, s.Transaction, cancellationToken: ct));
}
