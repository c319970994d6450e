using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Chat.Hub.Features.Accounts;
using Chat.Hub.Infrastructure;
using Chat.Storage.Accounts;
using Chat.Storage.Chats;
using Chat.Storage.Infrastructure;
using Chat.Storage.Schools;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Chat.Hub;

/// <summary>
/// <c>loadtest-seed</c>: fills a test database for the load harness (src/Chat.LoadTests) without the one-time-code
/// sign-in, which has per-IP send limits. Creates a school (or several) with an admin, classes of pupils (optionally one class
/// teacher each), lets <see cref="ChatStore.SyncRosterAsync"/> create the roster chats exactly as the server does,
/// opens a session per person and writes long-lived access tokens (same key and <see cref="TokenService"/> as the
/// server) to a JSON file. With <c>--history N</c> every class chat starts with N earlier messages of its pupils (a school
/// some weeks into the term; the planner then works on statistics of a table with rows, as in production) and the
/// database is analysed. Refuses to run without <c>--i-know-this-is-a-test-database</c>.
/// </summary>
internal static class LoadTestSeed
{
    public const string Command = "loadtest-seed";
    public const string ConfirmFlag = "--i-know-this-is-a-test-database";

    private const string Usage =
        "usage: loadtest-seed --classes 100 --size 30 [--schools 1] [--teachers] [--history 0] [--token-minutes 240] --out users.json " + ConfirmFlag;

    public static async Task<int> RunAsync(string[] args, IConfiguration configuration)
    {
        if (!args.Contains(ConfirmFlag))
        {
            await Console.Error.WriteLineAsync($"loadtest-seed creates thousands of fake people with live sessions. It runs only with {ConfirmFlag}.");
            return 2;
        }

        int Int(string name, int fallback, int min, int max)
        {
            var i = Array.IndexOf(args, name);
            if (i < 0 || i + 1 >= args.Length)
            {
                return fallback;
            }

            var value = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
            return value < min || value > max ? throw new ArgumentOutOfRangeException(name, $"{name} must be {min}..{max}") : value;
        }

        var outIndex = Array.IndexOf(args, "--out");
        if (outIndex < 0 || outIndex + 1 >= args.Length)
        {
            await Console.Error.WriteLineAsync(Usage);
            return 2;
        }

        var outPath = args[outIndex + 1];
        var classes = Int("--classes", 1, 1, 1000);
        var size = Int("--size", 30, 1, 20_000);
        var tokenMinutes = Int("--token-minutes", 240, 1, 7 * 24 * 60);
        var withTeachers = args.Contains("--teachers");
        var history = Int("--history", 0, 0, 100_000);

        var authOptions = configuration.GetSection("Auth").Get<AuthOptions>() ?? new AuthOptions();
        if (string.IsNullOrWhiteSpace(authOptions.SigningKey))
        {
            await Console.Error.WriteLineAsync("Auth__SigningKey must be set to the key the server under test uses; otherwise its tokens are worthless.");
            return 2;
        }

        authOptions.AccessTokenMinutes = tokenMinutes;
        var options = Options.Create(authOptions);
        var tokens = new TokenService(options, new SigningKeyProvider(options, NullLogger<SigningKeyProvider>.Instance), TimeProvider.System);

        // Its own data source: the roster synchronisation of a 20 000-member school runs longer than the default 30 s command timeout.
        var connectionString = new NpgsqlConnectionStringBuilder(configuration.GetConnectionString("Chat")) { CommandTimeout = 1800 }.ConnectionString;
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var clock = Stopwatch.StartNew();
        var database = new ChatDatabase(dataSource);
        var accounts = new AccountStore(dataSource);
        var sessions = new SessionStore(dataSource);
        var schools = new SchoolStore(dataSource);
        var memberships = new MembershipStore(dataSource);
        var chats = new ChatStore(dataSource);
        var ct = CancellationToken.None;
        var run = Guid.NewGuid().ToString("N")[..10];
        var year = SchoolYear.Current(TimeProvider.System);
        string Email(string who) => $"lt-{run}-{who}@load.test";

        // Each school and its first admin, the way the platform operator's registration leaves them; classes are spread
        // evenly over the schools (--schools keeps each school's roster synchronisation small).
        var schoolsWanted = Math.Min(Int("--schools", 1, 1, 1000), classes);
        var seededClasses = new List<SeedClass>(classes);
        var issued = new Dictionary<Guid, SeedPerson>();
        SeedPerson? firstAdmin = null;
        Guid firstSchool = default, firstChannel = default;
        DateTimeOffset expiresAt = default;
        for (var k = 0; k < schoolsWanted; k++)
        {
            var (school, admin) = await database.InTransactionAsync(async s =>
            {
                var admin = await accounts.GetOrCreateAsync(s, null, Email($"s{k}admin"), "Load Admin", ct);
                var school = await schools.CreateAsync(s, $"Load test {run} #{k + 1}", "Load", "127.0.0.1", admin.Id, null, admin.Email, year, ct);
                await schools.ClaimPendingAdminAsync(s, admin.Id, null, admin.Email, ct);
                return (school, admin);
            }, ct);

            var layout = new List<(SchoolClass Class, Account? Teacher, List<Account> Pupils)>();
            for (var c = k; c < classes; c += schoolsWanted)
            {
                layout.Add(await database.InTransactionAsync(async s =>
                {
                    var schoolClass = await schools.CreateClassAsync(s, school.Id, "class", $"LT-{c + 1:D4}", null, null, year, ct);
                    Account? teacher = null;
                    if (withTeachers)
                    {
                        teacher = await accounts.GetOrCreateAsync(s, null, Email($"t{c}"), $"Teacher {c + 1}", ct);
                        await memberships.MakeTeacherAsync(s, school.Id, teacher.Id, ct);
                        await memberships.AddClassTeacherAsync(s, school.Id, schoolClass.Id, teacher.Id, ct);
                    }

                    var pupils = new List<Account>(size);
                    for (var p = 0; p < size; p++)
                    {
                        var pupil = await accounts.GetOrCreateAsync(s, null, Email($"c{c}p{p}"), $"Pupil {c + 1}.{p + 1}", ct);
                        await memberships.EnsureMemberAsync(s, school.Id, pupil.Id, ct);
                        await memberships.TryEnrolStudentAsync(s, school.Id, pupil.Id, schoolClass.Id, ct);
                        pupils.Add(pupil);
                    }

                    return (schoolClass, teacher, pupils);
                }, ct));
                if (layout.Count % 20 == 0)
                {
                    Console.WriteLine($"school {k + 1}/{schoolsWanted}: seeded {layout.Count} classes ({clock.Elapsed.TotalSeconds:F0} s)");
                }
            }

            // The same roster synchronisation the server runs after every roster change creates the chats and memberships.
            var syncClock = Stopwatch.StartNew();
            var changes = await database.InTransactionAsync(s => chats.SyncRosterAsync(s, school.Id, ct), ct);
            Console.WriteLine($"school {k + 1}: roster chats in sync: {changes.Count} memberships; SyncRosterAsync took {syncClock.Elapsed.TotalSeconds:F1} s");

            var everyone = new List<Account> { admin };
            everyone.AddRange(layout.SelectMany(l => l.Teacher is null ? l.Pupils : [l.Teacher, .. l.Pupils]));
            foreach (var batch in everyone.Chunk(500))
            {
                await database.InTransactionAsync(async s =>
                {
                    foreach (var account in batch)
                    {
                        var session = await sessions.CreateAsync(s, account.Id, TokenService.Hash(TokenService.NewRefreshToken()), "load-test",
                            DateTime.UtcNow.AddMinutes(tokenMinutes + 60), ct);
                        var (token, expires) = tokens.IssueAccessToken(account.Id, session.Id);
                        expiresAt = expires;
                        issued[account.Id] = new SeedPerson(account.Id, token);
                    }

                    return 0;
                }, ct);
            }

            Guid schoolChannel = default;
            foreach (var chat in (await chats.ListForMemberAsync(admin.Id, school.Id, ct)).Where(c => c.Kind == "channel"))
            {
                if ((await chats.GetAsync(chat.Id, ct))?.SystemKey == "school_channel")
                {
                    schoolChannel = chat.Id;
                }
            }

            foreach (var (schoolClass, teacher, pupils) in layout)
            {
                var mine = await chats.ListForMemberAsync(pupils[0].Id, school.Id, ct);
                var classChat = mine.Single(c => c.Kind == "class" && c.ClassId == schoolClass.Id).Id;
                await SeedHistoryAsync(dataSource, classChat, pupils.Select(p => p.Id).ToArray(), history, ct);
                seededClasses.Add(new SeedClass(schoolClass.Id, classChat, schoolChannel, teacher is null ? null : issued[teacher.Id],
                    pupils.Select(p => issued[p.Id]).ToList(), history));
            }

            if (k == 0)
            {
                (firstAdmin, firstSchool, firstChannel) = (issued[admin.Id], school.Id, schoolChannel);
            }
        }

        if (history > 0)
        {
            // Vacuumed and analysed now, so that autovacuum does not do it in the first minute of the run.
            await using var vacuum = dataSource.CreateCommand("VACUUM (ANALYZE)");
            await vacuum.ExecuteNonQueryAsync(ct);
            Console.WriteLine($"history: {history} messages in each class chat, database vacuumed and analysed ({clock.Elapsed.TotalSeconds:F0} s)");
        }

        var file = new SeedFile(firstSchool, firstChannel, expiresAt, firstAdmin!, seededClasses);
        var directory = Path.GetDirectoryName(Path.GetFullPath(outPath));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        await using (var stream = File.Create(outPath))
        {
            await JsonSerializer.SerializeAsync(stream, file, ChatJson.Options);
        }

        Console.WriteLine($"seeded {schoolsWanted} school(s): {classes} classes x {size} pupils{(withTeachers ? " + teacher" : "")}, {issued.Count} sessions, "
            + $"tokens valid until {expiresAt:O}; wrote {outPath} in {clock.Elapsed.TotalSeconds:F1} s");
        return 0;
    }

    /// <summary>
    /// Messages 1..<paramref name="count"/> of the chat, from its pupils in turn, ten minutes apart up to now, texts from
    /// a small school vocabulary (so the search index holds a realistic spread of words).
    /// </summary>
    private static async Task SeedHistoryAsync(NpgsqlDataSource dataSource, Guid chatId, Guid[] pupils, int count, CancellationToken ct)
    {
        if (count == 0 || pupils.Length == 0)
        {
            return;
        }

        await using var command = dataSource.CreateCommand(
            """
            INSERT INTO messages (chat_id, seq, sender_id, client_id, kind, text, version_seq, created_at)
            SELECT $1, g, ($2::uuid[])[1 + g % cardinality($2::uuid[])], gen_random_uuid(), 'text',
                   concat_ws(' ', w[1 + g % n], w[1 + (g / 3 + 7) % n], w[1 + (g / 11 + 13) % n], w[1 + (g * 17 / 5) % n], w[1 + (g / 37 + 29) % n]),
                   g, now() - make_interval(mins => ($3 - g) * 10)
            FROM generate_series(1, $3) g,
                 (SELECT string_to_array('завтра контрольная по математике не забудьте тетради и учебник домашнее задание '
                   || 'на понедельник кто знает какая страница спасибо большое учитель сказал что урок перенесли родительское '
                   || 'собрание в пятницу после шестого урока физкультура литература сочинение', ' ') AS w) words,
                 LATERAL (SELECT cardinality(w) AS n) size
            """);
        command.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = chatId });
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = pupils });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = count });
        await command.ExecuteNonQueryAsync(ct);

        await using var bump = dataSource.CreateCommand("UPDATE chats SET last_seq = $2, last_message_at = now() WHERE id = $1");
        bump.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = chatId });
        bump.Parameters.Add(new NpgsqlParameter<long> { TypedValue = count });
        await bump.ExecuteNonQueryAsync(ct);
    }

    private sealed record SeedPerson(Guid AccountId, string Token);

    /// <summary><paramref name="HistorySeq"/>: the class chat's last seq before the run (its seeded history).</summary>
    private sealed record SeedClass(Guid ClassId, Guid ChatId, Guid SchoolChannelId, SeedPerson? Teacher, IReadOnlyList<SeedPerson> Members, long HistorySeq);

    private sealed record SeedFile(Guid SchoolId, Guid SchoolChannelId, DateTimeOffset TokensExpireAt, SeedPerson Admin, IReadOnlyList<SeedClass> Classes);
}
