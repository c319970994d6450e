using System.Reflection;
using Npgsql;

namespace Chat.Storage.Infrastructure;

/// <summary>
/// Applies the numbered <c>Migrations/NNNN_name.sql</c> files embedded in this assembly, each in its own
/// transaction, under an advisory lock so that several nodes starting at once apply each file exactly once.
/// A file whose first line is <see cref="EachStatementOnItsOwn"/> runs outside a transaction, one statement at a time
/// (for <c>CREATE INDEX CONCURRENTLY</c>, which a transaction refuses, so that sends go on while a large table is
/// indexed). Such a file is recorded only after its last statement, and an interrupted one runs again from the top, so
/// each of its statements must be safe to repeat (<c>IF EXISTS</c>, dropping an invalid half-built index first).
/// </summary>
public sealed class Migrator(NpgsqlDataSource dataSource)
{
    private const long LockKey = 0x43686174_4D696772; // "ChatMigr"

    /// <summary>The first line of a migration that runs outside a transaction, statement by statement.</summary>
    public const string EachStatementOnItsOwn = "-- migrate: each statement on its own";

    public static IReadOnlyList<(string Name, string Sql)> Scripts { get; } = LoadScripts();

    public async Task<IReadOnlyList<string>> ApplyAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);

        // The lock comes first: two nodes creating schema_migrations at once on an empty database would collide
        // (CREATE TABLE IF NOT EXISTS is not safe against a concurrent create).
        // Polled rather than waited for inside one statement: CREATE INDEX CONCURRENTLY (see above) waits for every
        // transaction of the database that is older than it, and a node blocked in pg_advisory_lock is such a
        // transaction while the node holding the lock waits for it — a deadlock.
        await using (var lockCommand = new NpgsqlCommand($"SELECT pg_try_advisory_lock({LockKey})", connection))
        {
            while (!(bool)(await lockCommand.ExecuteScalarAsync(ct))!)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
            }
        }

        var applied = new List<string>();
        try
        {
            await using (var setup = new NpgsqlCommand(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                connection))
            {
                await setup.ExecuteNonQueryAsync(ct);
            }

            var done = new HashSet<string>(StringComparer.Ordinal);
            await using (var list = new NpgsqlCommand("SELECT name FROM schema_migrations", connection))
            await using (var reader = await list.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    done.Add(reader.GetString(0));
                }
            }

            foreach (var (name, sql) in Scripts)
            {
                if (done.Contains(name))
                {
                    continue;
                }

                if (sql.StartsWith(EachStatementOnItsOwn, StringComparison.Ordinal))
                {
                    foreach (var statement in Statements(sql))
                    {
                        await using var step = new NpgsqlCommand(statement, connection);
                        step.CommandTimeout = 0; // an index on a large table takes as long as it takes
                        await step.ExecuteNonQueryAsync(ct);
                    }

                    await RecordAsync(connection, null, name, ct);
                }
                else
                {
                    await using var tx = await connection.BeginTransactionAsync(ct);
                    await using (var script = new NpgsqlCommand(sql, connection, tx))
                    {
                        await script.ExecuteNonQueryAsync(ct);
                    }

                    await RecordAsync(connection, tx, name, ct);
                    await tx.CommitAsync(ct);
                }

                applied.Add(name);
            }
        }
        finally
        {
            try
            {
                await using var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock({LockKey})", connection);
                await unlock.ExecuteNonQueryAsync(CancellationToken.None);
            }
            catch (NpgsqlException)
            {
                // The connection broke (so the session's lock went with it): the migration's own error, if any, is the
                // one to report.
            }
        }

        return applied;
    }

    /// <summary>
    /// The statements of a migration that runs statement by statement: each ends with a semicolon at the end of a line
    /// (such files hold plain DDL, no function bodies); lines that are only comments are left out.
    /// </summary>
    public static IReadOnlyList<string> Statements(string sql)
    {
        var statements = new List<string>();
        var current = new System.Text.StringBuilder();
        foreach (var line in sql.Split('\n'))
        {
            var text = line.TrimEnd('\r', ' ', '\t');
            if (text.TrimStart().StartsWith("--", StringComparison.Ordinal) || text.Length == 0)
            {
                continue;
            }

            current.AppendLine(text);
            if (text.EndsWith(';'))
            {
                statements.Add(current.ToString().Trim());
                current.Clear();
            }
        }

        if (current.Length > 0)
        {
            throw new InvalidOperationException($"A statement-by-statement migration must end each statement with ';' at the end of a line: {current.ToString().Trim()}");
        }

        return statements;
    }

    private static async Task RecordAsync(NpgsqlConnection connection, NpgsqlTransaction? tx, string name, CancellationToken ct)
    {
        await using var record = new NpgsqlCommand("INSERT INTO schema_migrations (name) VALUES ($1)", connection, tx);
        record.Parameters.AddWithValue(name);
        await record.ExecuteNonQueryAsync(ct);
    }

    private static List<(string, string)> LoadScripts()
    {
        var assembly = typeof(Migrator).Assembly;
        const string prefix = "Chat.Storage.Migrations.";
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => (n[prefix.Length..^4], Read(assembly, n)))
            .ToList();
    }

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"Missing embedded migration {name}");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
