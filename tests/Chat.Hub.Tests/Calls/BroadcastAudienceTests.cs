using Chat.Hub.Features.Calls;
using Chat.Hub.Infrastructure;
using Chat.Storage.Calls;
using Chat.Testing;
using Chat.Hub.Tests.Infrastructure;
using Dapper;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chat.Hub.Tests.Calls;

/// <summary>
/// A broadcast's audience as the server keeps it: a change reads only the people it concerns and whoever is more than
/// a viewer, and counts the other viewers (docs/calls.md, "Broadcasts"); viewers join side by side under a share lock.
/// What must hold all the same: everyone who joined is in once and counted, the end takes every viewer out (their
/// attendance ends), and the call ends only when the last person present leaves, whoever was read.
/// </summary>
public sealed class BroadcastAudienceTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task TwoHundredViewersJoinAtOnce_EachInOnceAndCounted_TheEndTakesEveryoneOut()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        await using var admin = await HubClient.ConnectAsync(app, school.Admin);
        var channel = Assert.Single(await admin.ChatsAsync(school.Id), c => c.Title == "Общешкольный канал");
        const int Viewers = 200;
        var ids = await AddViewersAsync(app, school.Id, channel.Id, Viewers);
        var callId = (await admin.Connection.InvokeAsync<CallJoinDto>("StartBroadcast", channel.Id)).Call.CallId;

        // They all open it at once (joins straight into the service: 200 hub connections are not the point here),
        // a tenth of them twice (a second tab).
        var calls = app.Services.GetRequiredService<CallService>();
        await Parallel.ForEachAsync(ids.Concat(ids.Take(Viewers / 10)), new ParallelOptions { MaxDegreeOfParallelism = 16 },
            async (id, ct) => await calls.JoinAsync(id, callId, ct));

        var state = await admin.Connection.InvokeAsync<CallDto>("GetCall", callId);
        Assert.Equal(Viewers, state.ViewerCount);
        Assert.Equal(school.Admin.AccountId, Assert.Single(state.Participants).AccountId);
        await using var db = new NpgsqlConnection(app.ConnectionString);
        Assert.Equal(Viewers + 1, await db.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM call_participants WHERE call_id = @callId AND present", new { callId }));

        await admin.Connection.InvokeAsync("EndCall", callId);

        Assert.Equal(0, await db.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM call_participants WHERE call_id = @callId AND (present OR left_at IS NULL)", new { callId }));
        Assert.Equal(Viewers + 1, await db.ExecuteScalarAsync<int>(
            "SELECT count(DISTINCT account_id) FROM call_attendance WHERE call_id = @callId", new { callId }));
        Assert.Equal(0, await db.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM call_attendance WHERE call_id = @callId AND left_at IS NULL", new { callId }));
    }

    [Fact]
    public async Task TheAdminLeavesHerBroadcast_ItGoesOnForTheViewers_UntilTheLastOneLeaves()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var a = await school.CreateClassAsync("4Б");
        await using var admin = await HubClient.ConnectAsync(app, school.Admin);
        var channel = Assert.Single(await admin.ChatsAsync(school.Id), c => c.Title == "Общешкольный канал");
        var pupils = new List<HubClient>();
        try
        {
            foreach (var name in new[] { "Оля", "Петя", "Рома" })
            {
                pupils.Add(await HubClient.ConnectAsync(app, await school.AddStudentAsync(name, a.Id)));
            }

            var callId = (await admin.Connection.InvokeAsync<CallJoinDto>("StartBroadcast", channel.Id)).Call.CallId;
            foreach (var p in pupils)
            {
                await p.Connection.InvokeAsync<CallJoinDto>("JoinCall", callId);
            }

            var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            pupils[^1].Connection.On<Guid>("CallEnded", id =>
            {
                if (id == callId)
                {
                    ended.TrySetResult();
                }
            });

            // Each leave reads only the one who leaves (and the admin, who is more than a viewer): the viewers still
            // there are a count, and it keeps the broadcast going.
            await admin.Connection.InvokeAsync("LeaveCall", callId);
            await pupils[0].Connection.InvokeAsync("LeaveCall", callId);
            await pupils[1].Connection.InvokeAsync("LeaveCall", callId);
            var still = await pupils[2].Connection.InvokeAsync<CallDto>("GetCall", callId);
            Assert.False(still.Ended);
            Assert.Equal(1, still.ViewerCount);
            Assert.False(ended.Task.IsCompleted);

            await pupils[2].Connection.InvokeAsync("LeaveCall", callId);
            await ended.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await pupils[2].Connection.InvokeAsync<CallDto>("GetCall", callId).ExpectHubErrorAsync("call_not_found");
        }
        finally
        {
            foreach (var p in pupils)
            {
                await p.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Joins of a broadcast share the call's lock, but a change that needs it alone (here the end) is not held up by a
    /// stream of them: once it waits, a join that comes later waits behind it (PostgreSQL queues advisory locks fairly;
    /// share locks of a row would let each new join in ahead of it).
    /// </summary>
    [Fact]
    public async Task ABroadcastsEndWaitsForTheJoinUnderWay_NotForJoinsThatComeAfterIt()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        await using var admin = await HubClient.ConnectAsync(app, school.Admin);
        var channel = Assert.Single(await admin.ChatsAsync(school.Id), c => c.Title == "Общешкольный канал");
        var viewer = (await AddViewersAsync(app, school.Id, channel.Id, 1))[0];
        var callId = (await admin.Connection.InvokeAsync<CallJoinDto>("StartBroadcast", channel.Id)).Call.CallId;

        // A join under way: it holds what a join holds (the call's lock shared, its row for share) until it commits.
        await using var joining = new NpgsqlConnection(app.ConnectionString);
        await joining.OpenAsync();
        await using var underWay = await joining.BeginTransactionAsync();
        await joining.ExecuteAsync($"SELECT pg_advisory_xact_lock_shared({CallStore.LockKeySql})", new { callId }, underWay);
        await joining.ExecuteAsync("SELECT id FROM calls WHERE id = @callId FOR SHARE", new { callId }, underWay);

        // The admin ends the broadcast: she waits for that join. A viewer joins meanwhile: he waits behind her.
        var end = admin.Connection.InvokeAsync("EndCall", callId);
        await LockWaiters.WaitAsync(app.ConnectionString, 1);
        var late = app.Services.GetRequiredService<CallService>().JoinAsync(viewer, callId, default);
        await LockWaiters.WaitAsync(app.ConnectionString, 2);
        Assert.False(end.IsCompleted);
        Assert.False(late.IsCompleted);

        // The join under way commits: the end goes through, and the late join finds the broadcast over.
        await underWay.CommitAsync();
        await end.WaitAsync(TimeSpan.FromSeconds(15));
        var refused = await Assert.ThrowsAsync<ChatException>(() => late.WaitAsync(TimeSpan.FromSeconds(15)));
        Assert.Equal(ChatError.CallNotFound, refused.Error);
    }

    /// <summary>
    /// Joins side by side each count the viewers they see: one that read the count before another committed pushes a
    /// count one short. The count is read again a second after any push, so the last one the chat gets is right.
    /// </summary>
    [Fact]
    public async Task AJoinCountsTheViewersBeforeAnotherJoinCommits_TheLastCountPushedIsRightAllTheSame()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        await using var admin = await HubClient.ConnectAsync(app, school.Admin);
        var channel = Assert.Single(await admin.ChatsAsync(school.Id), c => c.Title == "Общешкольный канал");
        var viewers = await AddViewersAsync(app, school.Id, channel.Id, 2);
        var (vika, petya) = (viewers[0], viewers[1]);
        var counts = new List<int>();
        admin.Connection.On<Guid, int>("BroadcastViewers", (_, n) =>
        {
            lock (counts)
            {
                counts.Add(n);
            }
        });
        var callId = (await admin.Connection.InvokeAsync<CallJoinDto>("StartBroadcast", channel.Id)).Call.CallId;
        var calls = app.Services.GetRequiredService<CallService>();
        await calls.JoinAsync(vika, callId, default);
        await calls.LeaveAsync(vika, callId, default);
        await HubClient.EventuallyAsync(() => Last() == 0, "Вика left");
        await Task.Delay(CallService.ViewerPushEvery * 1.5); // a quiet second

        // Вика comes back: her join counts the viewers (none), then waits to write her row (held here, as a busy
        // database would hold it). Петя joins meanwhile and is counted alone; a quiet second passes after that push.
        await using var holder = new NpgsqlConnection(app.ConnectionString);
        await holder.OpenAsync();
        await using (var hold = await holder.BeginTransactionAsync())
        {
            await holder.ExecuteAsync("SELECT 1 FROM call_participants WHERE call_id = @callId AND account_id = @vika FOR UPDATE", new { callId, vika }, hold);
            var back = calls.JoinAsync(vika, callId, default);
            await LockWaiters.WaitAsync(app.ConnectionString, 1);
            await calls.JoinAsync(petya, callId, default);
            await HubClient.EventuallyAsync(() => Last() == 1, "Петя is counted");
            await Task.Delay(CallService.ViewerPushEvery * 1.5);
            await hold.RollbackAsync();
            await back.WaitAsync(TimeSpan.FromSeconds(15));
        }

        // Her join pushed the count she read (one: herself); a second later the chat gets the two who watch.
        await HubClient.EventuallyAsync(() => Last() == 2, "the count ends on two");
        await Task.Delay(CallService.ViewerPushEvery * 1.5); // nothing else is coming
        Assert.Equal(2, Last());
        Assert.Equal(2, (await admin.Connection.InvokeAsync<CallDto>("GetCall", callId)).ViewerCount);

        int Last()
        {
            lock (counts)
            {
                return counts.Count == 0 ? -1 : counts[^1];
            }
        }
    }

    /// <summary>
    /// <paramref name="count"/> new people of the school (e-mail accounts), members of the chat: an audience made
    /// straight in the database, as thousands signing in one by one would be too slow for a test.
    /// </summary>
    internal static async Task<Guid[]> AddViewersAsync(ChatApp app, Guid schoolId, Guid chatId, int count)
    {
        var ids = Enumerable.Range(0, count).Select(_ => Guid.CreateVersion7()).ToArray();
        await app.ExecuteSqlAsync(
            """
            INSERT INTO accounts (id, display_name, email) SELECT id, 'Зритель', id::text || '@viewers.test' FROM unnest(@ids::uuid[]) AS t(id);
            INSERT INTO school_members (school_id, account_id) SELECT @schoolId, id FROM unnest(@ids::uuid[]) AS t(id);
            INSERT INTO chat_members (chat_id, account_id) SELECT @chatId, id FROM unnest(@ids::uuid[]) AS t(id);
            """,
            new { ids, schoolId, chatId });
        return ids;
    }
}
