using Chat.LoadTests.Reporting;

namespace Chat.LoadTests.Tests;

/// <summary>
/// The soak verdict (test-plan item 35) on made-up timelines: an hour is run on demand, never in CI, so the judgement
/// of its report is what can be checked here.
/// </summary>
public sealed class SoakDriftTests
{
    [Fact]
    public void SteadyHour_Passes()
    {
        var run = Run(minute => (300 + (minute % 3), 120 + (minute % 2), 40 + (minute % 5)));

        Verdicts.JudgeDrift(run);

        var verdict = Assert.Single(run.Verdicts);
        Assert.StartsWith("PASS: server 500: soak drift over 3600 s", verdict, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("files")]
    [InlineData("latency")]
    public void GrowthOverTheHour_Misses(string what)
    {
        var run = Run(minute => (
            what == "memory" ? 300 + 5 * minute : 300,
            what == "files" ? 120 + 2 * minute : 120,
            what == "latency" ? 40 + 3 * minute : 40));

        Verdicts.JudgeDrift(run);

        Assert.StartsWith("MISS: server 500: soak drift", Assert.Single(run.Verdicts), StringComparison.Ordinal);
    }

    [Fact]
    public void ShortSteps_AreNotJudgedForDrift()
    {
        var run = Run(_ => (300, 120, 40), seconds: 60);

        Verdicts.JudgeDrift(run);

        Assert.Empty(run.Verdicts);
    }

    /// <summary>One server step of the school day at 500 msg/s, sampled every second; the shape gives (MiB, files, p99 ms) per minute.</summary>
    private static RunResult Run(Func<int, (double MemoryMb, int Files, double P99)> shape, int seconds = 3600)
    {
        var run = new RunResult { Scenario = "school-day", Spec = ScenarioSpec.Find("school-day"), Folder = "unused" };
        var server = new TargetResult { Name = "server", Kind = TargetKind.Server };
        server.Steps.Add(new StepResult
        {
            Label = "500",
            Rate = 500,
            Seconds = seconds,
            Latency = Percentiles.Empty,
            AckLatency = Percentiles.Empty,
            SchedulerLag = Percentiles.Empty,
            CatchUpLatency = Percentiles.Empty,
        });
        for (var s = 0; s < seconds; s++)
        {
            var (memory, files, p99) = shape(s / 60);
            server.Timeline.Add(new TimelinePoint(s, "500", 500, 15_000, p99 / 2, p99,
                new Dictionary<string, double>(), new Dictionary<string, long> { ["server"] = (long)(memory * 1048576) }, [], new Dictionary<string, int> { ["server"] = files }));
        }

        run.Targets.Add(server);
        return run;
    }
}
