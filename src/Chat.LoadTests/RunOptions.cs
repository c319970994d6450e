using System.Globalization;

namespace Chat.LoadTests;

/// <summary>Everything one run needs. The command line fills it (see <see cref="Parse"/>); the smoke test builds it.</summary>
public sealed class RunOptions
{
    public required ScenarioSpec Scenario { get; set; }

    /// <summary>Where reports go: a folder per run is made under it.</summary>
    public string ResultsDirectory { get; set; } = "results";

    /// <summary>The built server (Chat.Hub.dll) to seed and start; not needed with <see cref="ExternalServer"/>.</summary>
    public string? HubDll { get; set; }

    /// <summary>The PostgreSQL database the started server uses (a test database: it gets seeded).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Redis for the two-node target (host:port).</summary>
    public string? Redis { get; set; }

    /// <summary>Pids whose CPU counts as the database (the postmaster; its backends are found as its children).</summary>
    public int? PostgresPid { get; set; }

    public int? RedisPid { get; set; }

    /// <summary>An already running server instead of starting one: its base address and a seed file made for it.</summary>
    public Uri? ExternalServer { get; set; }

    public int? ExternalServerPid { get; set; }

    public string? SeedFilePath { get; set; }

    /// <summary>Pin servers (and the floor) to <see cref="ServerCore"/> with taskset; the harness itself is pinned by its caller.</summary>
    public bool Pin { get; set; }

    public int ServerCore { get; set; }

    /// <summary>The core the caller pinned PostgreSQL and Redis to (for the report); null: the server's core.</summary>
    public int? DatabaseCore { get; set; }

    /// <summary>Run the floor inside this process (tests) instead of as a pinned child process.</summary>
    public bool FloorInProcess { get; set; }

    public TargetKind[]? Targets { get; set; }

    public double[]? Rates { get; set; }

    public int? StepSeconds { get; set; }

    public int DrainSeconds { get; set; } = 30;

    /// <summary>
    /// Seconds of unmeasured traffic (at the first step's rate, at most 200 msg/s) before the first step; null: 5 (1 for
    /// steps of 6 s or less). The runtime keeps recompiling hot code (tiered compilation with dynamic PGO) for tens of
    /// seconds after a start; a longer warm-up measures a server that has been running for a while.
    /// </summary>
    public int? WarmUpSeconds { get; set; }

    /// <summary>
    /// Seconds of unmeasured traffic at each step's own rate right before the step is measured (no drain between); null:
    /// 10 (1 for steps of 6 s or less): a jump from 200 to 2000 msg/s was still settling 5–7 s after it. Without it every step starts from an idle server (the previous step is drained)
    /// and its first seconds measure the jump to the new rate — buffers, batches and queues growing to it — rather
    /// than the rate itself. Its messages are checked like the step's (lost, duplicated, out of order) but not timed.
    /// </summary>
    public int? LeadInSeconds { get; set; }

    public int ConnectConcurrency { get; set; } = 64;

    /// <summary>Reconnect storm: how many reconnects are in flight at once (all of them by default: a storm).</summary>
    public int StormConcurrency { get; set; } = 3000;

    /// <summary>
    /// How members are spread over the nodes of server-2-nodes: alternating (every chat has members on both nodes, the
    /// worst case for the backplane), or by class (each class's members on one node, as a load balancer that routes by
    /// school or class would place them: a class chat's fan-out stays on one node).
    /// </summary>
    public bool PlaceByClass { get; set; }

    public int TokenMinutes { get; set; } = 240;

    public int TextLength { get; set; } = 80;

    /// <summary>
    /// Earlier messages seeded into every class chat before the run; null: 1000 (20 for steps of 6 s or less). A server
    /// measured on empty tables does not show what grows with a chat's history, and PostgreSQL plans its statements on
    /// the statistics of empty tables until autovacuum first analyses them.
    /// </summary>
    public int? HistoryMessages { get; set; }

    /// <summary>Configuration for the server under test, passed as environment variables and written into the report.</summary>
    public Dictionary<string, string> ServerEnvironment { get; } = new(StringComparer.Ordinal)
    {
        // The per-person send limits (5/s, burst 30) would throttle the admin of the channel scenario: raised for load runs.
        ["Limits__MessagesPerSecond"] = "100000",
        ["Limits__MessageBurst"] = "100000",
    };

    public string AspNetCoreEnvironment { get; set; } = "Production";

    public bool Quiet { get; set; }

    /// <summary>Where progress lines go instead of the console (the smoke test's output helper).</summary>
    public Action<string>? Output { get; set; }

    /// <summary>Write the Markdown/HTML report with plots (the smoke test writes it too, to keep the writer working).</summary>
    public bool WriteReport { get; set; } = true;

    public const string Usage = """
        Chat.LoadTests: load tests of the hot fan-out path (docs/performance.md).

          run --scenario NAME [options]      run a scenario against the floor and the server, write a report
          floor --port N [--seconds S]       run only the floor hub (/hubs/floor)
          list                               list the scenarios
          probe                              the machine's speed probe, three times (ms; larger: a slower machine)

        run options:
          --scenario school-day|assembly|channel|reconnect-storm|idle|two-nodes
          --smoke                   the small, seconds-long version of the scenario
          --rates 500,1000,2000     messages per second, one step each (sweep)
          --duration S              seconds per step (storm: of traffic; idle: holding the connections)
          --targets floor,server,server-2-nodes
          --hub-dll PATH            built Chat.Hub.dll (default: src/Chat.Hub/bin/Release/net10.0 of this repository)
          --db CONNSTRING           PostgreSQL test database for the server (it is seeded!)
          --redis HOST:PORT         Redis for server-2-nodes
          --pg-pid PID              postmaster pid, to sample the database's CPU
          --redis-pid PID           redis-server pid, to sample its CPU
          --pin                     pin servers and the floor to --server-core (default 0) with taskset
          --server-core N
          --db-core N               the core PostgreSQL and Redis were pinned to, for the report (default: the server's)
          --server URL              drive an already running server (with --users FILE from loadtest-seed)
          --server-pid PID          its pid, to sample its CPU and memory
          --users FILE              seed file to use instead of seeding
          --env KEY=VALUE           extra configuration for the started server (repeatable)
          --classes N --size N      override the school layout
          --drain S                 seconds to wait for late deliveries after each step (default 30)
          --warmup S                unmeasured traffic before the first step (default 5; 1 for steps of 6 s or less)
          --lead-in S               unmeasured traffic at each step's rate right before it is measured (default 10;
                                    1 for steps of 6 s or less; 0: every step starts from an idle server)
          --history N               earlier messages seeded into each class chat (default 1000; 20 for steps of 6 s or less)
          --connect-concurrency N   connection attempts in flight (default 64)
          --storm-concurrency N     reconnects in flight during the storm (default 3000: all)
          --placement alternate|by-class
                                    server-2-nodes: members alternate between the nodes (default), or each class's
                                    members share one node (routing by school/class)
          --drop-at S               storm: seconds into the traffic when the pupils drop
          --results DIR             where the report folder is made (default results)
          --no-report               print only
        """;

    public static RunOptions Parse(string[] args)
    {
        string? Value(string name)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        }

        int? Int(string name) => Value(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : null;

        var scenario = ScenarioSpec.Find(Value("--scenario") ?? throw new ArgumentException("--scenario is required"));
        if (args.Contains("--smoke"))
        {
            scenario = scenario.Smoke();
        }

        if (Int("--classes") is { } classes)
        {
            scenario = scenario with { Classes = classes };
        }

        if (Int("--size") is { } size)
        {
            scenario = scenario with { Size = size };
        }

        if (Int("--drop-at") is { } dropAt)
        {
            scenario = scenario with { DropAtSeconds = dropAt };
        }

        var options = new RunOptions
        {
            Scenario = scenario,
            ResultsDirectory = Value("--results") ?? "results",
            HubDll = Value("--hub-dll"),
            ConnectionString = Value("--db"),
            Redis = Value("--redis"),
            PostgresPid = Int("--pg-pid"),
            RedisPid = Int("--redis-pid"),
            ExternalServer = Value("--server") is { } url ? new Uri(url) : null,
            ExternalServerPid = Int("--server-pid"),
            SeedFilePath = Value("--users"),
            Pin = args.Contains("--pin"),
            ServerCore = Int("--server-core") ?? 0,
            DatabaseCore = Int("--db-core"),
            Targets = Value("--targets")?.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(ScenarioSpec.ParseTarget).ToArray(),
            Rates = Value("--rates") is { } rates ? ScenarioSpec.ParseRates(rates) : null,
            StepSeconds = Int("--duration"),
            DrainSeconds = Int("--drain") ?? 30,
            WarmUpSeconds = Int("--warmup"),
            LeadInSeconds = Int("--lead-in"),
            HistoryMessages = Int("--history"),
            ConnectConcurrency = Int("--connect-concurrency") ?? 64,
            StormConcurrency = Int("--storm-concurrency") ?? 3000,
            PlaceByClass = Value("--placement") switch
            {
                null or "alternate" => false,
                "by-class" => true,
                var other => throw new ArgumentException($"--placement: alternate or by-class, not {other}"),
            },
            WriteReport = !args.Contains("--no-report"),
        };
        for (var i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--env" && args[i + 1].Split('=', 2) is [var key, var value])
            {
                options.ServerEnvironment[key] = value;
            }
        }

        return options;
    }
}
