using System.Diagnostics;
using System.Globalization;

namespace Chat.LoadTests.Hosting;

/// <summary>What /proc/&lt;pid&gt;/stat and status say about one process.</summary>
public readonly record struct ProcStat(int Pid, string Command, int ParentPid, long CpuTicks, long RssBytes)
{
    /// <summary>Clock ticks per second of utime/stime (USER_HZ, 100 on Linux).</summary>
    public const double TicksPerSecond = 100;

    public static ProcStat? Read(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var open = stat.IndexOf('(');
            var close = stat.LastIndexOf(')');
            if (open < 0 || close < 0)
            {
                return null;
            }

            var command = stat[(open + 1)..close];
            var fields = stat[(close + 2)..].Split(' ');

            // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15, rss (pages) 24.
            var ppid = int.Parse(fields[1], CultureInfo.InvariantCulture);
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            var rss = long.Parse(fields[21], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
            return new ProcStat(pid, command, ppid, ticks, rss);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>VmRSS and VmHWM (peak) from /proc/&lt;pid&gt;/status, in bytes.</summary>
    public static (long Rss, long Peak) ReadMemory(int pid)
    {
        long rss = 0, peak = 0;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kilobytes(line);
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    peak = Kilobytes(line);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // gone
        }

        return (rss, peak);

        static long Kilobytes(string line) =>
            long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>The process and all its children (PostgreSQL's backends are children of the postmaster).</summary>
    public static IReadOnlyList<int> WithChildren(int pid)
    {
        var result = new List<int> { pid };
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var child) && child != pid && Read(child) is { } s && s.ParentPid == pid)
            {
                result.Add(child);
            }
        }

        return result;
    }
}

/// <summary>One sample of the processes the run watches, taken once a second.</summary>
public sealed record UsageSample(
    double Seconds,
    IReadOnlyDictionary<string, double> CpuPercent,
    IReadOnlyDictionary<string, long> RssBytes,
    double[] CoreBusyPercent,
    IReadOnlyDictionary<string, int> OpenFiles);

/// <summary>
/// Samples CPU (% of one core) and resident memory of named groups of processes from /proc, plus how busy each core
/// of the machine was (from /proc/stat), so that a report can show that the load generator was not the bottleneck
/// and that nothing else was eating the cores.
/// </summary>
public sealed class UsageSampler
{
    private readonly Dictionary<string, Func<IReadOnlyList<int>>> groups = new(StringComparer.Ordinal);
    private readonly Dictionary<int, long> lastTicks = [];
    private long[][]? lastCores;
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private double lastAt;

    public void Watch(string group, Func<IReadOnlyList<int>> pids) => groups[group] = pids;

    public void Unwatch(string group) => groups.Remove(group);

    public IEnumerable<string> Groups => groups.Keys;

    /// <summary>Takes a sample; CPU is over the time since the previous call (the first call only primes).</summary>
    public UsageSample Sample()
    {
        var now = clock.Elapsed.TotalSeconds;
        var elapsed = Math.Max(0.001, now - lastAt);
        lastAt = now;
        var cpu = new Dictionary<string, double>(StringComparer.Ordinal);
        var rss = new Dictionary<string, long>(StringComparer.Ordinal);
        var files = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (name, pids) in groups)
        {
            double ticks = 0;
            long memory = 0;
            var open = 0;
            foreach (var pid in pids())
            {
                if (ProcStat.Read(pid) is not { } s)
                {
                    continue;
                }

                if (lastTicks.TryGetValue(pid, out var before))
                {
                    ticks += s.CpuTicks - before;
                }

                lastTicks[pid] = s.CpuTicks;
                memory += s.RssBytes;
                open += OpenFiles(pid);
            }

            cpu[name] = ticks / ProcStat.TicksPerSecond / elapsed * 100;
            rss[name] = memory;
            files[name] = open;
        }

        return new UsageSample(now, cpu, rss, CoreBusy(), files);
    }

    /// <summary>Open file descriptors (sockets included) of a process; 0 when it is gone or not ours to read.</summary>
    private static int OpenFiles(int pid)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private double[] CoreBusy()
    {
        var cores = File.ReadLines("/proc/stat")
            .Where(l => l.StartsWith("cpu", StringComparison.Ordinal) && l.Length > 3 && char.IsDigit(l[3]))
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray())
            .ToArray();
        var result = new double[cores.Length];
        if (lastCores is not null && lastCores.Length == cores.Length)
        {
            for (var i = 0; i < cores.Length; i++)
            {
                // user nice system idle iowait irq softirq steal: idle = idle + iowait
                var total = cores[i].Take(8).Sum() - lastCores[i].Take(8).Sum();
                var idle = cores[i][3] + cores[i][4] - lastCores[i][3] - lastCores[i][4];
                result[i] = total <= 0 ? 0 : 100.0 * (total - idle) / total;
            }
        }

        lastCores = cores;
        return result;
    }
}
