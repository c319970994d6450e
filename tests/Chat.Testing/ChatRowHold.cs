using Npgsql;

namespace Chat.Testing;

/// <summary>
/// Holds a chat's row locked (<c>FOR UPDATE</c> in an open transaction) until disposed: the next batch statement that
/// stores a message of the chat waits for it, and the sends made meanwhile queue up behind it and are stored, and
/// pushed, together as the next batch.
/// </summary>
public sealed class ChatRowHold : IAsyncDisposable
{
    private readonly NpgsqlConnection connection;
    private readonly NpgsqlTransaction transaction;
    private readonly string connectionString;
    private bool released;

    private ChatRowHold(NpgsqlConnection connection, NpgsqlTransaction transaction, string connectionString)
    {
        this.connection = connection;
        this.transaction = transaction;
        this.connectionString = connectionString;
    }

    public static async Task<ChatRowHold> HoldAsync(string connectionString, Guid chatId)
    {
        var connection = new NpgsqlConnection(connectionString);
        try
        {
            await connection.OpenAsync();
            var transaction = await connection.BeginTransactionAsync();
            await using var lockRow = new NpgsqlCommand("SELECT 1 FROM chats WHERE id = @id FOR UPDATE", connection, transaction);
            lockRow.Parameters.AddWithValue("id", chatId);
            await lockRow.ExecuteScalarAsync();
            return new ChatRowHold(connection, transaction, connectionString);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until another session's statement waits for this lock (the batch statement of the chat's next message).</summary>
    public async Task WaitUntilHeldUpAsync()
    {
        // Its own connection: pg_stat_activity is read once per transaction, and the holder's stays open.
        await using var other = new NpgsqlConnection(connectionString);
        await other.OpenAsync();
        await using var waiting = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE @holder = ANY(pg_blocking_pids(pid))", other);
        waiting.Parameters.AddWithValue("holder", connection.ProcessID);
        for (var tries = 0; (long)(await waiting.ExecuteScalarAsync())! == 0; tries++)
        {
            if (tries >= 200)
            {
                throw new TimeoutException("nothing waited for the held chat row within 10 s");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Lets the waiting statement go on (the transaction is rolled back; nothing was changed). Once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (released)
        {
            return;
        }

        released = true;
        try
        {
            await transaction.RollbackAsync();
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }
}
