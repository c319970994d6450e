using Npgsql;

namespace Chat.Storage.Infrastructure;

/// <summary>One connection with one open transaction: the unit that a feature service commits as a whole.</summary>
public sealed class DbScope : IAsyncDisposable
{
    private bool committed;
    private bool failed;

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

    /// <summary>Runs <paramref name="work"/> in a new scope and commits it; a failed statement is noted (see <see cref="DisposeAsync"/>).</summary>
    public static async Task<T> InTransactionAsync<T>(NpgsqlDataSource dataSource, Func<DbScope, Task<T>> work, CancellationToken ct)
    {
        await using var scope = await BeginAsync(dataSource, ct);
        try
        {
            var result = await work(scope);
            await scope.CommitAsync(ct);
            return result;
        }
        catch (NpgsqlException) when (scope.MarkFailed())
        {
            throw; // not reached: the filter only notes the failure
        }
    }

    public async Task CommitAsync(CancellationToken ct)
    {
        await Transaction.CommitAsync(ct);
        committed = true;
    }

    /// <summary>
    /// Notes that a statement of this scope failed in the database (use it in an exception filter: it returns false, so
    /// the exception goes on as it is). See <see cref="DisposeAsync"/>.
    /// </summary>
    public bool MarkFailed()
    {
        failed = true;
        return false;
    }

    public async ValueTask DisposeAsync()
    {
        await Transaction.DisposeAsync();
        if (failed && !committed)
        {
            // Npgsql 10.0.3 can leave an automatically prepared statement out of step with the server when its
            // execution fails (npgsql/npgsql#6391), and the next user of this pooled connection would fail with
            // "Received unexpected backend message". Forgetting the connection's prepared statements on both sides
            // avoids that: one round trip, and they are prepared again on later use; only after a failed statement, not
            // after a refusal decided in code.
            ForgetPreparedStatements(Connection);
        }

        await Connection.DisposeAsync();
    }

    /// <summary>
    /// <see cref="NpgsqlConnection.UnprepareAll"/> (there is no asynchronous form) on a connection that is still open;
    /// never throws, so the caller's own exception is the one that goes on. A broken connection is discarded by the pool.
    /// </summary>
    public static void ForgetPreparedStatements(NpgsqlConnection connection)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            return;
        }

        try
        {
            connection.UnprepareAll();
        }
        catch (Exception)
        {
            // The connection broke meanwhile: nothing to forget on it.
        }
    }
}

/// <summary>Begins <see cref="DbScope"/>s; registered once per process.</summary>
public sealed class ChatDatabase(NpgsqlDataSource dataSource)
{
    public NpgsqlDataSource DataSource => dataSource;

    public Task<DbScope> BeginAsync(CancellationToken ct) => DbScope.BeginAsync(dataSource, ct);

    public Task<T> InTransactionAsync<T>(Func<DbScope, Task<T>> work, CancellationToken ct) => DbScope.InTransactionAsync(dataSource, work, ct);
}
