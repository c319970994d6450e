using System.Globalization;

namespace Chat.LoadTests;

public enum ScenarioKind
{
    /// <summary>Open-loop messages at a sweep of rates; latency and losses per rate.</summary>
    Steady,

    /// <summary>Every pupil drops at once and reconnects while the teachers keep posting; catch-up by seq.</summary>
    Storm,

    /// <summary>Connections only: memory per connection.</summary>
    Idle,
}

public enum SendPattern
{
    /// <summary>A random class chat, sent by a random pupil of it.</summary>
    RandomClassByPupil,

    /// <summary>A random class chat, sent by its class teacher (who stays connected during a storm).</summary>
    RandomClassByTeacher,

    /// <summary>The read-only school channel, sent by the admin.</summary>
    ChannelByAdmin,

    None,
}

public enum TargetKind
{
    /// <summary>The relay-only hub of this project (Floor/FloorServer.cs).</summary>
    Floor,

    /// <summary>The chat server, one node.</summary>
    Server,

    /// <summary>The chat server, two nodes over the Redis backplane, members spread across both.</summary>
    ServerTwoNodes,
}

/// <summary>The shape of a scenario: school layout, traffic and the defaults of a full and of a smoke run.</summary>
public sealed record ScenarioSpec(
    string Name,
    string Title,
    ScenarioKind Kind,
    SendPattern Pattern,
    int Classes,
    int Size,
    bool Teachers,
    double[] Rates,
    int StepSeconds,
    TargetKind[] Targets,
    double KneeP99Ms,
    string Goal)
{
    /// <summary>Storm: when the pupils drop, in seconds after the traffic starts.</summary>
    public int DropAtSeconds { get; init; } = 10;

    /// <summary>Schools the classes are spread over (the idle scenario: the roster sync of one 20 000-pupil school is quadratic).</summary>
    public int Schools { get; init; } = 1;

    /// <summary>
    /// Take the chats in turn instead of at random. The smoke uses it so that messages of one chat are spaced evenly
    /// (the server does not promise push order between two senders racing in one chat; see docs/performance.md).
    /// </summary>
    public bool RoundRobin { get; init; }

    public static readonly IReadOnlyList<ScenarioSpec> All =
    [
        new("school-day", "School day: 100 classes x 30 pupils", ScenarioKind.Steady, SendPattern.RandomClassByPupil, 100, 30, false,
            [100, 200, 300, 500, 1000, 2000, 3000, 4000], 15, [TargetKind.Floor, TargetKind.Server], 250,
            "2000 msg/s (60 000 deliveries/s) at p99 <= 150 ms; the highest rate at p99 <= 250 ms at least 0.8x the floor's"),
        new("assembly", "Assembly: one room of 1000", ScenarioKind.Steady, SendPattern.RandomClassByPupil, 1, 1000, false,
            [10, 25, 50, 100, 200, 400], 15, [TargetKind.Floor, TargetKind.Server], 150,
            "200 msg/s (200 000 deliveries/s) at p99 <= 150 ms"),
        new("channel", "Channel: an admin posts to a read-only channel of 5000", ScenarioKind.Steady, SendPattern.ChannelByAdmin, 50, 100, false,
            [1, 2, 4, 8, 16, 32], 15, [TargetKind.Floor, TargetKind.Server], 300,
            "at least the floor's deliveries/s at p99 <= 300 ms"),
        new("reconnect-storm", "Reconnect storm: 3000 pupils drop at once while teachers keep posting", ScenarioKind.Storm, SendPattern.RandomClassByTeacher, 100, 30, true,
            [50], 30, [TargetKind.Floor, TargetKind.Server], 250,
            "all 3000 back and caught up within 5 s; nothing lost or duplicated"),
        // 19 500, not 20 000: a process may hold at most 20 000 file descriptors on the machines here (hard limit, not raisable
        // without CAP_SYS_RESOURCE), and both the server and the load generator need a few besides the sockets.
        new("idle", "Idle: 19 500 connections", ScenarioKind.Idle, SendPattern.None, 195, 100, false,
            [], 30, [TargetKind.Floor, TargetKind.Server], 250,
            "20 000 connections in <= 1 GiB of server memory (19 500 measured, the rest extrapolated per connection)") { Schools = 20 },
        new("two-nodes", "Two nodes over Redis: 100 classes x 30, members spread across both", ScenarioKind.Steady, SendPattern.RandomClassByPupil, 100, 30, false,
            [100, 200, 300, 500, 1000, 2000], 15, [TargetKind.Floor, TargetKind.Server, TargetKind.ServerTwoNodes], 250,
            "small-group throughput (highest rate at p99 <= 250 ms) on two nodes >= 0.5x one node"),
    ];

    /// <summary>Steps of a few seconds (the smoke versions): shorter warm-up, settling and history, "-smoke" reports.</summary>
    public bool IsShort => StepSeconds <= 6;

    /// <summary>Seconds of traffic, small numbers: what the xunit smoke test runs.</summary>
    public ScenarioSpec Smoke() => Name switch
    {
        // Every chat gets a message every 250 ms.
        "school-day" => this with { Classes = 3, Size = 5, Rates = [12], StepSeconds = 3, RoundRobin = true },
        "assembly" => this with { Classes = 1, Size = 20, Rates = [4], StepSeconds = 3, RoundRobin = true },
        "channel" => this with { Classes = 2, Size = 15, Rates = [4], StepSeconds = 3, RoundRobin = true },
        "reconnect-storm" => this with { Classes = 4, Size = 5, Rates = [16], StepSeconds = 6, DropAtSeconds = 2, RoundRobin = true },
        "idle" => this with { Classes = 4, Size = 50, StepSeconds = 3, Schools = 2 },
        "two-nodes" => this with { Classes = 2, Size = 10, Rates = [8], StepSeconds = 3, RoundRobin = true },
        _ => this,
    };

    public static ScenarioSpec Find(string name) =>
        All.FirstOrDefault(s => s.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown scenario '{name}'; known: {string.Join(", ", All.Select(s => s.Name))}");

    public static string TargetName(TargetKind kind) => kind switch
    {
        TargetKind.Floor => "floor",
        TargetKind.Server => "server",
        TargetKind.ServerTwoNodes => "server-2-nodes",
        _ => kind.ToString(),
    };

    public static TargetKind ParseTarget(string name) => name.Trim().ToLowerInvariant() switch
    {
        "floor" => TargetKind.Floor,
        "server" => TargetKind.Server,
        "server-2-nodes" or "two-nodes" or "server2" => TargetKind.ServerTwoNodes,
        _ => throw new ArgumentException($"unknown target '{name}' (floor, server, server-2-nodes)"),
    };

    public static double[] ParseRates(string text) =>
        text.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(r => double.Parse(r, CultureInfo.InvariantCulture)).ToArray();
}
