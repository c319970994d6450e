using Chat.Hub.Features.Calls;
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
        var ids = Enumerable.Range(0, Viewers).Select(_ => Guid.CreateVersion7()).ToArray();
        await app.ExecuteSqlAsync(
            "INSERT INTO accounts (id, display_name, email) SELECT id, 'Зритель', id::text || '@viewers.test' FROM unnest(@ids::uuid[]) AS t(id)",
            new { ids });
        await app.ExecuteSqlAsync("INSERT INTO school_members (school_id, account_id) SELECT @s, id FROM unnest(@ids::uuid[]) AS t(id)", new { s = school.Id, ids });
        await app.ExecuteSqlAsync("INSERT INTO chat_members (chat_id, account_id) SELECT @c, id FROM unnest(@ids::uuid[]) AS t(id)", new { c = channel.Id, ids });
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
}
