using Npgsql;

namespace Chat.Testing;

/// <summary>Sessions of a test database that wait for a lock (pg_stat_activity), for tests that line statements up behind one another.</summary>
public static class LockWaiters
{
    /// <summary>Waits until at least <paramref name="count"/> sessions of the database wait for a lock (at most 30 s).</summary>
    public static async Task WaitAsync(string connectionString, int count)
    {
        // Its own connection, each read in its own transaction: pg_stat_activity is read once per transaction.
        await using var watcher = new NpgsqlConnection(connectionString);
        await watcher.OpenAsync();
        await using var waiting = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", watcher);
        for (var until = DateTime.UtcNow.AddSeconds(30); ; await Task.Delay(20))
        {
            var now = (long)(await waiting.ExecuteScalarAsync())!;
            if (now >= count)
            {
                return;
            }

            if (DateTime.UtcNow >= until)
            {
                throw new TimeoutException($"{now} session(s) wait for a lock, expected {count}");
            }
        }
    }
}
