using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ScottPlot;

namespace Chat.LoadTests.Reporting;

/// <summary>Writes a run's report.md, report.html (same content), run.json and the PNG plots into the run's folder.</summary>
public static class ReportWriter
{
    private static readonly double[] PercentilesToPlot = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99, 99.999];

    public static void Write(RunResult run)
    {
        var blocks = new List<Block>();
        var spec = run.Spec;
        blocks.Add(new Heading(1, $"Load test: {spec.Title}"));
        blocks.Add(new Paragraph($"Scenario `{run.Scenario}`, started {run.StartedAt:yyyy-MM-dd HH:mm:ss zzz}, took {run.Seconds:F0} s. Goal from the issue: {spec.Goal}."));
        blocks.Add(new Heading(2, "Verdicts"));
        blocks.Add(new BulletList(run.Verdicts));

        blocks.Add(new Heading(2, "Results per step"));
        blocks.Add(new Paragraph("Latencies in ms, from the scheduled send time to each member's receipt (the sender's own copy included). "
            + "CPU in % of one core (average / peak over the step), memory in MiB. Deliveries/s counts what arrived while the step's traffic ran; "
            + "offered = acknowledged messages x receivers / seconds."));
        var header = new[] { "target", "rate", "sent", "acked", "failed", "deliveries/s", "offered/s", "p50", "p90", "p99", "p99.9", "max", "lost", "dup", "out of order", "messages per push", "server CPU", "PostgreSQL CPU", "Redis CPU", "load gen CPU", "server RSS" };
        var rows = new List<string[]>();
        foreach (var t in run.Targets)
        {
            foreach (var s in t.Steps)
            {
                rows.Add([t.Name, s.Label, N(s.Sent), N(s.Acked), N(s.Failed), N(s.DeliveredPerSecond), N(s.OfferedDeliveriesPerSecond),
                    F(s.Latency.P50), F(s.Latency.P90), F(s.Latency.P99), F(s.Latency.P999), F(s.Latency.Max), N(s.Lost), N(s.Duplicates), N(s.OutOfOrder),
                    s.Pushes > 0 ? (s.Deliveries / (double)s.Pushes).ToString("F2", CultureInfo.InvariantCulture) : "-", U(s.Cpu, "server"), U(s.Cpu, "postgres"), U(s.Cpu, "redis"), U(s.Cpu, "loadgen"), s.RssMb.TryGetValue("server", out var m) ? N(m.Max) : "-"]);
            }
        }

        blocks.Add(new Table(header, rows));
        var errors = run.Targets.SelectMany(t => t.Steps.SelectMany(s => s.Errors.Select(e => $"{t.Name} {s.Label}: {e.Key} x{e.Value}"))).ToList();
        if (errors.Count > 0)
        {
            blocks.Add(new Paragraph("Errors returned to senders:"));
            blocks.Add(new BulletList(errors));
        }

        AddRatios(run, blocks);
        AddStorm(run, blocks);
        AddIdle(run, blocks);
        AddLoadSide(run, blocks);
        foreach (var t in run.Targets.Where(t => t.DatabaseStatements.Count > 0))
        {
            blocks.Add(new Heading(2, $"Where the database time goes ({t.Name}, whole phase incl. connecting)"));
            blocks.Add(new Paragraph($"pg_stat_statements of the run's database; WAL: {t.DatabaseWal}."));
            blocks.Add(new Table(["calls", "total ms", "mean ms", "max ms", "rows", "statement"], t.DatabaseStatements));
        }

        blocks.Add(new Heading(2, "Plots"));
        foreach (var (file, caption) in Plot(run))
        {
            blocks.Add(new Image(file, caption));
        }

        blocks.Add(new Heading(2, "Connections"));
        blocks.Add(new Table(["target", "nodes", "connected", "failed", "seconds to connect all", "unexpected disconnects", "server RSS before connecting (MiB)",
                "speed probe before / after (ms)"],
            run.Targets.Select(t => new[]
            {
                t.Name, N(t.Nodes), N(t.Connections), N(t.ConnectFailures), F(t.ConnectSeconds), N(t.UnexpectedCloses), N(t.RssBeforeMb),
                $"{N(t.SpeedProbeBeforeMs)} / {N(t.SpeedProbeAfterMs)}",
            }).ToList()));
        blocks.Add(new Paragraph("Speed probe: milliseconds the load generator needs for a fixed loop on its core; on a quiet machine it "
            + "stays the same from run to run. A larger value means the (virtual) machine's cores were slowed by its host during the "
            + "run, which the CPU percentages cannot show: compare runs only at similar probes."));
        blocks.Add(new Heading(2, "Settings"));
        blocks.Add(new Table(["setting", "value"], run.Settings.Select(kv => new[] { kv.Key, kv.Value }).ToList()));
        blocks.Add(new Paragraph("Environment of the server under test (the floor gets none of it):"));
        blocks.Add(new Table(["variable", "value"], run.ServerEnvironment.Select(kv => new[] { kv.Key, kv.Value }).ToList()));
        blocks.Add(new Heading(2, "Machine"));
        blocks.Add(new Table(["what", "value"], run.Machine.Select(kv => new[] { kv.Key, kv.Value }).ToList()));
        blocks.Add(new Paragraph("The floor is the relay-only hub of src/Chat.LoadTests/Floor/FloorServer.cs (no auth, no database, seq from memory), "
            + "driven by the same clients with the same schedule in the same run. Files: run.json (all numbers), server-*.log, floor.log, seed.log."));

        File.WriteAllText(Path.Combine(run.Folder, "report.md"), RenderMarkdown(blocks));
        File.WriteAllText(Path.Combine(run.Folder, "report.html"), RenderHtml(blocks, spec.Title));
        File.WriteAllText(Path.Combine(run.Folder, "run.json"), JsonSerializer.Serialize(run, new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            WriteIndented = true,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            Converters = { new JsonStringEnumConverter() },
        }));
    }

    private static void AddRatios(RunResult run, List<Block> blocks)
    {
        var floor = run.Target(TargetKind.Floor);
        if (floor is null || floor.Steps.Count == 0)
        {
            return;
        }

        var rows = new List<string[]>();
        foreach (var t in run.Targets.Where(t => t.Kind != TargetKind.Floor))
        {
            foreach (var s in t.Steps)
            {
                var f = floor.Steps.FirstOrDefault(x => x.Rate == s.Rate);
                if (f is null)
                {
                    continue;
                }

                rows.Add([t.Name, s.Label, N(f.DeliveredPerSecond), N(s.DeliveredPerSecond), Verdicts.Ratio(s.DeliveredPerSecond, f.DeliveredPerSecond),
                    F(f.Latency.P50), F(s.Latency.P50), Verdicts.Ratio(s.Latency.P50, f.Latency.P50),
                    F(f.Latency.P99), F(s.Latency.P99), Verdicts.Ratio(s.Latency.P99, f.Latency.P99),
                    U(f.Cpu, "server"), U(s.Cpu, "server")]);
            }
        }

        if (rows.Count == 0)
        {
            return;
        }

        blocks.Add(new Heading(2, "Ratio to the floor"));
        blocks.Add(new Paragraph("Same clients, same schedule, same run. Throughput ratio = server / floor (1.00x = as fast as a bare relay); "
            + "latency ratio = server / floor (higher is worse). \"server CPU\" of the floor is the floor process."));
        blocks.Add(new Table(["target", "rate", "floor deliveries/s", "deliveries/s", "throughput ratio", "floor p50", "p50", "p50 ratio", "floor p99", "p99", "p99 ratio", "floor CPU", "server CPU"], rows));
        var limit = run.Spec.KneeP99Ms;
        blocks.Add(new Table(["target", $"knee (highest rate at p99 <= {limit} ms)", "deliveries/s at the knee", "ratio to the floor's knee"],
            run.Targets.Select(t =>
            {
                var knee = t.Knee(limit);
                var floorKnee = floor.Knee(limit);
                return new[] { t.Name, knee is null ? "none" : knee.Label, knee is null ? "-" : N(knee.DeliveredPerSecond), Verdicts.Ratio(knee?.Rate ?? 0, floorKnee?.Rate ?? 0) };
            }).ToList()));
    }

    private static void AddStorm(RunResult run, List<Block> blocks)
    {
        var storms = run.Targets.Where(t => t.Storm is not null).ToList();
        if (storms.Count == 0)
        {
            return;
        }

        blocks.Add(new Heading(2, "Reconnect storm"));
        blocks.Add(new Paragraph("Seconds after every pupil's connection was dropped at once (teachers stay connected and keep posting). "
            + "\"Caught up\" = reconnected, then GetUpdates by seq from the last seq held without a gap, page by page, until no more. "
            + "Missing = seqs some client never got by the end of the drain; duplicated = the same seq pushed twice to one client "
            + "(a message got by catch-up and again by push is an expected overlap, deduplicated by seq)."));
        blocks.Add(new Table(["target", "clients", "back", "back p50 (s)", "back p99 (s)", "all back (s)", "caught up", "caught up p50 (s)", "caught up p99 (s)", "all caught up (s)",
                "recovered by catch-up", "overlaps", "missing at end", "duplicated", "complete clients"],
            storms.Select(t =>
            {
                var s = t.Storm!;
                var step = t.Steps.FirstOrDefault();
                return new[]
                {
                    t.Name, N(s.Clients), N(s.Reconnected), F(s.ReconnectP50), F(s.ReconnectP99), F(s.AllBackAfter), N(s.CaughtUp), F(s.CaughtUpP50), F(s.CaughtUpP99),
                    F(s.AllCaughtUpAfter), N(step?.Recovered ?? 0), N(step?.Overlaps ?? 0), N(s.MissingAtEnd), N(s.PushDuplicates), N(s.ClientsComplete),
                };
            }).ToList()));
    }

    private static void AddIdle(RunResult run, List<Block> blocks)
    {
        var idle = run.Targets.Where(t => t.Idle is not null).ToList();
        if (idle.Count == 0)
        {
            return;
        }

        blocks.Add(new Heading(2, "Idle connections"));
        blocks.Add(new Paragraph("Server resident memory (VmRSS) before connecting and after all connections were open and settled (average of the second half of the hold); "
            + "per connection = (after - before) / connections."));
        blocks.Add(new Table(["target", "connections", "open at the end", "seconds to connect", "RSS before (MiB)", "RSS after (MiB)", "RSS peak (MiB)", "KiB per connection", "load generator RSS (MiB)"],
            idle.Select(t =>
            {
                var i = t.Idle!;
                return new[] { t.Name, N(i.Connections), N(i.OpenAtEnd), F(i.ConnectSeconds), N(i.RssBeforeMb), N(i.RssAfterMb), N(i.RssPeakMb), F(i.KilobytesPerConnection), N(i.LoadgenRssMb) };
            }).ToList()));
    }

    private static void AddLoadSide(RunResult run, List<Block> blocks)
    {
        blocks.Add(new Heading(2, "The load side was not the bottleneck"));
        blocks.Add(new Paragraph("The load generator's own CPU (% of one core; it is pinned to one core, so 100% would mean saturated), "
            + "how late the open-loop scheduler sent messages behind their planned time, how busy each core of the machine was, "
            + "and how much CPU (% of one core) went to processes that are not part of this run (the machine is shared)."));
        var rows = new List<string[]>();
        foreach (var t in run.Targets)
        {
            foreach (var s in t.Steps)
            {
                var ours = s.Cpu.Values.Where(u => double.IsFinite(u.Avg)).Sum(u => u.Avg);
                var others = s.CoreBusy.Length == 0 ? double.NaN : Math.Max(0, s.CoreBusy.Sum() - ours);
                rows.Add([t.Name, s.Label, U(s.Cpu, "loadgen"), F(s.SchedulerLag.P99), F(s.SchedulerLag.Max), F(s.AckLatency.P99),
                    string.Join(" / ", s.CoreBusy.Select(c => c.ToString("F0", CultureInfo.InvariantCulture) + "%")), double.IsFinite(others) ? $"{others:F0}%" : "-"]);
            }

            if (t.Steps.Count == 0 && t.Timeline.Count > 0)
            {
                var cpu = t.Timeline.Select(p => p.Cpu.GetValueOrDefault("loadgen")).ToList();
                rows.Add([t.Name, "whole phase", $"{cpu.Average():F0} / {cpu.Max():F0}%", "-", "-", "-", "-", "-"]);
            }
        }

        blocks.Add(new Table(["target", "step", "load gen CPU avg / peak", "send lag p99 (ms)", "send lag max (ms)", "ack p99 (ms)", "cores busy (0 / 1 ...)", "CPU of other processes on the machine"], rows));
    }

    // ---------------------------------------------------------------- plots

    private static List<(string File, string Caption)> Plot(RunResult run)
    {
        var files = new List<(string, string)>();
        var withTimeline = run.Targets.Where(t => t.Timeline.Count > 0).ToList();
        if (withTimeline.Count == 0)
        {
            return files;
        }

        if (run.Spec.Kind != ScenarioKind.Idle)
        {
            var deliveries = new Plot();
            foreach (var t in withTimeline)
            {
                AddLine(deliveries, t.Timeline.Select(p => p.Seconds), t.Timeline.Select(p => p.DeliveriesPerSecond), t.Name);
            }

            Save(deliveries, run, "deliveries.png", "Deliveries per second over time", "seconds since the target started", "deliveries/s", files);

            var latency = new Plot();
            foreach (var t in withTimeline)
            {
                AddLine(latency, t.Timeline.Select(p => p.Seconds), t.Timeline.Select(p => Log(p.P50)), t.Name + " p50");
                AddLine(latency, t.Timeline.Select(p => p.Seconds), t.Timeline.Select(p => Log(p.P99)), t.Name + " p99");
            }

            LogAxis(latency);
            Save(latency, run, "latency-over-time.png", "Delivery latency p50 and p99 per second (log scale)", "seconds since the target started", "ms", files);

            var distribution = new Plot();
            var any = false;
            foreach (var t in run.Targets)
            {
                foreach (var s in t.Steps.Where(s => s.DistributionMs.Length == PercentilesToPlot.Length))
                {
                    AddLine(distribution, PercentilesToPlot.Select(p => -Math.Log10(1 - Math.Min(p, 99.999) / 100)),
                        s.DistributionMs.Select(Log), $"{t.Name} {s.Label}");
                    any = true;
                }
            }

            if (any)
            {
                double[] positions = [0, 0.301, 1, 2, 3, 4, 5];
                string[] labels = ["0%", "50%", "90%", "99%", "99.9%", "99.99%", "99.999%"];
                distribution.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, labels);
                LogAxis(distribution);
                Save(distribution, run, "latency-distribution.png", "Latency distribution per step (log scale)", "percentile", "ms", files);
            }
        }

        var cpu = new Plot();
        foreach (var t in withTimeline)
        {
            foreach (var group in t.Timeline.SelectMany(p => p.Cpu.Keys).Distinct())
            {
                AddLine(cpu, t.Timeline.Select(p => p.Seconds), t.Timeline.Select(p => p.Cpu.GetValueOrDefault(group)), $"{t.Name}: {group}");
            }
        }

        Save(cpu, run, "cpu.png", "CPU over time (% of one core)", "seconds since the target started", "% of a core", files);

        var memory = new Plot();
        foreach (var t in withTimeline)
        {
            foreach (var group in t.Timeline.SelectMany(p => p.Rss.Keys).Distinct().Where(g => g is "server" or "loadgen"))
            {
                AddLine(memory, t.Timeline.Select(p => p.Seconds), t.Timeline.Select(p => p.Rss.GetValueOrDefault(group) / 1048576.0), $"{t.Name}: {group}");
            }
        }

        Save(memory, run, "memory.png", "Resident memory over time", "seconds since the target started", "MiB", files);
        return files;
    }

    /// <summary>Latencies span 1 ms to many seconds: plotted as log10, labelled in ms.</summary>
    private static double Log(double ms) => double.IsFinite(ms) ? Math.Log10(Math.Max(0.1, ms)) : double.NaN;

    private static void LogAxis(Plot plot)
    {
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = y => Math.Pow(10, y).ToString("0.#", CultureInfo.InvariantCulture),
        };
    }

    /// <summary>The latency (ms) at each of <see cref="PercentilesToPlot"/>, kept in run.json for the distribution plot.</summary>
    public static double[] Distribution(HdrHistogram.HistogramBase h) =>
        h.TotalCount == 0 ? [] : PercentilesToPlot.Select(p => h.GetValueAtPercentile(p) / 1000.0).ToArray();

    private static void AddLine(Plot plot, IEnumerable<double> xs, IEnumerable<double> ys, string label)
    {
        var points = xs.Zip(ys).Where(p => double.IsFinite(p.First) && double.IsFinite(p.Second)).ToArray();
        if (points.Length == 0)
        {
            return;
        }

        var line = plot.Add.Scatter(points.Select(p => p.First).ToArray(), points.Select(p => p.Second).ToArray());
        line.LegendText = label;
        line.MarkerSize = points.Length == 1 ? 5 : 0;
        line.LineWidth = 2;
    }

    private static void Save(Plot plot, RunResult run, string file, string title, string x, string y, List<(string, string)> files)
    {
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Axes.Margins(0.02, 0.1);
        plot.SavePng(Path.Combine(run.Folder, file), 900, 450);
        files.Add((file, title));
    }

    // ---------------------------------------------------------------- rendering

    private abstract record Block;

    private sealed record Heading(int Level, string Text) : Block;

    private sealed record Paragraph(string Text) : Block;

    private sealed record BulletList(IReadOnlyList<string> Items) : Block;

    private sealed record Table(string[] Header, IReadOnlyList<string[]> Rows) : Block;

    private sealed record Image(string File, string Caption) : Block;

    private static string RenderMarkdown(List<Block> blocks)
    {
        var md = new StringBuilder();
        foreach (var block in blocks)
        {
            switch (block)
            {
                case Heading h:
                    md.Append('#', h.Level).Append(' ').AppendLine(h.Text).AppendLine();
                    break;
                case Paragraph p:
                    md.AppendLine(p.Text).AppendLine();
                    break;
                case BulletList l:
                    foreach (var item in l.Items)
                    {
                        md.Append("- ").AppendLine(item);
                    }

                    md.AppendLine();
                    break;
                case Table t:
                    md.Append("| ").AppendJoin(" | ", t.Header).AppendLine(" |");
                    md.Append('|').AppendJoin("", t.Header.Select(_ => " --- |")).AppendLine();
                    foreach (var row in t.Rows)
                    {
                        md.Append("| ").AppendJoin(" | ", row.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))).AppendLine(" |");
                    }

                    md.AppendLine();
                    break;
                case Image i:
                    md.AppendLine(CultureInfo.InvariantCulture, $"![{i.Caption}]({i.File})").AppendLine();
                    break;
            }
        }

        return md.ToString();
    }

    private static string RenderHtml(List<Block> blocks, string title)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var html = new StringBuilder();
        html.AppendLine(CultureInfo.InvariantCulture, $"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{E(title)}</title>");
        html.AppendLine("<style>body{font-family:sans-serif;max-width:1400px;margin:2em auto;padding:0 1em}table{border-collapse:collapse;margin:1em 0;font-size:13px}"
            + "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
            + "img{max-width:100%;border:1px solid #ddd;margin:.5em 0}code{background:#f3f3f3}li{margin:.2em 0}</style></head><body>");
        foreach (var block in blocks)
        {
            switch (block)
            {
                case Heading h:
                    html.AppendLine(CultureInfo.InvariantCulture, $"<h{h.Level}>{E(h.Text)}</h{h.Level}>");
                    break;
                case Paragraph p:
                    html.AppendLine(CultureInfo.InvariantCulture, $"<p>{E(p.Text)}</p>");
                    break;
                case BulletList l:
                    html.AppendLine("<ul>");
                    foreach (var item in l.Items)
                    {
                        html.AppendLine(CultureInfo.InvariantCulture, $"<li>{E(item)}</li>");
                    }

                    html.AppendLine("</ul>");
                    break;
                case Table t:
                    html.Append("<table><tr>").AppendJoin("", t.Header.Select(c => $"<th>{E(c)}</th>")).AppendLine("</tr>");
                    foreach (var row in t.Rows)
                    {
                        html.Append("<tr>").AppendJoin("", row.Select(c => $"<td>{E(c)}</td>")).AppendLine("</tr>");
                    }

                    html.AppendLine("</table>");
                    break;
                case Image i:
                    html.AppendLine(CultureInfo.InvariantCulture, $"<figure><img src=\"{E(i.File)}\" alt=\"{E(i.Caption)}\"><figcaption>{E(i.Caption)}</figcaption></figure>");
                    break;
            }
        }

        html.AppendLine("</body></html>");
        return html.ToString();
    }

    private static string N(double v) => double.IsFinite(v) ? v.ToString("N0", CultureInfo.InvariantCulture) : "-";

    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    private static string N(int v) => v.ToString("N0", CultureInfo.InvariantCulture);

    private static string F(double v) => double.IsFinite(v) ? v.ToString(v >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture) : "-";

    private static string U(Dictionary<string, Usage> usage, string group) =>
        usage.TryGetValue(group, out var u) && double.IsFinite(u.Avg) ? $"{u.Avg:F0} / {u.Max:F0}%" : "-";
}
