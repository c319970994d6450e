using Npgsql;

namespace Chat.Storage.Infrastructure;

/// <summary>One connection with one open transaction: the unit that a feature service commits as a whole.</summary>
public sealed class DbScope : IAsyncDisposable
{
    private bool committed;

    private DbScope(NpgsqlConnection connection, NpgsqlTransaction transaction)
    {
        Connection = connection;
        Transaction = transaction;
    }

    public NpgsqlConnection Connection { get; }

    public NpgsqlTransaction Transaction { get; }

    public static async Task<DbScope> BeginAsync(NpgsqlDataSource dataSource, CancellationToken ct)
    {
        var connection = await dataSource.OpenConnectionAsync(ct);
        try
        {
            var transaction = await connection.BeginTransactionAsync(ct);
            return new DbScope(connection, transaction);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    public async Task CommitAsync(CancellationToken ct)
    {
        await Transaction.CommitAsync(ct);
        committed = true;
    }

    public async ValueTask DisposeAsync()
    {
        await Transaction.DisposeAsync();
        if (!committed && Connection.State == System.Data.ConnectionState.Open)
        {
            // Rolled back, mostly because a statement failed. Npgsql 10.0.3 can leave an automatically prepared
            // statement out of step with the server when its execution fails (npgsql/npgsql#6391), and the next user
            // of this pooled connection would fail with "Received unexpected backend message". Forgetting the
            // connection's prepared statements on both sides avoids that: one round trip, and the statements are
            // prepared again on later use, on a path that is not hot (an error or a refusal). Npgsql has no
            // asynchronous form of it.
            try
            {
                Connection.UnprepareAll();
            }
            catch (NpgsqlException)
            {
                // The connection is broken anyway; the pool discards it.
            }
        }

        await Connection.DisposeAsync();
    }
}

/// <summary>Begins <see cref="DbScope"/>s; registered once per process.</summary>
public sealed class ChatDatabase(NpgsqlDataSource dataSource)
{
    public NpgsqlDataSource DataSource => dataSource;

    public Task<DbScope> BeginAsync(CancellationToken ct) => DbScope.BeginAsync(dataSource, ct);

    public async Task<T> InTransactionAsync<T>(Func<DbScope, Task<T>> work, CancellationToken ct)
    {
        await using var scope = await BeginAsync(ct);
        var result = await work(scope);
        await scope.CommitAsync(ct);
        return result;
    }
}
