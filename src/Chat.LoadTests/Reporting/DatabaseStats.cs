using Npgsql;

namespace Chat.LoadTests.Reporting;

/// <summary>
/// Where the database's time goes during a server phase: pg_stat_statements (when the server was started with
/// <c>shared_preload_libraries=pg_stat_statements</c>, as scripts/load.sh does) and pg_stat_wal. Best effort: without
/// them the report simply has no such section.
/// </summary>
public static class DatabaseStats
{
    public static async Task<bool> ResetAsync(string? connectionString)
    {
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            return false;
        }

        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset(); SELECT pg_stat_reset_shared('wal');", connection);
            await command.ExecuteNonQueryAsync();
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The statements of this database by total execution time, and the WAL counters since the reset.</summary>
    public static async Task<(List<string[]> Statements, string Wal)> ReadAsync(string connectionString, int top)
    {
        var rows = new List<string[]>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var command = new NpgsqlCommand(
            """
            SELECT calls, round(total_exec_time::numeric, 0), round(mean_exec_time::numeric, 3), round(max_exec_time::numeric, 1), rows,
                   left(regexp_replace(query, '\s+', ' ', 'g'), 160)
            FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            ORDER BY total_exec_time DESC LIMIT $1
            """, connection))
        {
            command.Parameters.AddWithValue(top);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add([reader.GetInt64(0).ToString("N0", System.Globalization.CultureInfo.InvariantCulture), reader.GetDecimal(1).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    reader.GetDecimal(2).ToString(System.Globalization.CultureInfo.InvariantCulture), reader.GetDecimal(3).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    reader.GetInt64(4).ToString(System.Globalization.CultureInfo.InvariantCulture), reader.GetString(5)]);
            }
        }

        await using var wal = new NpgsqlCommand("SELECT format('%s WAL records, %s MiB, %s writes, %s syncs (fsync)', wal_records, round(wal_bytes / 1048576.0, 1), wal_write, wal_sync) FROM pg_stat_wal", connection);
        return (rows, await wal.ExecuteScalarAsync() as string ?? "");
    }
}
