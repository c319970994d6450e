using Chat.Storage.Infrastructure;
using Chat.Testing;
using Npgsql;

namespace Chat.Storage.Tests;

/// <summary>
/// A statement that fails must not spoil the pooled connection for its next user. Npgsql 10.0.3 can leave its
/// bookkeeping of automatically prepared statements out of step with the server when an execution that prepares (or
/// replaces) one fails (npgsql/npgsql#6391, #4082); the next command on that connection then fails with "Received
/// unexpected backend message". <see cref="DbScope"/> forgets the prepared statements of a connection whose
/// transaction was not committed, and the message batch does the same after a failed statement.
/// </summary>
public sealed class FailedStatementTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task StatementsFailWhileBinding_AmongOthers_NextUsersOfThePooledConnectionAreFine(bool inScope)
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
            if (inScope)
            {
                await using var scope = await DbScope.BeginAsync(dataSource, CancellationToken.None);
                var sum = await RunAsync(sql, texts, scope.Connection, scope.Transaction);
                if (sum is not null)
                {
                    await scope.CommitAsync(CancellationToken.None);
                }

                failures += Check(sum, fails);
            }
            else
            {
                await using var c = await dataSource.OpenConnectionAsync();
                var sum = await RunAsync(sql, texts, c, null);
                if (sum is null)
                {
                    // What MessageStore.AppendBatchAsync does after a failed batch statement.
                    c.UnprepareAll();
                }

                failures += Check(sum, fails);
            }
        }

        Assert.Equal(13, failures);
    }

    private static int Check(int? sum, bool fails)
    {
        Assert.Equal(fails ? null : 6, sum);
        return fails ? 1 : 0;
    }

    /// <summary>The sum of the lengths, or null when PostgreSQL refused the parameters.</summary>
    private static async Task<int?> RunAsync(string sql, string[] texts, NpgsqlConnection c, NpgsqlTransaction? transaction)
    {
        await using var command = new NpgsqlCommand(sql, c, transaction);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = texts });
        try
        {
            var sum = 0;
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                sum += reader.GetInt32(0);
            }

            return sum;
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.CharacterNotInRepertoire)
        {
            return null;
        }
    }
}
