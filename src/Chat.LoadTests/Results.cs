using System.Text.Json.Serialization;
using HdrHistogram;

namespace Chat.LoadTests;

/// <summary>Latency percentiles in milliseconds.</summary>
public sealed record Percentiles(long Count, double Mean, double P50, double P90, double P99, double P999, double Max)
{
    public static readonly Percentiles Empty = new(0, 0, 0, 0, 0, 0, 0);

    public static Percentiles From(HistogramBase h) => h.TotalCount == 0
        ? Empty
        : new(h.TotalCount, h.GetMean() / 1000, Ms(h, 50), Ms(h, 90), Ms(h, 99), Ms(h, 99.9), h.GetMaxValue() / 1000.0);

    private static double Ms(HistogramBase h, double p) => h.GetValueAtPercentile(p) / 1000.0;
}

/// <summary>Average and peak of a sampled quantity over a window.</summary>
public sealed record Usage(double Avg, double Max)
{
    public static readonly Usage None = new(double.NaN, double.NaN);
}

public sealed class StepResult
{
    public required string Label { get; init; }

    public double Rate { get; init; }

    public double Seconds { get; init; }

    public long Sent { get; init; }

    public long Acked { get; init; }

    public long Failed { get; init; }

    public long Skipped { get; init; }

    /// <summary>Seconds of unmeasured traffic at the step's rate right before it (0: the step started from an idle server).</summary>
    public double LeadInSeconds { get; init; }

    /// <summary>Messages sent in the lead-in (not in Sent; their failures, losses, duplicates and order are in Failed, Lost, Duplicates and OutOfOrder).</summary>
    public long LeadInSent { get; init; }

    /// <summary>Lead-in messages acknowledged (not in Acked).</summary>
    public long LeadInAcked { get; init; }

    /// <summary>Sends of the step and its lead-in that got neither a result nor an error.</summary>
    public long Unacknowledged => Sent + LeadInSent - Acked - LeadInAcked - Failed;

    public long Deliveries { get; init; }

    /// <summary>Deliveries that arrived while the step's traffic ran, per second.</summary>
    public double DeliveredPerSecond { get; init; }

    /// <summary>What the acknowledged messages asked for: acked × receivers / seconds.</summary>
    public double OfferedDeliveriesPerSecond { get; init; }

    public long Lost { get; init; }

    public long Duplicates { get; init; }

    public long OutOfOrder { get; init; }

    /// <summary>Storm: messages a client got both by catch-up and by push (expected; deduplicated by seq).</summary>
    public long Overlaps { get; init; }

    /// <summary>Storm: messages a client got only through catch-up (GetUpdates).</summary>
    public long Recovered { get; init; }

    public long Foreign { get; init; }

    /// <summary>Pushes (invocations) that carried the step's deliveries: deliveries / pushes = messages per push.</summary>
    public long Pushes { get; init; }

    public required Percentiles Latency { get; init; }

    public required Percentiles AckLatency { get; init; }

    public required Percentiles SchedulerLag { get; init; }

    public required Percentiles CatchUpLatency { get; init; }

    public Dictionary<string, int> Errors { get; init; } = [];

    public Dictionary<string, Usage> Cpu { get; init; } = [];

    public Dictionary<string, Usage> RssMb { get; init; } = [];

    public double[] CoreBusy { get; init; } = [];

    /// <summary>The sweep stopped after this step (the target could not keep up).</summary>
    public bool Overloaded { get; init; }

    /// <summary>Latency in ms at the report's plotted percentiles (0, 25, 50, … 99.999).</summary>
    public double[] DistributionMs { get; init; } = [];

    [JsonIgnore]
    public HistogramBase? LatencyHistogram { get; init; }
}

public sealed record TimelinePoint(
    double Seconds,
    string Step,
    double SentPerSecond,
    double DeliveriesPerSecond,
    double P50,
    double P99,
    IReadOnlyDictionary<string, double> Cpu,
    IReadOnlyDictionary<string, long> Rss,
    double[] CoreBusy,
    IReadOnlyDictionary<string, int>? OpenFiles = null);

public sealed class StormResult
{
    public int Clients { get; init; }

    public int Reconnected { get; init; }

    public int CaughtUp { get; init; }

    public double ReconnectP50 { get; init; }

    public double ReconnectP99 { get; init; }

    /// <summary>Seconds from the drop until the last client was connected again.</summary>
    public double AllBackAfter { get; init; }

    public double CaughtUpP50 { get; init; }

    public double CaughtUpP99 { get; init; }

    /// <summary>Seconds from the drop until the last client had every message up to the chat's last seq it was told of.</summary>
    public double AllCaughtUpAfter { get; init; }

    /// <summary>Messages some client never got, by push or catch-up, by the end of the drain.</summary>
    public long MissingAtEnd { get; init; }

    public int ClientsComplete { get; init; }

    public long PushDuplicates { get; init; }

    public int ConnectAttemptsFailed { get; init; }
}

public sealed class IdleResult
{
    public int Connections { get; init; }

    public int Connected { get; init; }

    public int OpenAtEnd { get; init; }

    public double ConnectSeconds { get; init; }

    public double RssBeforeMb { get; init; }

    public double RssAfterMb { get; init; }

    public double RssPeakMb { get; init; }

    public double KilobytesPerConnection { get; init; }

    public double LoadgenRssMb { get; init; }
}

public sealed class TargetResult
{
    public required string Name { get; init; }

    public TargetKind Kind { get; init; }

    public int Nodes { get; init; }

    public int Connections { get; set; }

    public int ConnectFailures { get; set; }

    public double ConnectSeconds { get; set; }

    public int UnexpectedCloses { get; set; }

    public double RssBeforeMb { get; set; }

    /// <summary><see cref="Reporting.MachineInfo.SpeedProbeMs"/> before the target started and after it stopped.</summary>
    public double SpeedProbeBeforeMs { get; set; }

    public double SpeedProbeAfterMs { get; set; }

    public List<StepResult> Steps { get; } = [];

    public List<TimelinePoint> Timeline { get; } = [];

    public StormResult? Storm { get; set; }

    public IdleResult? Idle { get; set; }

    public string? Error { get; set; }

    /// <summary>pg_stat_statements of the run's database during this target: calls, total ms, mean ms, max ms, rows, query.</summary>
    public List<string[]> DatabaseStatements { get; set; } = [];

    public string? DatabaseWal { get; set; }

    /// <summary>The highest rate whose p99 stayed within the scenario's limit with nothing lost and delivery keeping up.</summary>
    public StepResult? Knee(double p99LimitMs) => Steps
        .Where(s => s.Latency.Count > 0 && s.Latency.P99 <= p99LimitMs && s.Lost == 0 && s.DeliveredPerSecond >= 0.9 * s.OfferedDeliveriesPerSecond)
        .MaxBy(s => s.Rate);

    public long Lost => Steps.Sum(s => s.Lost) + (Storm?.MissingAtEnd ?? 0);

    public long Duplicates => Steps.Sum(s => s.Duplicates);

    public long OutOfOrder => Steps.Sum(s => s.OutOfOrder);
}

public sealed class RunResult
{
    public required string Scenario { get; init; }

    public required ScenarioSpec Spec { get; init; }

    public required string Folder { get; init; }

    public DateTimeOffset StartedAt { get; init; }

    public double Seconds { get; set; }

    public Dictionary<string, string> Machine { get; init; } = [];

    public Dictionary<string, string> Settings { get; init; } = [];

    public Dictionary<string, string> ServerEnvironment { get; init; } = [];

    public List<TargetResult> Targets { get; } = [];

    public List<string> Verdicts { get; } = [];

    public TargetResult? Target(TargetKind kind) => Targets.FirstOrDefault(t => t.Kind == kind);
}
