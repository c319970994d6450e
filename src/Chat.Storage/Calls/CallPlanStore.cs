using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Calls;

/// <summary>A planned call, lesson or broadcast in a chat.</summary>
public sealed record CallPlanRow(
    Guid Id, Guid ChatId, Guid HostId, string Kind, string Title, DateTime StartsAt, DateTime CreatedAt, DateTime? CancelledAt, Guid? CallId);

public sealed class CallPlanStore(NpgsqlDataSource db)
{
    private const string Columns = "id, chat_id, host_id, kind, title, starts_at, created_at, cancelled_at, call_id";

    public async Task<CallPlanRow> InsertAsync(Guid id, Guid chatId, Guid hostId, string kind, string title, DateTime startsAt, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleAsync<CallPlanRow>(new CommandDefinition(
            $"INSERT INTO call_plans (id, chat_id, host_id, kind, title, starts_at) VALUES (@id, @chatId, @hostId, @kind, @title, @startsAt) RETURNING {Columns}",
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

    /// <summary>Links the plan to the call opened for it.</summary>
    public async Task LinkAsync(DbScope s, Guid id, Guid callId, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE call_plans SET call_id = @callId WHERE id = @id", new { id, callId }, s.Transaction, cancellationToken: ct));

    /// <summary>Locks the plan row (two people coming at once open one call).</summary>
    public async Task<CallPlanRow?> LockAsync(DbScope s, Guid id, CancellationToken ct) =>
        await s.Connection.QuerySingleOrDefaultAsync<CallPlanRow>(new CommandDefinition(
            $"SELECT {Columns} FROM call_plans WHERE id = @id FOR UPDATE", new { id }, s.Transaction, cancellationToken: ct));
}
