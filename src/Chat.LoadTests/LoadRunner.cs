using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Chat.LoadTests.Hosting;
using Chat.LoadTests.Reporting;
using Chat.LoadTests.Wire;
using HdrHistogram;

namespace Chat.LoadTests;

/// <summary>
/// Runs one scenario: seeds the school, then for each target (the floor first, then the server) starts it, connects
/// every member with a lean client, drives the scenario's traffic and checks every delivery, and finally writes the
/// report. Messages carry their step and send time in their text ("lt:&lt;step&gt;:&lt;timestamp&gt;:…"), so a
/// receiver knows the latency of each delivery without any lookup.
/// </summary>
public sealed class LoadRunner : IPushSink, IDisposable
{
    private readonly RunOptions options;
    private readonly ScenarioSpec spec;
    private readonly HttpMessageInvoker invoker;
    private readonly Stopwatch phaseClock = new();
    private readonly UsageSampler sampler = new();
    private readonly Lock timelineGate = new();

    private StepMetrics[] steps = [];
    private Recorder timelineLatency = StepMetrics.NewRecorder();
    private long timelineDeliveries;
    private long timelineSent;
    private volatile bool expectCloses;
    private int unexpectedCloses;
    private volatile string currentStep = "connect";

    private LoadRunner(RunOptions options)
    {
        this.options = options;
        spec = options.Scenario;
        invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(30),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        });
    }

    public static async Task<RunResult> RunAsync(RunOptions options, CancellationToken ct = default)
    {
        using var runner = new LoadRunner(options);
        return await runner.RunAsync(ct);
    }

    public void Dispose() => invoker.Dispose();

    private void Log(string line)
    {
        if (options.Output is { } output)
        {
            output(line);
        }
        else if (!options.Quiet)
        {
            Console.WriteLine(line);
        }
    }

    private async Task<RunResult> RunAsync(CancellationToken ct)
    {
        var started = DateTimeOffset.Now;
        var total = Stopwatch.StartNew();
        var folder = Path.GetFullPath(Path.Combine(options.ResultsDirectory,
            $"{started:yyyyMMdd-HHmmss}-{spec.Name}{(spec.IsShort ? "-smoke" : "")}"));
        Directory.CreateDirectory(folder);
        var targets = options.Targets ?? spec.Targets;
        var result = new RunResult
        {
            Scenario = spec.Name,
            Spec = spec with { Targets = targets, Rates = options.Rates ?? spec.Rates, StepSeconds = options.StepSeconds ?? spec.StepSeconds },
            Folder = folder,
            StartedAt = started,
            Machine = MachineInfo.Describe(options),
        };
        var rates = result.Spec.Rates;
        var stepSeconds = result.Spec.StepSeconds;
        Log($"== {spec.Title} ({spec.Name}); targets {string.Join(", ", targets.Select(ScenarioSpec.TargetName))}; report in {folder}");

        var signingKey = TargetHost.NewSigningKey();
        var seed = await SeedAsync(folder, signingKey);
        result.Settings["layout"] = $"{spec.Classes} classes x {spec.Size} pupils{(spec.Teachers ? " + 1 teacher each" : "")}{(spec.Schools > 1 ? $" in {spec.Schools} schools" : "")} ({seed.People} people seeded)";
        result.Settings["traffic"] = spec.Pattern switch
        {
            SendPattern.RandomClassByPupil => "each message to a random class chat, from a random pupil of it",
            SendPattern.RandomClassByTeacher => "each message to a random class chat, from its class teacher",
            SendPattern.ChannelByAdmin => "every message to the read-only school channel, from the admin",
            _ => "none (connections only)",
        };
        result.Settings["rates (msg/s)"] = rates.Length == 0 ? "-" : string.Join(", ", rates.Select(r => r.ToString(CultureInfo.InvariantCulture)));
        result.Settings["placement on two nodes"] = options.PlaceByClass ? "by class (each class on one node)" : "alternating members";
        result.Settings["seconds per step"] = stepSeconds.ToString(CultureInfo.InvariantCulture);
        result.Settings["drain after a step (max s)"] = options.DrainSeconds.ToString(CultureInfo.InvariantCulture);
        result.Settings["warm-up before the first step (s)"] = WarmUpSeconds.ToString(CultureInfo.InvariantCulture);
        result.Settings["lead-in at each step's rate before it is measured (s)"] = LeadInSeconds.ToString(CultureInfo.InvariantCulture);
        result.Settings["message text length"] = options.TextLength.ToString(CultureInfo.InvariantCulture);
        result.Settings["history before the run"] = options.SeedFilePath is null
            ? $"{HistoryMessages} messages in each class chat (server only), then VACUUM (ANALYZE)"
            : "as in the given seed file";
        result.Settings["connect concurrency"] = options.ConnectConcurrency.ToString(CultureInfo.InvariantCulture);
        if (spec.Kind == ScenarioKind.Storm)
        {
            result.Settings["storm"] = $"pupils drop {spec.DropAtSeconds} s into the traffic; reconnects in flight at most {options.StormConcurrency}";
        }

        result.Settings["pinning"] = !options.Pin ? "none"
            : options.DatabaseCore is { } db && db != options.ServerCore
                ? $"server and floor on core {options.ServerCore}; PostgreSQL and Redis on core {db}; load generator: {MachineInfo.Affinity()}"
                : $"server, PostgreSQL, Redis and floor on core {options.ServerCore}; load generator: {MachineInfo.Affinity()}";
        result.Settings["knee"] = $"highest rate with p99 <= {spec.KneeP99Ms} ms, nothing lost, deliveries keeping up (>= 90% of offered)";
        foreach (var (key, value) in TargetHost.ServerEnvironment(options, "(random per run)"))
        {
            result.ServerEnvironment[key] = key.StartsWith("ConnectionStrings", StringComparison.Ordinal) ? Redact(value) : value;
        }

        var estimate = TimeSpan.FromSeconds(rates.Length * (stepSeconds + options.DrainSeconds + 10) + stepSeconds + 900);
        foreach (var kind in targets)
        {
            var target = new TargetResult
            {
                Name = ScenarioSpec.TargetName(kind),
                Kind = kind,
                Nodes = kind == TargetKind.ServerTwoNodes ? 2 : 1,
            };
            result.Targets.Add(target);
            target.SpeedProbeBeforeMs = MachineInfo.SpeedProbeMs();
            try
            {
                await using var host = kind == TargetKind.Floor
                    ? await TargetHost.StartFloorAsync(options, folder, estimate)
                    : await TargetHost.StartServerAsync(options, folder, signingKey, kind == TargetKind.ServerTwoNodes ? 2 : 1, estimate);
                var statements = kind != TargetKind.Floor && await DatabaseStats.ResetAsync(options.ConnectionString);
                await RunTargetAsync(host, seed, target, rates, stepSeconds, ct);
                if (statements)
                {
                    try
                    {
                        (target.DatabaseStatements, target.DatabaseWal) = await DatabaseStats.ReadAsync(options.ConnectionString!, 12);
                    }
                    catch (Npgsql.NpgsqlException e)
                    {
                        Log($"   (no pg_stat_statements: {e.Message})");
                    }
                }
            }
            catch (Exception e) when (e is InvalidOperationException or TimeoutException or IOException or HttpRequestException or System.Net.WebSockets.WebSocketException)
            {
                target.Error = e.Message;
                Log($"!! {target.Name} failed: {e.Message}");
            }

            target.SpeedProbeAfterMs = MachineInfo.SpeedProbeMs();
            Log($"-- {target.Name}: speed probe {target.SpeedProbeBeforeMs:F0} ms before, {target.SpeedProbeAfterMs:F0} ms after (a fixed loop; larger: a slower machine)");
        }

        result.Seconds = total.Elapsed.TotalSeconds;
        Verdicts.Judge(result);
        if (options.WriteReport)
        {
            ReportWriter.Write(result);
            Log($"== report: {Path.Combine(folder, "report.md")}");
        }

        foreach (var line in Verdicts.Summary(result))
        {
            Log(line);
        }

        return result;
    }

    private int HistoryMessages => options.HistoryMessages ?? (spec.IsShort ? 20 : 1000);

    private int WarmUpSeconds => options.WarmUpSeconds ?? (spec.IsShort ? 1 : 5);

    private int LeadInSeconds => options.LeadInSeconds ?? (spec.IsShort ? 1 : 10);

    private static string Redact(string connection) =>
        string.Join(';', connection.Split(';').Where(p => !p.StartsWith("Password", StringComparison.OrdinalIgnoreCase)));

    private async Task<SeedFile> SeedAsync(string folder, string signingKey)
    {
        if (options.SeedFilePath is { } given)
        {
            return SeedFile.Load(given);
        }

        var hub = options.HubDll ?? throw new InvalidOperationException("--hub-dll is needed to seed (or give --users)");
        var output = Path.Combine(folder, "users.json");
        var arguments = new List<string>
        {
            hub, "loadtest-seed", "--classes", spec.Classes.ToString(CultureInfo.InvariantCulture), "--size", spec.Size.ToString(CultureInfo.InvariantCulture),
            "--token-minutes", options.TokenMinutes.ToString(CultureInfo.InvariantCulture), "--out", output, "--i-know-this-is-a-test-database",
        };
        if (spec.Teachers)
        {
            arguments.Add("--teachers");
        }

        arguments.AddRange(["--history", HistoryMessages.ToString(CultureInfo.InvariantCulture)]);

        if (spec.Schools > 1)
        {
            arguments.AddRange(["--schools", spec.Schools.ToString(CultureInfo.InvariantCulture)]);
        }

        var clock = Stopwatch.StartNew();
        Log($"-- seeding {spec.Classes} x {spec.Size}{(spec.Teachers ? " + teachers" : "")} through loadtest-seed");
        await ChildProcess.RunToEndAsync("loadtest-seed", "dotnet", arguments, TargetHost.ServerEnvironment(options, signingKey), Path.Combine(folder, "seed.log"), TimeSpan.FromMinutes(20));
        Log($"-- seeded in {clock.Elapsed.TotalSeconds:F1} s");
        return SeedFile.Load(output);
    }

    // ---------------------------------------------------------------- population

    /// <summary>The people and chats of the seed as one target sees them (the floor has no history: its chats start at 0).</summary>
    private (List<Member> Members, List<ChatInfo> Chats) BuildPopulation(SeedFile seed, int nodes, bool floor)
    {
        var members = new List<Member>();
        var chats = new List<ChatInfo>();
        ChatInfo? channel = null;
        if (spec.Pattern == SendPattern.ChannelByAdmin)
        {
            channel = new ChatInfo(0, seed.SchoolChannelId);
            chats.Add(channel);
            var admin = new Member(members.Count, seed.Admin, Role.Admin, [seed.SchoolChannelId]);
            members.Add(admin);
            channel.Senders.Add(admin);
        }

        foreach (var schoolClass in seed.Classes)
        {
            ChatInfo? classChat = null;
            if (spec.Pattern is SendPattern.RandomClassByPupil or SendPattern.RandomClassByTeacher)
            {
                classChat = new ChatInfo(chats.Count, schoolClass.ChatId, floor ? 0 : schoolClass.HistorySeq);
                chats.Add(classChat);
            }

            if (schoolClass.Teacher is { } teacher && spec.Teachers)
            {
                var t = new Member(members.Count, teacher, Role.Teacher, [schoolClass.ChatId]);
                members.Add(t);
                if (spec.Pattern == SendPattern.RandomClassByTeacher)
                {
                    classChat?.Senders.Add(t);
                }
            }

            foreach (var pupil in schoolClass.Members)
            {
                var p = new Member(members.Count, pupil, Role.Pupil, [schoolClass.ChatId, schoolClass.SchoolChannelId == Guid.Empty ? seed.SchoolChannelId : schoolClass.SchoolChannelId]);
                members.Add(p);
                if (spec.Pattern == SendPattern.RandomClassByPupil)
                {
                    classChat?.Senders.Add(p);
                }
            }
        }

        var classes = new Dictionary<Guid, int>();
        foreach (var member in members)
        {
            member.Node = options.PlaceByClass && member.Groups.Length > 0
                ? (classes.TryGetValue(member.Groups[0], out var c) ? c : classes[member.Groups[0]] = classes.Count) % nodes
                : member.Index % nodes;
            member.Tracks = chats.Where(c => member.Groups.Contains(c.Id)).Select(c => new ChatTrack(c)).ToArray();
            foreach (var track in member.Tracks)
            {
                track.Chat.Receivers.Add(member);
            }
        }

        return (members, chats);
    }

    // ---------------------------------------------------------------- one target

    private async Task RunTargetAsync(TargetHost host, SeedFile seed, TargetResult target, double[] rates, int stepSeconds, CancellationToken ct)
    {
        var (members, chats) = BuildPopulation(seed, host.Nodes, host.Kind == TargetKind.Floor);
        steps = [];
        timelineLatency = StepMetrics.NewRecorder();
        unexpectedCloses = 0;
        expectCloses = false;
        currentStep = "start";
        phaseClock.Restart();

        foreach (var group in sampler.Groups.ToList())
        {
            sampler.Unwatch(group);
        }

        var serverPids = host.Pids;
        if (serverPids.Count > 0)
        {
            sampler.Watch("server", () => serverPids);
        }

        if (host.Kind != TargetKind.Floor && options.PostgresPid is { } pg)
        {
            sampler.Watch("postgres", () => ProcStat.WithChildren(pg));
        }

        if (host.Kind == TargetKind.ServerTwoNodes && options.RedisPid is { } redis)
        {
            sampler.Watch("redis", () => [redis]);
        }

        sampler.Watch("loadgen", () => [Environment.ProcessId]);
        sampler.Sample();
        using var monitorStop = new CancellationTokenSource();
        var monitor = MonitorAsync(target, monitorStop.Token);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(spec.IsShort ? 0.5 : 3), ct);
            target.RssBeforeMb = serverPids.Sum(p => ProcStat.ReadMemory(p).Rss) / 1048576.0;
            Log($"-- {target.Name}: {host.Nodes} node(s) on port(s) {string.Join(", ", host.Ports)}; server RSS {target.RssBeforeMb:F0} MiB; connecting {members.Count} clients");
            currentStep = "connect";
            var connectClock = Stopwatch.StartNew();
            var failures = await ConnectAllAsync(members, host, options.ConnectConcurrency, ct);
            target.ConnectSeconds = connectClock.Elapsed.TotalSeconds;
            target.Connections = members.Count - failures;
            target.ConnectFailures = failures;
            Log($"-- {target.Name}: {target.Connections} connected in {target.ConnectSeconds:F1} s ({failures} failed)");
            foreach (var chat in chats)
            {
                chat.Receivers.RemoveAll(m => m.Client is null);
                chat.Senders.RemoveAll(m => m.Client is null);
            }

            switch (spec.Kind)
            {
                case ScenarioKind.Steady:
                    // A short unmeasured warm-up first: JIT, pools and caches of both sides are warm when the first step starts.
                    // Then each step i is led in by step n + i (unmeasured, same rate); the warm-up stays last (foreign pushes).
                    var n = rates.Length;
                    var warmUp = new StepMetrics(2 * n, "warm-up", Math.Min(rates.FirstOrDefault(50), 200));
                    steps =
                    [
                        .. rates.Select((r, i) => new StepMetrics(i, $"{r.ToString(CultureInfo.InvariantCulture)}/s", r)),
                        .. rates.Select((r, i) => new StepMetrics(n + i, $"{r.ToString(CultureInfo.InvariantCulture)}/s lead-in", r)),
                        warmUp,
                    ];
                    currentStep = "warm-up";
                    await SendLoopAsync(warmUp, chats, WarmUpSeconds, ct);
                    await DrainAsync(warmUp, ct);
                    for (var i = 0; i < n; i++)
                    {
                        var step = steps[i];
                        var stepResult = await RunStepAsync(step, LeadInSeconds > 0 ? steps[n + i] : null, chats, stepSeconds, target, ct);
                        target.Steps.Add(stepResult);
                        if (stepResult.Overloaded)
                        {
                            Log($"-- {target.Name}: overloaded at {step.Label}; higher rates skipped");
                            break;
                        }
                    }

                    break;
                case ScenarioKind.Storm:
                    await RunStormAsync(members, chats, host, rates.FirstOrDefault(100), stepSeconds, target, ct);
                    break;
                case ScenarioKind.Idle:
                    await RunIdleAsync(members, serverPids, stepSeconds, target, ct);
                    break;
            }
        }
        finally
        {
            currentStep = "disconnect";
            expectCloses = true;
            target.UnexpectedCloses = unexpectedCloses;
            await Parallel.ForEachAsync(members.Where(m => m.Client is not null), new ParallelOptions { MaxDegreeOfParallelism = 256 },
                async (m, _) => await m.Client!.DisposeAsync());
            await monitorStop.CancelAsync();
            await monitor;
        }
    }

    private async Task<int> ConnectAllAsync(IReadOnlyList<Member> members, TargetHost host, int concurrency, CancellationToken ct)
    {
        var failures = 0;
        var done = 0;
        var giveUpAfter = Math.Max(50, members.Count / 100);
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(ct);
        await Parallel.ForEachAsync(members, new ParallelOptions { MaxDegreeOfParallelism = concurrency }, async (member, _) =>
        {
            member.Client = giveUp.IsCancellationRequested ? null : await ConnectWithRetryAsync(member, host, TimeSpan.FromSeconds(60), giveUp.Token);
            if (member.Client is null && Interlocked.Increment(ref failures) == giveUpAfter)
            {
                Log($"   {giveUpAfter} connections failed: giving up on the rest");
                await giveUp.CancelAsync(); // the target is down or refusing: do not retry thousands of connections one by one
            }

            var n = Interlocked.Increment(ref done);
            if (n % 5000 == 0)
            {
                Log($"   {n}/{members.Count} connected");
            }
        });
        return failures;
    }

    private async Task<LeanHubClient?> ConnectWithRetryAsync(Member member, TargetHost host, TimeSpan within, CancellationToken ct)
    {
        var until = Stopwatch.GetTimestamp() + (long)(within.TotalSeconds * Stopwatch.Frequency);
        for (var attempt = 1; attempt <= 20; attempt++)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(30));
                return await LeanHubClient.ConnectAsync(host.HubUri(member), invoker, this, member, timeout.Token);
            }
            catch (Exception e) when (e is System.Net.WebSockets.WebSocketException or OperationCanceledException or InvalidOperationException or HttpRequestException or IOException)
            {
                if (attempt == 1 || attempt % 5 == 0)
                {
                    Log($"   connect of member {member.Index} failed (attempt {attempt}): {e.Message}");
                }

                if (ct.IsCancellationRequested || Stopwatch.GetTimestamp() > until)
                {
                    return null;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 100 * attempt)), ct);
            }
        }

        return null;
    }

    // ---------------------------------------------------------------- steady traffic

    /// <summary>
    /// One measured step: <paramref name="leadIn"/> (if any) sends at the same rate for <see cref="LeadInSeconds"/> first
    /// and the measured window follows without a pause, so the step times the rate, not the jump to it. Both are drained
    /// and checked for lost, duplicated and out-of-order pushes; only the window is timed.
    /// </summary>
    private async Task<StepResult> RunStepAsync(StepMetrics step, StepMetrics? leadIn, IReadOnlyList<ChatInfo> chats, int seconds, TargetResult target, CancellationToken ct)
    {
        if (leadIn is not null)
        {
            currentStep = leadIn.Label;
            Log($"-- {target.Name}: step {step.Label}: {LeadInSeconds} s of unmeasured lead-in, then {seconds} s measured");
            await SendLoopAsync(leadIn, chats, LeadInSeconds, ct);
        }
        else
        {
            Log($"-- {target.Name}: step {step.Label} for {seconds} s");
        }

        currentStep = step.Label;
        step.StartedAt = phaseClock.Elapsed.TotalSeconds;
        step.Open = true;
        await SendLoopAsync(step, chats, seconds, ct);
        step.Open = false;
        step.EndedAt = phaseClock.Elapsed.TotalSeconds;
        currentStep = step.Label + " drain";
        if (leadIn is not null)
        {
            await DrainAsync(leadIn, ct);
        }

        await DrainAsync(step, ct);
        var stepResult = Summarize(step, target, Lost(step), leadIn, leadIn is null ? 0 : Lost(leadIn));
        Log($"   {target.Name} {step.Label}: sent {stepResult.Sent} acked {stepResult.Acked} failed {stepResult.Failed} | "
            + $"{stepResult.DeliveredPerSecond:F0} deliveries/s (offered {stepResult.OfferedDeliveriesPerSecond:F0}) | "
            + $"p50 {stepResult.Latency.P50:F1} p99 {stepResult.Latency.P99:F1} max {stepResult.Latency.Max:F0} ms | "
            + $"lost {stepResult.Lost} dup {stepResult.Duplicates} ooo {stepResult.OutOfOrder}"
            + (stepResult.Errors.Count > 0 ? " | errors: " + string.Join("; ", stepResult.Errors.Select(e => $"{e.Key} x{e.Value}")) : ""));
        return stepResult;
    }

    /// <summary>Receivers that never got one of the step's acknowledged messages (each receiver of its chat counts).</summary>
    private static long Lost(StepMetrics step)
    {
        long lost = 0;
        foreach (var (chat, seq) in step.Acks)
        {
            foreach (var receiver in chat.Receivers)
            {
                var track = receiver.Track(chat.Id)!;
                lock (track)
                {
                    if (!track.Seen.Contains(seq))
                    {
                        lost++;
                    }
                }
            }
        }

        return lost;
    }

    /// <summary>
    /// The step's result: timings and rates of its measured window only; correctness (lost, duplicated, out of order,
    /// failed and unanswered sends) of the window and its lead-in together.
    /// </summary>
    private StepResult Summarize(StepMetrics step, TargetResult target, long lost, StepMetrics? leadIn = null, long leadInLost = 0)
    {
        lost += leadInLost;
        var leadInUnanswered = leadIn is null ? 0 : leadIn.Sent - leadIn.Acked - leadIn.Failed;
        var seconds = Math.Max(0.001, step.EndedAt - step.StartedAt);
        var latency = step.Latency.GetIntervalHistogram();
        var receivers = step.Acked == 0 ? 0 : (double)Interlocked.Read(ref step.ExpectedDeliveries) / step.Acked;
        var window = target.Timeline.Where(p => p.Seconds > step.StartedAt + 0.5 && p.Seconds <= step.EndedAt + 0.5).ToList();
        var cpu = new Dictionary<string, Usage>(StringComparer.Ordinal);
        var rss = new Dictionary<string, Usage>(StringComparer.Ordinal);
        foreach (var key in window.SelectMany(p => p.Cpu.Keys).Distinct())
        {
            var values = window.Select(p => p.Cpu.GetValueOrDefault(key)).ToList();
            cpu[key] = new Usage(values.Average(), values.Max());
            var memory = window.Select(p => p.Rss.GetValueOrDefault(key) / 1048576.0).ToList();
            rss[key] = new Usage(memory.Average(), memory.Max());
        }

        var cores = window.Count == 0 || window[0].CoreBusy.Length == 0
            ? []
            : Enumerable.Range(0, window[0].CoreBusy.Length).Select(i => window.Average(p => p.CoreBusy.ElementAtOrDefault(i))).ToArray();
        var delivered = step.DeliveriesInWindow / seconds;
        var offered = step.Acked * receivers / seconds;
        var p99 = latency.TotalCount == 0 ? 0 : latency.GetValueAtPercentile(99) / 1000.0;
        return new StepResult
        {
            Label = step.Label,
            Rate = step.Rate,
            Seconds = seconds,
            Sent = step.Sent,
            Acked = step.Acked,
            Failed = step.Failed + (leadIn?.Failed ?? 0),
            Skipped = step.Skipped,
            LeadInSeconds = leadIn is null ? 0 : LeadInSeconds,
            LeadInSent = leadIn?.Sent ?? 0,
            LeadInAcked = leadIn?.Acked ?? 0,
            Deliveries = step.Deliveries,
            DeliveredPerSecond = delivered,
            OfferedDeliveriesPerSecond = offered,
            Lost = lost,
            Duplicates = step.Duplicates + (leadIn?.Duplicates ?? 0),
            OutOfOrder = step.OutOfOrder + (leadIn?.OutOfOrder ?? 0),
            Overlaps = step.Overlaps,
            Recovered = step.Recovered,
            Foreign = step.Foreign,
            Pushes = step.Pushes,
            Latency = Percentiles.From(latency),
            AckLatency = Percentiles.From(step.AckLatency.GetIntervalHistogram()),
            SchedulerLag = Percentiles.From(step.SchedulerLag.GetIntervalHistogram()),
            CatchUpLatency = Percentiles.From(step.CatchUpLatency.GetIntervalHistogram()),
            Errors = new Dictionary<string, int>(step.Errors, StringComparer.Ordinal),
            Cpu = cpu,
            RssMb = rss,
            CoreBusy = cores,
            LatencyHistogram = latency,
            DistributionMs = ReportWriter.Distribution(latency),
            Overloaded = lost > 0 || p99 > 8 * spec.KneeP99Ms || step.Sent - step.Acked - step.Failed + leadInUnanswered > 0 || step.Failed > step.Sent / 100
                || (step.Acked > 0 && delivered < 0.5 * offered),
        };
    }

    /// <summary>The open-loop sender: message n goes out at start + n/rate, whether or not earlier ones were answered.</summary>
    private async Task SendLoopAsync(StepMetrics step, IReadOnlyList<ChatInfo> chats, double seconds, CancellationToken ct)
    {
        var targets = chats.Where(c => c.Senders.Count > 0).ToArray();
        if (targets.Length == 0 || step.Rate <= 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(seconds), ct);
            return;
        }

        var random = new Random(1000 + step.Index);
        var ticksPerMessage = Stopwatch.Frequency / step.Rate;
        var total = (long)Math.Round(step.Rate * seconds);
        var start = Stopwatch.GetTimestamp();
        long n = 0;
        while (n < total && !ct.IsCancellationRequested)
        {
            var now = Stopwatch.GetTimestamp();
            var due = Math.Min(total, (long)((now - start) / ticksPerMessage) + 1);
            while (n < due)
            {
                var intended = start + (long)(n * ticksPerMessage);
                step.SchedulerLag.RecordValue(StepMetrics.Micros(intended, Math.Max(intended, now)));
                SendOne(step, targets[spec.RoundRobin ? (int)(n % targets.Length) : random.Next(targets.Length)], intended, random);
                n++;
            }

            await Task.Delay(1, CancellationToken.None);
        }
    }

    private void SendOne(StepMetrics step, ChatInfo chat, long intended, Random random)
    {
        Member? sender = null;
        for (var attempt = 0; attempt < 4 && sender is null; attempt++)
        {
            var candidate = chat.Senders[random.Next(chat.Senders.Count)];
            if (candidate.Client is { IsOpen: true })
            {
                sender = candidate;
            }
        }

        if (sender?.Client is not { } client)
        {
            Interlocked.Increment(ref step.Skipped);
            return;
        }

        var text = MessageText(step.Index, intended);
        var clientId = Guid.NewGuid();
        Interlocked.Increment(ref step.Sent);
        Interlocked.Increment(ref timelineSent);
        client.Invoke("SendMessage", w =>
        {
            w.WriteStartObject();
            w.WriteString("chatId", chat.Id);
            w.WriteString("clientId", clientId);
            w.WriteString("text", text);
            w.WriteEndObject();
        }, completion => OnAck(step, chat, intended, completion));
    }

    private string MessageText(int step, long intended)
    {
        var head = string.Create(CultureInfo.InvariantCulture, $"lt:{step}:{intended}:");
        return head.Length >= options.TextLength ? head : head + new string('x', options.TextLength - head.Length);
    }

    private void OnAck(StepMetrics step, ChatInfo chat, long intended, Completion completion)
    {
        if (completion.Ok && completion.ResultSeq > 0)
        {
            step.AckLatency.RecordValue(StepMetrics.Micros(intended, Stopwatch.GetTimestamp()));
            step.Acks.Enqueue((chat, completion.ResultSeq));
            Interlocked.Add(ref step.ExpectedDeliveries, chat.Receivers.Count);
            long last;
            while ((last = Interlocked.Read(ref chat.LastAckedSeq)) < completion.ResultSeq
                   && Interlocked.CompareExchange(ref chat.LastAckedSeq, completion.ResultSeq, last) != last)
            {
            }

            Interlocked.Increment(ref step.Acked);
        }
        else
        {
            var error = completion.Error ?? "no seq in the result";
            var key = error.Length > 80 ? error[..80] : error;
            step.Errors.AddOrUpdate(key, 1, (_, n) => n + 1);
            Interlocked.Increment(ref step.Failed);
        }
    }

    private async Task DrainAsync(StepMetrics step, CancellationToken ct)
    {
        var until = Stopwatch.GetTimestamp() + options.DrainSeconds * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < until && !ct.IsCancellationRequested)
        {
            var answered = Interlocked.Read(ref step.Acked) + Interlocked.Read(ref step.Failed) >= Interlocked.Read(ref step.Sent);
            if (answered && Interlocked.Read(ref step.Deliveries) >= Interlocked.Read(ref step.ExpectedDeliveries))
            {
                return;
            }

            await Task.Delay(50, CancellationToken.None);
        }
    }

    // ---------------------------------------------------------------- pushes

    public void OnMessage(LeanHubClient client, Guid chatId, long seq, ReadOnlySpan<byte> text, bool firstOfPush)
    {
        var now = Stopwatch.GetTimestamp();
        if (client.State is not Member member || member.Track(chatId) is not { } track || !TryParseText(text, out var stepIndex, out var sentAt)
            || (uint)stepIndex >= (uint)steps.Length)
        {
            if (steps.Length > 0)
            {
                Interlocked.Increment(ref steps[^1].Foreign);
            }

            return;
        }

        var step = steps[stepIndex];
        if (firstOfPush)
        {
            Interlocked.Increment(ref step.Pushes); // counted before the filters below, so a push is never missed
        }

        lock (track)
        {
            if (!track.Pushed.Add(seq))
            {
                Interlocked.Increment(ref step.Duplicates);
                return;
            }

            if (!track.Seen.Add(seq))
            {
                Interlocked.Increment(ref step.Overlaps); // had it from catch-up already
                return;
            }

            if (seq < track.MaxPushed)
            {
                Interlocked.Increment(ref step.OutOfOrder);
            }
            else
            {
                track.MaxPushed = seq;
            }
        }

        var micros = StepMetrics.Micros(sentAt, now);
        step.Latency.RecordValue(micros);
        timelineLatency.RecordValue(micros);
        Interlocked.Increment(ref timelineDeliveries);
        Interlocked.Increment(ref step.Deliveries);
        if (step.Open)
        {
            Interlocked.Increment(ref step.DeliveriesInWindow);
        }
    }

    public void OnClosed(LeanHubClient client, string reason)
    {
        if (!expectCloses && client.State is Member m && ReferenceEquals(m.Client, client))
        {
            Interlocked.Increment(ref unexpectedCloses);
            if (unexpectedCloses <= 5)
            {
                Log($"   connection of member {m.Index} closed: {reason}");
            }
        }
    }

    private static bool TryParseText(ReadOnlySpan<byte> text, out int step, out long sentAt)
    {
        step = -1;
        sentAt = 0;
        if (!text.StartsWith("lt:"u8))
        {
            return false;
        }

        var rest = text[3..];
        if (!Utf8Parser.TryParse(rest, out step, out var used) || used + 1 >= rest.Length)
        {
            return false;
        }

        return Utf8Parser.TryParse(rest[(used + 1)..], out sentAt, out _);
    }

    // ---------------------------------------------------------------- reconnect storm

    private async Task RunStormAsync(List<Member> members, List<ChatInfo> chats, TargetHost host, double rate, int seconds, TargetResult target, CancellationToken ct)
    {
        var step = new StepMetrics(0, "storm", rate);
        steps = [step];
        currentStep = "before the drop";
        step.StartedAt = phaseClock.Elapsed.TotalSeconds;
        step.Open = true;
        var sending = SendLoopAsync(step, chats, seconds, ct);
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(spec.DropAtSeconds, seconds / 2.0)), ct);

        var pupils = members.Where(m => m.Role == Role.Pupil && m.Client is not null).ToList();
        Log($"-- {target.Name}: dropping {pupils.Count} connections at once");
        currentStep = "storm";
        var dropped = Stopwatch.GetTimestamp();
        double Since() => (Stopwatch.GetTimestamp() - dropped) / (double)Stopwatch.Frequency;
        expectCloses = true;
        var old = pupils.Select(p => p.Client!).ToList();
        foreach (var client in old)
        {
            client.Abort();
        }

        expectCloses = false;
        var attemptsFailed = 0;
        var catchUpErrors = 0;
        await Parallel.ForEachAsync(pupils, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.StormConcurrency), CancellationToken = ct }, async (member, token) =>
        {
            var client = await ConnectWithRetryAsync(member, host, TimeSpan.FromSeconds(60), token);
            if (client is null)
            {
                Interlocked.Increment(ref attemptsFailed);
                member.Client = null;
                return;
            }

            member.Client = client;
            member.ReconnectedAfter = Since();
            if (await CatchUpAsync(member, client, step))
            {
                member.CaughtUpAfter = Since();
            }
            else
            {
                Interlocked.Increment(ref catchUpErrors);
            }
        });
        var back = pupils.Count(p => !double.IsNaN(p.ReconnectedAfter));
        var caughtUp = pupils.Count(p => !double.IsNaN(p.CaughtUpAfter));
        Log($"-- {target.Name}: {back}/{pupils.Count} back within {MaxOf(pupils, p => p.ReconnectedAfter):F2} s, "
            + $"{caughtUp} caught up within {MaxOf(pupils, p => p.CaughtUpAfter):F2} s ({catchUpErrors} catch-up errors)");
        foreach (var client in old)
        {
            await client.DisposeAsync();
        }

        currentStep = "after the storm";
        await sending;
        step.Open = false;
        step.EndedAt = phaseClock.Elapsed.TotalSeconds;
        currentStep = "drain";

        // Done when every receiver holds every seq of its chat up to the last acknowledged one.
        var until = Stopwatch.GetTimestamp() + options.DrainSeconds * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < until)
        {
            var answered = Interlocked.Read(ref step.Acked) + Interlocked.Read(ref step.Failed) >= Interlocked.Read(ref step.Sent);
            if (answered && Missing(chats) == (0, 0))
            {
                break;
            }

            await Task.Delay(100, CancellationToken.None);
        }

        var (missing, incomplete) = Missing(chats);
        var receivers = chats.SelectMany(c => c.Receivers).Distinct().Count();
        var stepResult = Summarize(step, target, missing);
        target.Steps.Add(stepResult);
        var reconnect = pupils.Where(p => !double.IsNaN(p.ReconnectedAfter)).Select(p => p.ReconnectedAfter).Order().ToList();
        var catchUp = pupils.Where(p => !double.IsNaN(p.CaughtUpAfter)).Select(p => p.CaughtUpAfter).Order().ToList();
        target.Storm = new StormResult
        {
            Clients = pupils.Count,
            Reconnected = reconnect.Count,
            CaughtUp = catchUp.Count,
            ReconnectP50 = Quantile(reconnect, 0.5),
            ReconnectP99 = Quantile(reconnect, 0.99),
            AllBackAfter = reconnect.Count == pupils.Count ? reconnect.LastOrDefault() : double.PositiveInfinity,
            CaughtUpP50 = Quantile(catchUp, 0.5),
            CaughtUpP99 = Quantile(catchUp, 0.99),
            AllCaughtUpAfter = catchUp.Count == pupils.Count ? catchUp.LastOrDefault() : double.PositiveInfinity,
            MissingAtEnd = missing,
            ClientsComplete = receivers - incomplete,
            PushDuplicates = step.Duplicates,
            ConnectAttemptsFailed = attemptsFailed,
        };
        Log($"   {target.Name} storm: sent {stepResult.Sent} acked {stepResult.Acked}; recovered by catch-up {stepResult.Recovered}, overlaps {stepResult.Overlaps}; "
            + $"missing at end {missing} in {incomplete} clients; push duplicates {step.Duplicates}; out of order {step.OutOfOrder}");
    }

    private static double MaxOf(List<Member> members, Func<Member, double> value)
    {
        var values = members.Select(value).Where(v => !double.IsNaN(v)).ToList();
        return values.Count == 0 ? double.NaN : values.Max();
    }

    private static double Quantile(List<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    private static (long Missing, int Incomplete) Missing(List<ChatInfo> chats)
    {
        long missing = 0;
        var incomplete = new HashSet<Member>();
        foreach (var chat in chats)
        {
            var last = Interlocked.Read(ref chat.LastAckedSeq);
            foreach (var receiver in chat.Receivers)
            {
                var track = receiver.Track(chat.Id)!;
                long m;
                lock (track)
                {
                    m = track.Seen.MissingUpTo(last);
                }

                if (m > 0)
                {
                    missing += m;
                    incomplete.Add(receiver);
                }
            }
        }

        return (missing, incomplete.Count);
    }

    /// <summary>After a reconnect: everything after the last seq held without a gap, page by page (GetUpdates).</summary>
    private async Task<bool> CatchUpAsync(Member member, LeanHubClient client, StepMetrics step)
    {
        foreach (var track in member.Tracks)
        {
            long after;
            lock (track)
            {
                after = track.Seen.ContiguousHigh();
            }

            for (var page = 0; page < 10_000; page++)
            {
                var from = after;
                var completion = await client.InvokeAsync("GetUpdates", w =>
                {
                    w.WriteStringValue(track.Chat.Id);
                    w.WriteNumberValue(from);
                    w.WriteNumberValue(200);
                }, wantResult: true).WaitAsync(TimeSpan.FromSeconds(60));
                if (!completion.Ok || completion.Result is not { } result)
                {
                    Log($"   catch-up of member {member.Index} failed: {completion.Error}");
                    return false;
                }

                var now = Stopwatch.GetTimestamp();
                foreach (var e in result.GetProperty("events").EnumerateArray())
                {
                    var seq = e.GetProperty("seq").GetInt64();
                    after = Math.Max(after, seq);
                    var text = e.GetProperty("message").GetProperty("text").GetString() ?? "";
                    lock (track)
                    {
                        if (!track.Seen.Add(seq))
                        {
                            Interlocked.Increment(ref step.Overlaps);
                            continue;
                        }
                    }

                    Interlocked.Increment(ref step.Recovered);
                    if (TryParseText(Encoding.UTF8.GetBytes(text), out _, out var sentAt))
                    {
                        step.CatchUpLatency.RecordValue(StepMetrics.Micros(sentAt, now));
                    }
                }

                if (!result.GetProperty("hasMore").GetBoolean())
                {
                    break;
                }
            }
        }

        return true;
    }

    // ---------------------------------------------------------------- idle

    private async Task RunIdleAsync(List<Member> members, IReadOnlyList<int> serverPids, int seconds, TargetResult target, CancellationToken ct)
    {
        currentStep = "idle";
        var settle = spec.IsShort ? 1 : 10;
        await Task.Delay(TimeSpan.FromSeconds(settle), ct);
        var samples = new List<double>();
        var until = Stopwatch.GetTimestamp() + seconds * Stopwatch.Frequency;
        while (Stopwatch.GetTimestamp() < until)
        {
            samples.Add(serverPids.Sum(p => ProcStat.ReadMemory(p).Rss) / 1048576.0);
            await Task.Delay(1000, ct);
        }

        var open = members.Count(m => m.Client is { IsOpen: true });
        var after = samples.Count == 0 ? double.NaN : samples.TakeLast(Math.Max(1, samples.Count / 2)).Average();
        var peak = serverPids.Sum(p => ProcStat.ReadMemory(p).Peak) / 1048576.0;
        target.Idle = new IdleResult
        {
            Connections = members.Count,
            Connected = target.Connections,
            OpenAtEnd = open,
            ConnectSeconds = target.ConnectSeconds,
            RssBeforeMb = target.RssBeforeMb,
            RssAfterMb = after,
            RssPeakMb = peak,
            KilobytesPerConnection = target.Connections == 0 ? double.NaN : (after - target.RssBeforeMb) * 1024 / target.Connections,
            LoadgenRssMb = ProcStat.ReadMemory(Environment.ProcessId).Rss / 1048576.0,
        };
        Log($"   {target.Name} idle: {open}/{members.Count} open after {seconds} s; server RSS {target.RssBeforeMb:F0} -> {after:F0} MiB "
            + $"(peak {peak:F0}); {target.Idle.KilobytesPerConnection:F1} KiB per connection");
    }

    // ---------------------------------------------------------------- monitor

    private async Task MonitorAsync(TargetResult target, CancellationToken ct)
    {
        var last = Stopwatch.GetTimestamp();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(1000, ct);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            var now = Stopwatch.GetTimestamp();
            var dt = Math.Max(0.001, (now - last) / (double)Stopwatch.Frequency);
            last = now;
            var usage = sampler.Sample();
            var interval = timelineLatency.GetIntervalHistogram();
            var deliveries = Interlocked.Exchange(ref timelineDeliveries, 0);
            var sent = Interlocked.Exchange(ref timelineSent, 0);
            var p50 = interval.TotalCount == 0 ? double.NaN : interval.GetValueAtPercentile(50) / 1000.0;
            var p99 = interval.TotalCount == 0 ? double.NaN : interval.GetValueAtPercentile(99) / 1000.0;
            var point = new TimelinePoint(phaseClock.Elapsed.TotalSeconds, currentStep, sent / dt, deliveries / dt, p50, p99, usage.CpuPercent, usage.RssBytes, usage.CoreBusyPercent, usage.OpenFiles);
            lock (timelineGate)
            {
                target.Timeline.Add(point);
            }

            var cpu = string.Join(' ', usage.CpuPercent.Select(c => $"{c.Key} {c.Value:F0}%"));
            var rss = usage.RssBytes.TryGetValue("server", out var r) ? $" srv {r / 1048576.0:F0} MiB" : "";
            Log(string.Create(CultureInfo.InvariantCulture,
                $"   [{target.Name} {currentStep} t={point.Seconds:F0}s] sent {point.SentPerSecond:F0}/s deliveries {point.DeliveriesPerSecond:F0}/s p50 {p50:F1} p99 {p99:F1} ms | cpu {cpu}{rss}"));
        }
    }
}
