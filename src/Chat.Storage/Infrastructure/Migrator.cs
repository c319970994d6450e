using System.Reflection;
using Npgsql;

namespace Chat.Storage.Infrastructure;

/// <summary>
/// Applies the numbered <c>Migrations/NNNN_name.sql</c> files embedded in this assembly, each in its own
/// transaction, under an advisory lock so that several nodes starting at once apply each file exactly once.
/// </summary>
public sealed class Migrator(NpgsqlDataSource dataSource)
{
    private const long LockKey = 0x43686174_4D696772; // "ChatMigr"

    public static IReadOnlyList<(string Name, string Sql)> Scripts { get; } = LoadScripts();

    public async Task<IReadOnlyList<string>> ApplyAsync(CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);

        // The lock comes first: two nodes creating schema_migrations at once on an empty database would collide
        // (CREATE TABLE IF NOT EXISTS is not safe against a concurrent create).
        await using (var lockCommand = new NpgsqlCommand($"SELECT pg_advisory_lock({LockKey})", connection))
        {
            await lockCommand.ExecuteNonQueryAsync(ct);
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

                await using var tx = await connection.BeginTransactionAsync(ct);
                await using (var script = new NpgsqlCommand(sql, connection, tx))
                {
                    await script.ExecuteNonQueryAsync(ct);
                }

                await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (name) VALUES ($1)", connection, tx))
                {
                    record.Parameters.AddWithValue(name);
                    await record.ExecuteNonQueryAsync(ct);
                }

                await tx.CommitAsync(ct);
                applied.Add(name);
            }
        }
        finally
        {
            await using var unlock = new NpgsqlCommand($"SELECT pg_advisory_unlock({LockKey})", connection);
            await unlock.ExecuteNonQueryAsync(CancellationToken.None);
        }

        return applied;
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
