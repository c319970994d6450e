using Chat.Storage.Calls;
using Chat.Storage.Infrastructure;
using Chat.Testing;
using Dapper;
using Npgsql;

namespace Chat.Storage.Tests;

/// <summary>Calls stored in PostgreSQL: one live call per chat, participants written and read back under a row lock.</summary>
public sealed class CallStoreTests
{
    [Fact]
    public async Task Calls_OneLivePerChat_StateRoundTrips_AndEndedCallFreesTheChat()
    {
        var postgres = await PostgresServer.GetAsync();
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateMigratedDatabaseAsync());
        DapperSetup.Configure();
        await using var c = await dataSource.OpenConnectionAsync();
        var host = Guid.CreateVersion7();
        var pupil = Guid.CreateVersion7();
        var (school, chat) = await SchoolWithChatAsync(c, "group", host, pupil);

        var store = new CallStore(dataSource);
        var db = new ChatDatabase(dataSource);
        var first = new CallRow(Guid.CreateVersion7(), chat, host, true, false, null, null, null, default, null);
        var second = first with { Id = Guid.CreateVersion7() };
        Assert.True(await db.InTransactionAsync(s => store.TryInsertAsync(s, first, default), default));
        Assert.False(await db.InTransactionAsync(s => store.TryInsertAsync(s, second, default), default));

        await db.InTransactionAsync(async s =>
        {
            Assert.True(await store.TrySetSfuAsync(s, first.Id, "http://127.0.0.1:8088/janus", 42, "secret", default));
            await store.SaveAsync(s, first.Id, locked: true, ended: false,
                [new CallParticipantRow(first.Id, host, true, false, false, false, true, false, 7, true, null), new CallParticipantRow(first.Id, pupil, true, false, true, true, false, true, null, false, null)], default);
            return 0;
        }, default);

        var locked = await db.InTransactionAsync(s => store.LockAsync(s, first.Id, [], default), default);
        Assert.NotNull(locked);
        Assert.True(locked.Value.Call.Locked);
        Assert.Equal(42, locked.Value.Call.SfuRoom);
        Assert.Equal(2, locked.Value.Participants.Count);
        Assert.Contains(locked.Value.Participants, p => p.AccountId == pupil && p.HandRaised && !p.SpeakAllowed);
        Assert.Equal(1, (await store.LiveCallsPerSfuAsync(default))["http://127.0.0.1:8088/janus"]);
        Assert.Equal(first.Id, (await store.LiveInChatAsync(chat, default))!.Id);

        await db.InTransactionAsync(async s => { await store.SaveAsync(s, first.Id, true, ended: true, [], default); return 0; }, default);
        Assert.Null(await store.LiveInChatAsync(chat, default));
        Assert.True(await db.InTransactionAsync(s => store.TryInsertAsync(s, second, default), default));
    }

    /// <summary>
    /// A node taken for dead by mistake must learn it from its next heartbeat, even when that heartbeat comes while the
    /// sweep that took it for dead is being committed: otherwise it clears the mark unseen and never puts its call
    /// connections back (CallPresenceTests covers the rest of that story).
    /// </summary>
    [Fact]
    public async Task HeartbeatWaitingOnASweepOfItsNode_SeesTheSweep()
    {
        var postgres = await PostgresServer.GetAsync();
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateMigratedDatabaseAsync());
        var store = new CallStore(dataSource);
        const string node = "paused-node";
        Assert.Null(await store.NodeSeenAsync(node, () => [], default));

        // Another node's sweep takes it for dead and has not committed yet.
        await using var sweeper = await dataSource.OpenConnectionAsync();
        await using var sweep = await sweeper.BeginTransactionAsync();
        Assert.Equal(1, await sweeper.ExecuteAsync("UPDATE hub_nodes SET swept_at = now() WHERE id = @node", new { node }, sweep));

        // The heartbeat comes meanwhile and waits for the sweep's row lock.
        var heartbeat = store.NodeSeenAsync(node, () => [], default);
        await using var watcher = await dataSource.OpenConnectionAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await watcher.ExecuteScalarAsync<long>(
                   "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%hub_nodes%'") == 0)
        {
            Assert.False(heartbeat.IsCompleted, "the heartbeat did not wait for the sweep's lock");
            Assert.True(DateTime.UtcNow < deadline, "the heartbeat never waited for the sweep's lock");
            await Task.Delay(20);
        }

        await sweep.CommitAsync();
        Assert.Equal(0, await heartbeat); // swept, nothing to put back
        Assert.Null(await store.NodeSeenAsync(node, () => [], default));
    }

    /// <summary>
    /// The sweep of a dead node takes each call's lock as a change of the call does: it waits for a broadcast's join
    /// under way, and a join that comes after it waits behind it — a stream of joins (sharing the lock) does not starve
    /// it, and it does not hold the other calls it locked while they come.
    /// </summary>
    [Fact]
    public async Task DeadNodeSweep_WaitsForTheJoinUnderWay_AJoinThatComesLaterWaitsBehindIt()
    {
        var postgres = await PostgresServer.GetAsync();
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateMigratedDatabaseAsync());
        DapperSetup.Configure();
        await using var c = await dataSource.OpenConnectionAsync();
        var host = Guid.CreateVersion7();
        var viewer = Guid.CreateVersion7();
        var (_, chat) = await SchoolWithChatAsync(c, "channel", host, viewer);
        var store = new CallStore(dataSource);
        var call = await CallOnANodeNotSeenForAnHourAsync(dataSource, c, chat, host, broadcast: true, viewer, "dead-node");

        // A join under way holds what a broadcast's join holds: the call's lock shared, its row for share.
        await using var joining = await dataSource.OpenConnectionAsync();
        await using var underWay = await joining.BeginTransactionAsync();
        await joining.ExecuteAsync($"SELECT pg_advisory_xact_lock_shared({CallStore.LockKeySql})", new { callId = call.Id }, underWay);
        await joining.ExecuteAsync("SELECT id FROM calls WHERE id = @callId FOR SHARE", new { callId = call.Id }, underWay);

        var sweep = store.ForgetDeadNodesAsync(TimeSpan.FromMinutes(1), default);
        await LockWaiters.WaitAsync(dataSource.ConnectionString, 1);
        await using var later = await dataSource.OpenConnectionAsync();
        await using var laterJoin = await later.BeginTransactionAsync();
        var laterLock = later.ExecuteAsync($"SELECT pg_advisory_xact_lock_shared({CallStore.LockKeySql})", new { callId = call.Id }, laterJoin);
        await LockWaiters.WaitAsync(dataSource.ConnectionString, 2);
        Assert.False(sweep.IsCompleted);

        await underWay.CommitAsync();
        Assert.Equal(1, await sweep.WaitAsync(TimeSpan.FromSeconds(15)));
        await laterLock.WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Empty(await later.ExecuteScalarAsync<string[]>("SELECT connection_ids FROM call_participants WHERE call_id = @callId", new { callId = call.Id }, laterJoin) ?? ["?"]);
    }

    /// <summary>
    /// A node taken for dead by mistake puts its open connections back as a change of the call does: it waits for the
    /// call's lock (held here by a change under way) before it touches the call's participant rows, so it takes its
    /// locks in the order the sweep of another node takes them, and then the person counts again and is no longer gone.
    /// </summary>
    [Fact]
    public async Task NodeTakenForDead_PutsItsConnectionsBackUnderTheCallsLock()
    {
        var postgres = await PostgresServer.GetAsync();
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateMigratedDatabaseAsync());
        DapperSetup.Configure();
        await using var c = await dataSource.OpenConnectionAsync();
        var host = Guid.CreateVersion7();
        var pupil = Guid.CreateVersion7();
        var (_, chat) = await SchoolWithChatAsync(c, "group", host, pupil);
        var store = new CallStore(dataSource);
        var call = await CallOnANodeNotSeenForAnHourAsync(dataSource, c, chat, host, broadcast: false, pupil, "paused-node");
        Assert.Equal(1, await store.ForgetDeadNodesAsync(TimeSpan.FromMinutes(1), default));
        const string Participant = "SELECT connection_ids, gone_since IS NOT NULL AS gone FROM call_participants WHERE call_id = @callId AND account_id = @pupil";
        var swept = await c.QuerySingleAsync<(string[] Connections, bool Gone)>(Participant, new { callId = call.Id, pupil });
        Assert.Empty(swept.Connections);
        Assert.True(swept.Gone);

        // A change of the call under way holds its lock and its row.
        await using var changing = await dataSource.OpenConnectionAsync();
        await using var change = await changing.BeginTransactionAsync();
        await changing.ExecuteAsync($"SELECT pg_advisory_xact_lock({CallStore.LockKeySql})", new { callId = call.Id }, change);
        await changing.ExecuteAsync("SELECT id FROM calls WHERE id = @callId FOR UPDATE", new { callId = call.Id }, change);

        var heartbeat = store.NodeSeenAsync("paused-node", () => [(call.Id, pupil, "paused-node/c1")], default);
        await LockWaiters.WaitAsync(dataSource.ConnectionString, 1);
        Assert.False(heartbeat.IsCompleted);
        await change.CommitAsync();

        Assert.Equal(1, await heartbeat.WaitAsync(TimeSpan.FromSeconds(15)));
        var back = await c.QuerySingleAsync<(string[] Connections, bool Gone)>(Participant, new { callId = call.Id, pupil });
        Assert.Equal(["paused-node/c1"], back.Connections);
        Assert.False(back.Gone);
        Assert.Null(await store.NodeSeenAsync("paused-node", () => throw new InvalidOperationException("asked while not swept"), default));
    }

    /// <summary>
    /// A node's handle check: of the people whose Janus handles it holds, whose are left over — out of the call (or the
    /// call ended), or in it only through other nodes' hub connections — and whose stay: in it through this node, or
    /// through no connection at all (their page may be on its way back here).
    /// </summary>
    [Fact]
    public async Task LeftOver_TheGoneAndTheMovedOnly()
    {
        var postgres = await PostgresServer.GetAsync();
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateMigratedDatabaseAsync());
        DapperSetup.Configure();
        await using var c = await dataSource.OpenConnectionAsync();
        var people = Enumerable.Range(0, 6).Select(_ => Guid.CreateVersion7()).ToArray();
        var (host, gone, moved, here, both, between) = (people[0], people[1], people[2], people[3], people[4], people[5]);
        var (school, chat) = await SchoolWithChatAsync(c, "group", people);
        var other = Guid.CreateVersion7();
        await c.ExecuteAsync("INSERT INTO chats (id, school_id, kind, title) VALUES (@other, @school, 'group', 'Кружок')", new { other, school });

        var store = new CallStore(dataSource);
        var db = new ChatDatabase(dataSource);
        var call = new CallRow(Guid.CreateVersion7(), chat, host, true, false, null, null, null, default, null);
        var ended = new CallRow(Guid.CreateVersion7(), other, host, true, false, null, null, null, default, null);
        CallParticipantRow In(Guid callId, Guid who, bool present = true) => new(callId, who, present, false, false, false, true, false, null, true, null);
        await db.InTransactionAsync(async s =>
        {
            await store.TryInsertAsync(s, call, default);
            await store.TryInsertAsync(s, ended, default);
            await store.SaveAsync(s, call.Id, false, false, [In(call.Id, host), In(call.Id, gone, present: false), In(call.Id, moved), In(call.Id, here), In(call.Id, both), In(call.Id, between)], default);
            await store.SaveAsync(s, ended.Id, false, false, [In(ended.Id, here)], default);
            await store.MarkConnectedAsync(s, call.Id, moved, "node-b/c1", default);
            await store.MarkConnectedAsync(s, call.Id, here, "node-a/c2", default);
            await store.MarkConnectedAsync(s, call.Id, both, "node-a/c3", default);
            await store.MarkConnectedAsync(s, call.Id, both, "node-b/c4", default);
            await store.MarkConnectedAsync(s, call.Id, between, "node-a/c5", default);
            return 0;
        }, default);
        Assert.True(await store.ConnectionClosedAsync(call.Id, between, "node-a/c5", default)); // on its way back
        await db.InTransactionAsync(async s => { await store.SaveAsync(s, ended.Id, false, ended: true, [], default); return 0; }, default);

        var leftOver = await store.LeftOverAsync(
            [(call.Id, gone), (call.Id, moved), (call.Id, here), (call.Id, both), (call.Id, between), (ended.Id, here)], "node-a", default);

        Assert.Equal(
            new[] { (call.Id, gone, false), (call.Id, moved, true), (ended.Id, here, false) }.Order(),
            leftOver.Order());
        // A node name that is a prefix of another's is not taken for it.
        Assert.Contains((call.Id, moved, true), await store.LeftOverAsync([(call.Id, moved)], "node-", default));
    }

    /// <summary>
    /// A live call of the chat whose one present participant is connected through <paramref name="node"/>
    /// (<c>node/c1</c>), a node last seen an hour ago: the next sweep takes it for dead.
    /// </summary>
    private static async Task<CallRow> CallOnANodeNotSeenForAnHourAsync(
        NpgsqlDataSource dataSource, NpgsqlConnection c, Guid chat, Guid host, bool broadcast, Guid participant, string node)
    {
        var store = new CallStore(dataSource);
        var call = new CallRow(Guid.CreateVersion7(), chat, host, broadcast, false, null, null, null, default, null);
        await new ChatDatabase(dataSource).InTransactionAsync(async s =>
        {
            await store.TryInsertAsync(s, call, default);
            await store.SaveAsync(s, call.Id, false, false, [new CallParticipantRow(call.Id, participant, true, false, false, false, true, false, null, false, null)], default);
            await store.MarkConnectedAsync(s, call.Id, participant, node + "/c1", default);
            return 0;
        }, default);
        await c.ExecuteAsync("INSERT INTO hub_nodes (id, seen_at) VALUES (@node, now() - interval '1 hour')", new { node });
        return call;
    }

    /// <summary>Accounts for <paramref name="people"/>, a school, and a chat of <paramref name="kind"/> in it.</summary>
    private static async Task<(Guid School, Guid Chat)> SchoolWithChatAsync(NpgsqlConnection c, string kind, params Guid[] people)
    {
        foreach (var id in people)
        {
            await c.ExecuteAsync("INSERT INTO accounts (id, display_name, phone) VALUES (@id, 'Тест', @phone)", new { id, phone = "+7" + id.ToString("N")[^10..] });
        }

        var school = Guid.CreateVersion7();
        await c.ExecuteAsync("INSERT INTO schools (id, name) VALUES (@school, 'Школа')", new { school });
        var chat = Guid.CreateVersion7();
        await c.ExecuteAsync("INSERT INTO chats (id, school_id, kind, title) VALUES (@chat, @school, @kind, 'Урок')", new { chat, school, kind });
        return (school, chat);
    }
}
