using System.Globalization;

namespace Chat.LoadTests.Reporting;

/// <summary>The issue's targets, checked against a run, and the ratios to the floor.</summary>
public static class Verdicts
{
    public static void Judge(RunResult run)
    {
        JudgeDrift(run);
        var floor = run.Target(TargetKind.Floor);
        var server = run.Target(TargetKind.Server);
        var two = run.Target(TargetKind.ServerTwoNodes);
        foreach (var t in run.Targets)
        {
            var correct = t.Error is null && t.Lost == 0 && t.Duplicates == 0 && t.OutOfOrder == 0;
            run.Verdicts.Add(Line(correct, $"{t.Name}: correctness", t.Error is not null
                ? "failed: " + t.Error
                : $"lost {t.Lost}, duplicated {t.Duplicates}, out of order {t.OutOfOrder}, failed sends {t.Steps.Sum(s => s.Failed)}, "
                  + $"unacknowledged {t.Steps.Sum(s => s.Unacknowledged)}, connect failures {t.ConnectFailures}, unexpected disconnects {t.UnexpectedCloses}"));
        }

        if (floor is { Steps.Count: > 0 } && run.Spec.Kind == ScenarioKind.Steady)
        {
            foreach (var t in run.Targets.Where(t => t.Kind != TargetKind.Floor && t.Steps.Count > 0))
            {
                run.Verdicts.Add($"info: {t.Name}: most deliveries/s in any step {Saturation(t):F0} vs floor {Saturation(floor):F0} = {Ratio(Saturation(t), Saturation(floor))}");
            }
        }

        switch (run.Scenario)
        {
            case "school-day":
                AtRate(run, server, 2000, 150);
                KneeRatio(run, server, floor, 0.8, "server knee vs floor knee");
                break;
            case "assembly":
                AtRate(run, server, 200, 150);
                KneeRatio(run, server, floor, null, "server knee vs floor knee");
                break;
            case "channel":
                var serverBest = BestDeliveries(server, 300);
                var floorBest = BestDeliveries(floor, 300);
                run.Verdicts.Add(serverBest is null || floorBest is null
                    ? "n/a: channel deliveries/s at p99 <= 300 ms (a target has no step within the limit)"
                    : Line(serverBest.DeliveredPerSecond >= floorBest.DeliveredPerSecond, "channel: best deliveries/s at p99 <= 300 ms",
                        $"server {serverBest.DeliveredPerSecond:F0}/s ({serverBest.Label}, p99 {serverBest.Latency.P99:F0} ms) vs floor {floorBest.DeliveredPerSecond:F0}/s "
                        + $"({floorBest.Label}) = {Ratio(serverBest.DeliveredPerSecond, floorBest.DeliveredPerSecond)} (target >= 1.0x)"));
                break;
            case "reconnect-storm":
                foreach (var t in new[] { floor, server })
                {
                    if (t?.Storm is { } s)
                    {
                        run.Verdicts.Add(Line(s.AllCaughtUpAfter <= 5 && s.MissingAtEnd == 0 && s.PushDuplicates == 0, $"{t.Name}: storm",
                            $"{s.Reconnected}/{s.Clients} back, all within {Seconds(s.AllBackAfter)}; all caught up within {Seconds(s.AllCaughtUpAfter)} "
                            + $"(p50 {s.CaughtUpP50:F2} s, p99 {s.CaughtUpP99:F2} s); missing {s.MissingAtEnd}, duplicated {s.PushDuplicates} (target: <= 5 s, none)"));
                    }
                }

                break;
            case "idle":
                foreach (var t in new[] { floor, server })
                {
                    if (t?.Idle is { } i)
                    {
                        run.Verdicts.Add(Line(i.OpenAtEnd == i.Connections && i.RssAfterMb <= 1024, $"{t.Name}: idle",
                            $"{i.OpenAtEnd}/{i.Connections} open; RSS {i.RssBeforeMb:F0} -> {i.RssAfterMb:F0} MiB (peak {i.RssPeakMb:F0}); "
                            + $"{i.KilobytesPerConnection:F1} KiB per connection (target: all open in <= 1024 MiB)"));
                    }
                }

                if (server?.Idle is { } extrapolate && double.IsFinite(extrapolate.KilobytesPerConnection))
                {
                    var at20k = extrapolate.RssBeforeMb + extrapolate.KilobytesPerConnection * 20_000 / 1024;
                    run.Verdicts.Add(Line(at20k <= 1024, "server: 20 000 connections, extrapolated", $"{at20k:F0} MiB (target <= 1024 MiB)"));
                }

                if (server?.Idle is { } si && floor?.Idle is { } fi)
                {
                    run.Verdicts.Add($"info: memory per connection, server vs floor: {Ratio(si.KilobytesPerConnection, fi.KilobytesPerConnection)}");
                }

                break;
            case "two-nodes":
                KneeRatio(run, server, floor, null, "one node knee vs floor knee");
                KneeRatio(run, two, server, 0.5, "two nodes knee vs one node knee");
                KneeRatio(run, two, floor, null, "two nodes knee vs floor knee");
                if (two is { Steps.Count: > 0 } && server is { Steps.Count: > 0 })
                {
                    var twoBest = two.Steps.Max(s => s.DeliveredPerSecond);
                    var oneBest = server.Steps.Max(s => s.DeliveredPerSecond);
                    run.Verdicts.Add(Line(twoBest >= 0.5 * oneBest, "two nodes vs one node, most deliveries/s delivered in any step (saturation throughput)",
                        $"{twoBest:F0}/s vs {oneBest:F0}/s = {Ratio(twoBest, oneBest)} (target >= 0.5x)"));
                }

                break;
        }
    }

    /// <summary>A step at least this long is a soak: its server is also judged on drift (test-plan item 35).</summary>
    public const double SoakSeconds = 600;

    /// <summary>
    /// Soak (a step of at least <see cref="SoakSeconds"/>): compares the server's resident memory, open file descriptors
    /// and p99 latency early in the step (after a warm-up of a tenth of it) with its last tenth. Constant memory and no
    /// growth in open handles is what an hour of mixed traffic must show; a leak shows as steady growth.
    /// </summary>
    public static void JudgeDrift(RunResult run)
    {
        foreach (var t in run.Targets.Where(t => t.Kind != TargetKind.Floor))
        {
            foreach (var step in t.Steps.Where(s => s.Seconds >= SoakSeconds))
            {
                var points = t.Timeline.Where(p => p.Step == step.Label).OrderBy(p => p.Seconds).ToList();
                if (points.Count < 20)
                {
                    run.Verdicts.Add($"n/a: {t.Name} {step.Label}: drift: too few samples ({points.Count})");
                    continue;
                }

                var tenth = points.Count / 10;
                var early = points.Skip(tenth).Take(tenth).ToList();
                var late = points.TakeLast(tenth).ToList();
                double Memory(TimelinePoint p) => p.Rss.GetValueOrDefault("server") / 1048576.0;
                double Files(TimelinePoint p) => p.OpenFiles?.GetValueOrDefault("server") ?? 0;
                var (memoryBefore, memoryAfter) = (Median(early, Memory), Median(late, Memory));
                var (filesBefore, filesAfter) = (Median(early, Files), Median(late, Files));
                var (p99Before, p99After) = (Median(early, p => p.P99), Median(late, p => p.P99));
                var memoryOk = memoryAfter - memoryBefore <= Math.Max(64, 0.25 * memoryBefore);
                var filesOk = filesAfter - filesBefore <= 50;
                var latencyOk = double.IsNaN(p99Before) || p99After <= 2 * p99Before + 10;
                run.Verdicts.Add(Line(memoryOk && filesOk && latencyOk, $"{t.Name} {step.Label}: soak drift over {step.Seconds:F0} s",
                    $"server RSS {memoryBefore:F0} -> {memoryAfter:F0} MiB (target: growth <= max(64 MiB, 25%)); "
                    + $"open files {filesBefore:F0} -> {filesAfter:F0} (target: growth <= 50); "
                    + $"p99 {p99Before:F1} -> {p99After:F1} ms (target: <= 2x + 10 ms); medians of the second and the last tenth of the step"));
            }
        }
    }

    private static double Median(List<TimelinePoint> points, Func<TimelinePoint, double> value)
    {
        var values = points.Select(value).Where(v => !double.IsNaN(v)).Order().ToList();
        return values.Count == 0 ? double.NaN : values[values.Count / 2];
    }

    /// <summary>The most deliveries per second a target delivered in any step: its throughput when the p99 knee is blurred by noise.</summary>
    public static double Saturation(TargetResult? t) => t is { Steps.Count: > 0 } ? t.Steps.Max(s => s.DeliveredPerSecond) : double.NaN;

    public static IEnumerable<string> Summary(RunResult run)
    {
        yield return $"== {run.Spec.Title}: results";
        foreach (var t in run.Targets)
        {
            foreach (var s in t.Steps)
            {
                yield return string.Create(CultureInfo.InvariantCulture,
                    $"   {t.Name,-15} {s.Label,-8} deliveries/s {s.DeliveredPerSecond,9:F0}  p50 {s.Latency.P50,7:F1}  p99 {s.Latency.P99,7:F1}  max {s.Latency.Max,7:F0} ms  "
                    + $"lost {s.Lost} dup {s.Duplicates} ooo {s.OutOfOrder}  cpu server {Cpu(s, "server")} pg {Cpu(s, "postgres")} loadgen {Cpu(s, "loadgen")}");
            }
        }

        foreach (var line in run.Verdicts)
        {
            yield return "   " + line;
        }
    }

    public static string Cpu(StepResult s, string group) =>
        s.Cpu.TryGetValue(group, out var u) && !double.IsNaN(u.Avg) ? $"{u.Avg:F0}%" : "-";

    public static string Ratio(double value, double floor) =>
        floor > 0 && !double.IsNaN(value) && !double.IsNaN(floor) ? (value / floor).ToString("F2", CultureInfo.InvariantCulture) + "x" : "-";

    private static string Seconds(double s) => double.IsInfinity(s) || double.IsNaN(s) ? "never" : $"{s:F2} s";

    private static string Line(bool pass, string what, string detail) => $"{(pass ? "PASS" : "MISS")}: {what}: {detail}";

    private static void AtRate(RunResult run, TargetResult? server, double rate, double p99Limit)
    {
        var step = server?.Steps.FirstOrDefault(s => s.Rate == rate);
        run.Verdicts.Add(step is null
            ? $"n/a: {rate} msg/s was not run on the server"
            : Line(step.Latency.P99 <= p99Limit && step.Lost == 0, $"server at {rate} msg/s",
                $"p99 {step.Latency.P99:F1} ms (target <= {p99Limit} ms), {step.DeliveredPerSecond:F0} deliveries/s, lost {step.Lost}"));
    }

    private static void KneeRatio(RunResult run, TargetResult? target, TargetResult? baseline, double? atLeast, string what)
    {
        if (target is null || baseline is null)
        {
            return;
        }

        var limit = run.Spec.KneeP99Ms;
        var knee = target.Knee(limit);
        var baseKnee = baseline.Knee(limit);
        var detail = $"{target.Name} {Describe(knee)} vs {baseline.Name} {Describe(baseKnee)} = {Ratio(knee?.Rate ?? 0, baseKnee?.Rate ?? 0)}"
            + (atLeast is { } min ? $" (target >= {min:F1}x)" : "");
        if (baseKnee is not null && baseline.Steps.Count > 0 && baseKnee.Rate >= baseline.Steps.Max(s => s.Rate))
        {
            detail += $"; {baseline.Name} kept up at the highest rate tried, so its knee is at least that";
        }

        run.Verdicts.Add(atLeast is { } m
            ? Line(knee is not null && baseKnee is not null && knee.Rate >= m * baseKnee.Rate, what, detail)
            : "info: " + what + ": " + detail);
    }

    private static string Describe(StepResult? knee) => knee is null
        ? "none within the limit"
        : $"{knee.Rate} msg/s ({knee.DeliveredPerSecond:F0} deliveries/s, p99 {knee.Latency.P99:F0} ms)";

    private static StepResult? BestDeliveries(TargetResult? target, double p99Limit) =>
        target?.Steps.Where(s => s.Latency.Count > 0 && s.Latency.P99 <= p99Limit && s.Lost == 0).MaxBy(s => s.DeliveredPerSecond);
}
