using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Accounts;

public sealed record Account(
    Guid Id,
    string DisplayName,
    string? Phone,
    string? Email,
    string? AvatarUrl,
    bool IsOperator,
    DateTime CreatedAt,
    DateTime? DeletedAt);

public sealed class AccountStore(NpgsqlDataSource db)
{
    private const string Columns = "id, display_name, phone, email, avatar_url, is_operator, created_at, deleted_at";

    public async Task<Account?> GetAsync(Guid id, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<Account>(new CommandDefinition(
            $"SELECT {Columns} FROM accounts WHERE id = @id", new { id }, cancellationToken: ct));
    }

    public async Task<Account?> FindByIdentityAsync(string? phone, string? email, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<Account>(new CommandDefinition(
            $"SELECT {Columns} FROM accounts WHERE deleted_at IS NULL AND ((@phone::text IS NOT NULL AND phone = @phone) OR (@email::text IS NOT NULL AND email = @email))",
            new { phone, email }, cancellationToken: ct));
    }

    /// <summary>Finds the account of this phone or e-mail, creating it on first sign-in.</summary>
    public async Task<Account> GetOrCreateAsync(DbScope s, string? phone, string? email, string defaultName, CancellationToken ct)
    {
        var existing = await FindForUpdateAsync(s, phone, email, ct);
        if (existing is not null)
        {
            return existing;
        }

        // A first sign-in of the same person on another device at the same moment inserts first: this insert waits for
        // it, does nothing, and the account it made is read again.
        return await s.Connection.QuerySingleOrDefaultAsync<Account>(new CommandDefinition(
                   $"""
                   INSERT INTO accounts (id, display_name, phone, email) VALUES (@id, @defaultName, @phone, @email)
                   ON CONFLICT DO NOTHING
                   RETURNING {Columns}
                   """,
                   new { id = Guid.CreateVersion7(), defaultName, phone, email }, s.Transaction, cancellationToken: ct))
               ?? await FindForUpdateAsync(s, phone, email, ct)
               ?? throw new InvalidOperationException("an account's phone or e-mail conflicted with no live account");
    }

    private Task<Account?> FindForUpdateAsync(DbScope s, string? phone, string? email, CancellationToken ct) =>
        s.Connection.QuerySingleOrDefaultAsync<Account>(new CommandDefinition(
            $"SELECT {Columns} FROM accounts WHERE deleted_at IS NULL AND ((@phone::text IS NOT NULL AND phone = @phone) OR (@email::text IS NOT NULL AND email = @email)) FOR UPDATE",
            new { phone, email }, s.Transaction, cancellationToken: ct));

    public async Task<Account?> UpdateProfileAsync(Guid id, string displayName, string? avatarUrl, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<Account>(new CommandDefinition(
            $"UPDATE accounts SET display_name = @displayName, avatar_url = @avatarUrl WHERE id = @id AND deleted_at IS NULL RETURNING {Columns}",
            new { id, displayName, avatarUrl }, cancellationToken: ct));
    }

    public async Task SetOperatorAsync(Guid id, bool isOperator, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await c.ExecuteAsync(new CommandDefinition(
            "UPDATE accounts SET is_operator = @isOperator WHERE id = @id", new { id, isOperator }, cancellationToken: ct));
    }
}
