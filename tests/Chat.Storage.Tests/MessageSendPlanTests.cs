using System.Text.Json;
using Chat.Storage.Messages;
using Chat.Testing;
using Dapper;
using Npgsql;

namespace Chat.Storage.Tests;

/// <summary>
/// What a send reads must not grow with the sender's history in the chat (docs/performance.md, change 12): the batch
/// statement once checked resends through an index of the sender's messages and read every one of them. Measured in
/// buffers of the statement's plan as the server runs it (a generic plan of the prepared statement), not in time.
/// </summary>
public sealed class MessageSendPlanTests
{
    [Fact]
    public async Task Send_ReadsAsMuch_ForASenderWithHistory_AsForANewOne()
    {
        var postgres = await PostgresServer.GetAsync();
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateMigratedDatabaseAsync());
        await using var c = await dataSource.OpenConnectionAsync();

        // A school some weeks into the term: 40 class chats of 25 pupils, 100 messages from each pupil in their chat
        // (100 000 in all), vacuumed and analysed as autovacuum would leave them. The planner sees many chats and many senders, as
        // in production; that is what made the sender index look selective enough to probe for a resend.
        var school = Guid.CreateVersion7();
        await c.ExecuteAsync(
            """
            INSERT INTO schools (id, name) VALUES (@school, 'Школа');
            INSERT INTO chats (id, school_id, kind, title) SELECT gen_random_uuid(), @school, 'group', 'Класс ' || k FROM generate_series(1, 40) k;
            INSERT INTO accounts (id, display_name, phone) SELECT gen_random_uuid(), 'Ученик ' || p, '+7900' || lpad(p::text, 7, '0') FROM generate_series(1, 1001) p;
            INSERT INTO chat_members (chat_id, account_id)
            SELECT c.id, a.id FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM chats) c
            JOIN (SELECT id, row_number() OVER (ORDER BY id) AS p FROM accounts) a ON (a.p - 1) / 25 + 1 = c.k;
            INSERT INTO messages (chat_id, seq, sender_id, client_id, text, version_seq, created_at)
            SELECT m.chat_id, row_number() OVER w, m.account_id, gen_random_uuid(), 'сообщение ' || g, row_number() OVER w, now() - make_interval(mins => 200 - g)
            FROM chat_members m CROSS JOIN generate_series(1, 100) g
            WINDOW w AS (PARTITION BY m.chat_id ORDER BY g, m.account_id);
            UPDATE chats c SET last_seq = (SELECT max(seq) FROM messages WHERE chat_id = c.id);
            """,
            new { school });
        await c.ExecuteAsync("VACUUM (ANALYZE)"); // and nothing left for autovacuum to change while the test reads plans
        var (chat, veteran) = await c.QuerySingleAsync<(Guid, Guid)>("SELECT chat_id, account_id FROM chat_members LIMIT 1");
        var newcomer = await c.QuerySingleAsync<Guid>("SELECT id FROM accounts WHERE NOT EXISTS (SELECT 1 FROM chat_members WHERE account_id = accounts.id)");
        await c.ExecuteAsync("INSERT INTO chat_members (chat_id, account_id) VALUES (@chat, @newcomer)", new { chat, newcomer });
        const int history = 100;

        // The first send of a session also reads what any first send reads (pages pruned and hinted after the bulk
        // load, cached plans of the foreign-key checks): not measured.
        await SendBuffersAsync(c, chat, newcomer);
        var veteranBuffers = await SendBuffersAsync(c, chat, veteran);
        var newcomerBuffers = await SendBuffersAsync(c, chat, newcomer);

        // Reading the veteran's history would cost a heap visit per earlier message.
        Assert.True(veteranBuffers <= newcomerBuffers + 20,
            $"a send of a member with {history} earlier messages read {veteranBuffers} buffers, a new member's {newcomerBuffers}");
    }

    /// <summary>Buffers (hit + read) of one message's batch statement under its generic plan; nothing is kept.</summary>
    private static async Task<long> SendBuffersAsync(NpgsqlConnection c, Guid chat, Guid sender)
    {
        await using var tx = await c.BeginTransactionAsync();
        await c.ExecuteAsync("SET LOCAL plan_cache_mode = force_generic_plan", transaction: tx);
        await c.ExecuteAsync("DEALLOCATE ALL", transaction: tx);
        await c.ExecuteAsync("PREPARE send(int[], uuid[], uuid[], uuid[], text[], text[], bigint[], text[], int[], uuid[], bool[]) AS " + MessageStore.AppendBatchSql, transaction: tx);
        // EXECUTE's arguments cannot be bind parameters (a utility statement): literals, all of them ids made here.
        var plan = await c.ExecuteScalarAsync<string>(
            $$"""
            EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) EXECUTE send('{0}', '{{{chat}}}', '{{{sender}}}', '{{{Guid.NewGuid()}}}', '{text}',
                '{"Завтра контрольная"}', '{NULL}', '{NULL}', '{}', '{}', '{false}')
            """,
            transaction: tx);
        await tx.RollbackAsync();

        var top = JsonDocument.Parse(plan!).RootElement[0].GetProperty("Plan");
        return top.GetProperty("Shared Hit Blocks").GetInt64() + top.GetProperty("Shared Read Blocks").GetInt64();
    }
}
