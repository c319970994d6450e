using Chat.Hub.Features.Chats;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;

namespace Chat.Hub.Tests.Faults;

/// <summary>The app on a PostgreSQL of its own, which the test stops and starts again.</summary>
public sealed class PrivatePostgresApp : ChatApp
{
    public PostgresServer Postgres { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        Postgres = await PostgresServer.StartPrivateAsync(durable: true); // a crash must keep what was acknowledged
        UseDatabase(await Postgres.CreateMigratedDatabaseAsync());
    }
}

public sealed class PostgresRestartTests(PrivatePostgresApp app) : IClassFixture<PrivatePostgresApp>
{
    [Fact]
    public async Task SendWhileDatabaseDown_ClearRetryableError_SucceedsAfterRestart_NothingHalfWritten()
    {
        var school = await new SchoolBuilder(app).CreateAsync();
        var cls = await school.CreateClassAsync("9А");
        var pupil = await school.AddStudentAsync("Ученик", cls.Id);
        await using var hub = await HubClient.ConnectAsync(app, pupil);
        var chat = (await hub.Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id)).Single(c => c.Kind == "class");
        await hub.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chat.Id, Guid.NewGuid(), "До перезапуска", null, null));

        var invite = await school.InviteAsync(school.Admin, "student", cls.Id);
        await app.Postgres.StopAsync("fast");
        var pending = new SendMessageRequest(chat.Id, Guid.NewGuid(), "Во время перезапуска", null, null);
        try
        {
            var refused = await Assert.ThrowsAsync<HubException>(() => hub.Connection.InvokeAsync<MessageDto>("SendMessage", pending));
            Assert.Contains("service_unavailable:", refused.Message);

            // A request whose path holds a secret fails too: the log names its route, never the invite token.
            using var http = app.CreateClient(pupil.Tokens.AccessToken);
            await (await http.GetAsync($"/api/invites/{invite.Token}")).ExpectErrorAsync(System.Net.HttpStatusCode.ServiceUnavailable, "service_unavailable");
            var logged = app.Logs.Lines.Where(l => l.Contains("/api/invites/", StringComparison.Ordinal)).ToList();
            Assert.True(logged.Any(l => l.Contains("/api/invites/{token}", StringComparison.Ordinal)), string.Join("\n", app.Logs.Lines.Select(l => l.Split('\n')[0]).TakeLast(15)));
            Assert.DoesNotContain(app.Logs.Lines, l => l.Contains(invite.Token, StringComparison.Ordinal));
        }
        finally
        {
            await app.Postgres.RestartAsync();
        }

        // The client retries with the same client id; the pool drops the dead connections and the send goes through.
        MessageDto? stored = null;
        await HubClient.EventuallyAsync(() =>
        {
            try
            {
                stored = hub.Connection.InvokeAsync<MessageDto>("SendMessage", pending).GetAwaiter().GetResult();
                return true;
            }
            catch (HubException e) when (e.Message.Contains("service_unavailable", StringComparison.Ordinal))
            {
                return false;
            }
        }, "a send after the restart");
        Assert.Equal(2, stored!.Seq);

        var history = await hub.Connection.InvokeAsync<List<MessageDto>>("GetHistory", chat.Id, null, null);
        Assert.Equal([1L, 2L], history.Select(m => m.Seq));
        await using var db = new NpgsqlConnection(app.ConnectionString);
        await db.OpenAsync();
        await using var check = new NpgsqlCommand("SELECT last_seq FROM chats WHERE id = $1", db) { Parameters = { new() { Value = chat.Id } } };
        Assert.Equal(2L, (long)(await check.ExecuteScalarAsync())!); // the counter never ran ahead of the stored messages
    }

    [Fact]
    public async Task ConcurrentSendsWhileDatabaseDown_EveryOneGetsServiceUnavailable_NoHang()
    {
        await using var pupils = await ConnectedPupils.OfANewClassAsync(app, "9Б");
        var (school, hubs) = (pupils.School, pupils.Hubs);
        var chat = (await hubs[0].Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id)).Single(c => c.Kind == "class");
        await app.Postgres.StopAsync("fast");
        try
        {
            // One burst, so the sends share batches: the batch fails as a whole and each caller hears why.
            var sends = hubs.SelectMany(h => Enumerable.Range(0, 3).Select(_ =>
                h.Connection.InvokeAsync<MessageDto>("SendMessage", new SendMessageRequest(chat.Id, Guid.NewGuid(), "Во время остановки", null, null)))).ToList();
            foreach (var send in sends)
            {
                var refused = await Assert.ThrowsAsync<HubException>(() => send.WaitAsync(TimeSpan.FromSeconds(60)));
                Assert.Contains("service_unavailable:", refused.Message);
            }
        }
        finally
        {
            await app.Postgres.RestartAsync();
        }
    }

    /// <summary>
    /// PostgreSQL crashes (immediate stop, no shutdown checkpoint) while four pupils are sending, and comes back. Each
    /// client retries a refused send with the same client id, as the web client does: every message ends up stored
    /// exactly once (a send committed just before the crash whose answer was lost is found by its retry, not stored
    /// again), the chat's sequence has no gap and its counter did not run ahead, and catch-up returns them all.
    /// </summary>
    [Fact]
    public async Task DatabaseCrashesWhileSending_EveryRetriedSendStoredOnce_NoGapInTheSequence()
    {
        await using var pupils = await ConnectedPupils.OfANewClassAsync(app, "9В");
        var (school, hubs) = (pupils.School, pupils.Hubs);
        var chat = (await hubs[0].Connection.InvokeAsync<List<ChatSummaryDto>>("GetChats", school.Id)).Single(c => c.Kind == "class");
        const int PerPupil = 15;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var refused = 0;
        async Task<List<long>> SendAllAsync(HubClient hub, int pupil)
        {
            var seqs = new List<long>();
            for (var n = 0; n < PerPupil; n++)
            {
                var request = new SendMessageRequest(chat.Id, Guid.NewGuid(), $"Ученик {pupil}: {n}", null, null);
                for (var until = DateTime.UtcNow.AddSeconds(90); ; await Task.Delay(200))
                {
                    try
                    {
                        seqs.Add((await hub.Connection.InvokeAsync<MessageDto>("SendMessage", request)).Seq);
                        break;
                    }
                    catch (HubException e) when (e.Message.Contains("service_unavailable", StringComparison.Ordinal) && DateTime.UtcNow < until)
                    {
                        Interlocked.Increment(ref refused); // the database is away: the same request again
                    }
                }

                if (n == 3)
                {
                    started.TrySetResult();
                    if (pupil % 2 == 0)
                    {
                        // Half of them go on only once the database is down (on a fast host the others may all finish
                        // before it goes): some sends certainly meet the outage, others are in flight when it comes.
                        await stopped.Task;
                    }
                }
            }

            return seqs;
        }

        var sending = hubs.Select((h, i) => SendAllAsync(h, i)).ToList();
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await app.Postgres.StopAsync("immediate");
        stopped.TrySetResult();
        await Task.Delay(500);
        await app.Postgres.RestartAsync();
        var acknowledged = (await Task.WhenAll(sending).WaitAsync(TimeSpan.FromSeconds(120))).SelectMany(x => x).ToList();

        var total = 4 * PerPupil;
        Assert.True(refused > 0, "no send was in flight when the database went away");
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), acknowledged.Order());
        await using var db = new NpgsqlConnection(app.ConnectionString + ";Pooling=false"); // not left in a pool the other tests' restarts kill
        await db.OpenAsync();
        await using var check = new NpgsqlCommand(
            "SELECT count(*), count(DISTINCT client_id), max(seq), (SELECT last_seq FROM chats WHERE id = $1) FROM messages WHERE chat_id = $1", db)
        {
            Parameters = { new() { Value = chat.Id } },
        };
        await using (var row = await check.ExecuteReaderAsync())
        {
            Assert.True(await row.ReadAsync());
            Assert.Equal((total, total, total, total), ((int)row.GetInt64(0), (int)row.GetInt64(1), (int)row.GetInt64(2), (int)row.GetInt64(3)));
        }

        var updates = await hubs[0].Connection.InvokeAsync<ChatUpdatesDto>("GetUpdates", chat.Id, 0L, 200);
        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), updates.Events.Select(e => e.Seq));
    }

    /// <summary>Four pupils of a new class of a new school, connected; disposing closes their connections.</summary>
    private sealed class ConnectedPupils(TestSchool school, List<HubClient> hubs) : IAsyncDisposable
    {
        public TestSchool School => school;

        public IReadOnlyList<HubClient> Hubs => hubs;

        public static async Task<ConnectedPupils> OfANewClassAsync(ChatApp app, string className)
        {
            var school = await new SchoolBuilder(app).CreateAsync();
            var cls = await school.CreateClassAsync(className);
            var hubs = new List<HubClient>();
            for (var i = 0; i < 4; i++)
            {
                hubs.Add(await HubClient.ConnectAsync(app, await school.AddStudentAsync($"Ученик {i}", cls.Id)));
            }

            return new ConnectedPupils(school, hubs);
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var hub in hubs)
            {
                await hub.DisposeAsync();
            }
        }
    }
}
