using Npgsql;

namespace Chat.Storage.Infrastructure;

/// <summary>One connection with one open transaction: the unit that a feature service commits as a whole.</summary>
public sealed class DbScope : IAsyncDisposable
{
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

    public Task CommitAsync(CancellationToken ct) => Transaction.CommitAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await Transaction.DisposeAsync();
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
