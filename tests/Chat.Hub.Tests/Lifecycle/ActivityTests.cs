using System.Diagnostics.Metrics;
using Chat.Hub.Features.Statistics;
using Chat.Hub.Tests.Infrastructure;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Chat.Hub.Tests.Lifecycle;

/// <summary>
/// The statistics' active people: a connection marks its person active today; a class connecting at once (a reconnect
/// storm in miniature) is written in a few statements, not one commit each, and a node that stops right after still
/// writes its marks.
/// </summary>
public sealed class ActivityTests(ChatApp app) : IClassFixture<ChatApp>
{
    [Fact]
    public async Task WholeClassConnectsAtOnce_EachIsActiveToday_WrittenInAFewStatements()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(pupils: 30);
        var everyone = room.Pupils.Append(room.Teacher).ToList();

        // Only this app's meter (other test classes run their own apps in this process at the same time).
        var factory = app.Services.GetRequiredService<IMeterFactory>();
        var batches = new List<int>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Chat.Hub.Activity" && instrument.Name == "chat.activity.batch.size" && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((_, value, _, _) =>
        {
            lock (batches)
            {
                batches.Add(value);
            }
        });
        listener.Start();

        var hubs = await Task.WhenAll(everyone.Select(u => HubClient.ConnectAsync(app, u)));
        try
        {
            // The admin's read waits for this node's queued marks.
            var stats = await (await room.School.Admin.Http.GetAsync($"{room.School.Api}/statistics?tz=UTC")).ReadAsync<SchoolStatsDto>();
            Assert.Equal(30, stats.ActiveUsers.Single(a => a.Role == "student").Day);

            // One row each, of the UTC day of its time.
            await using var db = new NpgsqlConnection(app.ConnectionString);
            var rows = await db.ExecuteScalarAsync<int>(
                """
                SELECT count(*) FROM daily_activity
                WHERE school_id = @school AND account_id = ANY (@ids) AND day = (last_seen_at AT TIME ZONE 'UTC')::date
                  AND last_seen_at > now() - interval '5 minutes'
                """,
                new { school = room.School.Id, ids = everyone.Select(u => u.AccountId).ToArray() });
            Assert.Equal(31, rows);

            int[] sizes;
            lock (batches)
            {
                sizes = [.. batches];
            }

            Assert.Equal(31, sizes.Sum());
            Assert.InRange(sizes.Length, 1, 8);
        }
        finally
        {
            foreach (var hub in hubs)
            {
                await hub.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task NodeStopsRightAfterAClassConnected_ItWritesTheirActivityBeforeItGoes()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(pupils: 10);
        await using var node = app.NodeProcess(new Dictionary<string, string?>());
        await node.StartAsync();
        var members = room.Pupils.Select(p => new NodeMember(p)).ToList();
        try
        {
            // Connected (a connection's first invocation runs after its connect, which marks the person): then SIGTERM
            // at once, while the marks wait for more.
            await Task.WhenAll(members.Select(m => m.ConnectAsync(node.BaseAddress, [room.ChatId])));
            await node.StopAsync();
        }
        finally
        {
            foreach (var member in members)
            {
                await member.DisposeAsync();
            }
        }

        await using var db = new NpgsqlConnection(app.ConnectionString);
        var rows = await db.ExecuteScalarAsync<int>(
            "SELECT count(*) FROM daily_activity WHERE school_id = @school AND account_id = ANY (@ids)",
            new { school = room.School.Id, ids = room.Pupils.Select(p => p.AccountId).ToArray() });
        Assert.Equal(10, rows);
    }

    /// <summary>
    /// A teacher keeps the messenger open on the staff-room computer for days: she is active on each of them, not only on
    /// the day she connected (each node marks its connected people every minute; here, as it would tomorrow).
    /// </summary>
    [Fact]
    public async Task ConnectionKeptOpenOvernight_ThePersonIsActiveTheNextDayToo_WhoLeftIsNot()
    {
        var room = await new SchoolBuilder(app).ClassRoomAsync(pupils: 1);
        await using var teacher = await HubClient.ConnectAsync(app, room.Teacher);
        await using (await HubClient.ConnectAsync(app, room.Petya))
        {
        }

        var registry = app.Services.GetRequiredService<Chat.Hub.Realtime.ConnectionRegistry>();
        await HubClient.EventuallyAsync(() => registry.CountOf(room.Petya.AccountId) == 0, "Петя's connection gone from the node");
        var recorder = app.Services.GetRequiredService<ActivityRecorder>();
        var tomorrow = DateTimeOffset.UtcNow.UtcDateTime.Date.AddDays(1).AddHours(9);
        recorder.MarkConnected(new DateTimeOffset(tomorrow, TimeSpan.Zero));
        await recorder.WrittenAsync();

        await using var db = new NpgsqlConnection(app.ConnectionString);
        var active = (await db.QueryAsync<Guid>(
            "SELECT account_id FROM daily_activity WHERE school_id = @school AND day = @day",
            new { school = room.School.Id, day = tomorrow.Date })).ToList();
        Assert.Equal([room.Teacher.AccountId], active);
    }
}
