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
/// server) to a JSON file. Refuses to run without <c>--i-know-this-is-a-test-database</c>.
/// </summary>
internal static class LoadTestSeed
{
    public const string Command = "loadtest-seed";
    public const string ConfirmFlag = "--i-know-this-is-a-test-database";

    private const string Usage =
        "usage: loadtest-seed --classes 100 --size 30 [--schools 1] [--teachers] [--token-minutes 240] --out users.json " + ConfirmFlag;

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
                seededClasses.Add(new SeedClass(schoolClass.Id, classChat, schoolChannel, teacher is null ? null : issued[teacher.Id], pupils.Select(p => issued[p.Id]).ToList()));
            }

            if (k == 0)
            {
                (firstAdmin, firstSchool, firstChannel) = (issued[admin.Id], school.Id, schoolChannel);
            }
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

    private sealed record SeedPerson(Guid AccountId, string Token);

    private sealed record SeedClass(Guid ClassId, Guid ChatId, Guid SchoolChannelId, SeedPerson? Teacher, IReadOnlyList<SeedPerson> Members);

    private sealed record SeedFile(Guid SchoolId, Guid SchoolChannelId, DateTimeOffset TokensExpireAt, SeedPerson Admin, IReadOnlyList<SeedClass> Classes);
}
