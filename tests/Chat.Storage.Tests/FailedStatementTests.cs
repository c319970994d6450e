using Chat.Storage.Infrastructure;
using Chat.Testing;
using Npgsql;

namespace Chat.Storage.Tests;

/// <summary>
/// A statement that fails must not spoil the pooled connection for its next user. Npgsql 10.0.3 can leave its
/// bookkeeping of automatically prepared statements out of step with the server when an execution that prepares (or
/// replaces) one fails (npgsql/npgsql#6391, #4082); the next command on that connection then fails with "Received
/// unexpected backend message". A <see cref="DbScope"/> in which a statement failed forgets its connection's prepared
/// statements. (The message batch statement does the same; GroupCommitTests covers it through the batcher.)
/// </summary>
public sealed class FailedStatementTests
{
    [Fact]
    public async Task StatementsFailWhileBinding_AmongOthers_NextUsersOfThePooledConnectionAreFine()
    {
        var postgres = await PostgresServer.GetAsync();
        var builder = new NpgsqlConnectionStringBuilder(await postgres.CreateMigratedDatabaseAsync())
        {
            MaxPoolSize = 1, // every use gets the same physical connection
            MaxAutoPrepare = 2, // few slots, so that statements replace each other as the server's many do in 32
            AutoPrepareMinUsages = 2,
        };
        await using var dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        var statements = Enumerable.Range(1, 4)
            .Select(k => $"SELECT length(x.t) + {k} - {k} FROM (SELECT unnest($1::text[]) AS t) x")
            .ToArray();

        var failures = 0;
        for (var round = 0; round < 40; round++)
        {
            var sql = statements[(round * 7 + round / 4) % statements.Length];
            var fails = round % 3 == 1;

            // NUL is refused by PostgreSQL while it binds the parameters: the failure a message batch had.
            string[] texts = fails ? ["a", "b\0", "c"] : ["a", "bb", "ccc"];
            try
            {
                var sum = await DbScope.InTransactionAsync(dataSource, s => SumAsync(sql, texts, s), CancellationToken.None);
                Assert.False(fails);
                Assert.Equal(6, sum);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.CharacterNotInRepertoire)
            {
                Assert.True(fails);
                failures++;
            }
        }

        Assert.Equal(13, failures);
    }

    /// <summary>The sum of the lengths of the texts.</summary>
    private static async Task<int> SumAsync(string sql, string[] texts, DbScope s)
    {
        await using var command = new NpgsqlCommand(sql, s.Connection, s.Transaction);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = texts });
        var sum = 0;
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            sum += reader.GetInt32(0);
        }

        return sum;
    }
}
