using System.Reflection;
using Chat.Testing;
using Xunit.Abstractions;

namespace Chat.LoadTests.Tests;

/// <summary>
/// The smoke version of every load scenario (seconds, small numbers), against the floor and the real server started
/// as a child process on a fresh database of the run's private PostgreSQL (and Redis for two nodes). Asserts
/// correctness only: everything acknowledged, nothing lost, nothing duplicated, in order, every client caught up.
/// Timings are reported in the output but never asserted.
/// </summary>
/// <remarks>
/// The scenarios are split between two test classes (every other one in each), which xUnit runs side by side: a smoke
/// run mostly waits on its steps, and one after another they took over two minutes of the suite.
/// </remarks>
public static class ScenarioSmoke
{
    /// <summary>Every other scenario, starting at <paramref name="first"/> (0 or 1): the two halves cover them all.</summary>
    public static TheoryData<string> Half(int first) => new(ScenarioSpec.All.Where((_, i) => i % 2 == first).Select(s => s.Name));

    public static async Task RunAsync(string scenario, ITestOutputHelper output)
    {
        var spec = ScenarioSpec.Find(scenario).Smoke();
        var postgres = await PostgresServer.GetAsync();
        var results = Path.Combine(Path.GetTempPath(), $"chat-load-smoke-{Guid.NewGuid():N}");
        RedisServer? redis = null;
        var options = new RunOptions
        {
            Scenario = spec,
            HubDll = HubDll(),
            ConnectionString = await postgres.CreateMigratedDatabaseAsync(),
            FloorInProcess = true,
            DrainSeconds = 15,
            ResultsDirectory = results,
            AspNetCoreEnvironment = "Testing",
            TokenMinutes = 30,
            Output = output.WriteLine,
        };
        if (spec.Targets.Contains(TargetKind.ServerTwoNodes))
        {
            redis = await RedisServer.StartAsync();
            options.Redis = redis.ConnectionString;
        }

        RunResult run;
        try
        {
            run = await LoadRunner.RunAsync(options);
        }
        finally
        {
            if (redis is not null)
            {
                await redis.DisposeAsync();
            }
        }

        Assert.Equal(spec.Targets.Length, run.Targets.Count);
        foreach (var target in run.Targets)
        {
            var what = $"{scenario} on {target.Name}";
            Assert.True(target.Error is null, $"{what}: {target.Error}");
            Assert.True(target.ConnectFailures == 0, $"{what}: {target.ConnectFailures} connections failed");
            Assert.True(target.Lost == 0, $"{what}: {target.Lost} deliveries lost");
            Assert.True(target.Duplicates == 0, $"{what}: {target.Duplicates} deliveries duplicated");
            // Across two nodes, two senders' messages to one chat are pushed by different nodes through Redis, so a push
            // with a higher seq can overtake a lower one; clients order by seq (docs/hub-protocol.md), and loss and
            // duplication above are what the delivery guarantee is about. One node pushes in commit order.
            if (target.Name != "server-2-nodes")
            {
                Assert.True(target.OutOfOrder == 0, $"{what}: {target.OutOfOrder} deliveries out of order");
            }
            foreach (var step in target.Steps)
            {
                Assert.True(step.Sent > 0 && step.Acked == step.Sent, $"{what} {step.Label}: sent {step.Sent}, acknowledged {step.Acked}");
                Assert.True(step.Failed == 0, $"{what} {step.Label}: {step.Failed} sends failed: {string.Join("; ", step.Errors.Keys)}");
                Assert.True(step.Deliveries > 0, $"{what} {step.Label}: nothing delivered");
            }

            switch (spec.Kind)
            {
                case ScenarioKind.Steady:
                    Assert.NotEmpty(target.Steps);
                    // Every step is led in at its rate (unmeasured) and the lead-in's messages are checked with it.
                    Assert.All(target.Steps, step =>
                    {
                        Assert.True(step.LeadInSent > 0 && step.LeadInAcked == step.LeadInSent, $"{what} {step.Label}: lead-in sent {step.LeadInSent}, acknowledged {step.LeadInAcked}");
                        Assert.Equal(0, step.Unacknowledged);
                    });
                    break;
                case ScenarioKind.Storm:
                    var storm = target.Storm!;
                    Assert.Equal(storm.Clients, storm.Reconnected);
                    Assert.Equal(storm.Clients, storm.CaughtUp);
                    Assert.Equal(0, storm.MissingAtEnd);
                    Assert.Equal(0, storm.PushDuplicates);
                    break;
                case ScenarioKind.Idle:
                    var idle = target.Idle!;
                    Assert.Equal(spec.Classes * spec.Size, idle.Connections);
                    Assert.Equal(idle.Connections, idle.OpenAtEnd);
                    break;
            }
        }

        Assert.True(File.Exists(Path.Combine(run.Folder, "report.md")), "no report written");
        Assert.True(File.Exists(Path.Combine(run.Folder, "report.html")), "no HTML report written");
        Directory.Delete(results, recursive: true);
    }

    private static string HubDll()
    {
        var built = typeof(ScenarioSmoke).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "ChatHubDll")?.Value;
        var path = built is not null && File.Exists(built) ? built : Locate.HubDll();
        return path ?? throw new FileNotFoundException("Chat.Hub.dll is not built; build Chat.sln first");
    }
}

public sealed class ScenarioSmokeTests(ITestOutputHelper output)
{
    public static TheoryData<string> Scenarios => ScenarioSmoke.Half(0);

    [Theory]
    [MemberData(nameof(Scenarios))]
    public Task Scenario_delivers_every_message_once_and_in_order(string scenario) => ScenarioSmoke.RunAsync(scenario, output);
}

public sealed class ScenarioSmokeTestsOtherHalf(ITestOutputHelper output)
{
    public static TheoryData<string> Scenarios => ScenarioSmoke.Half(1);

    [Theory]
    [MemberData(nameof(Scenarios))]
    public Task Scenario_delivers_every_message_once_and_in_order(string scenario) => ScenarioSmoke.RunAsync(scenario, output);
}
