using System.Diagnostics;
using System.Runtime.InteropServices;
using Npgsql;

namespace Chat.LoadTests.Reporting;

/// <summary>What the report says about where it ran: machine, OS, runtime, git commit, database settings.</summary>
public static class MachineInfo
{
    public static Dictionary<string, string> Describe(RunOptions options)
    {
        var info = new Dictionary<string, string>(StringComparer.Ordinal);
        var cpuinfo = Lines("/proc/cpuinfo");
        info["cpu"] = cpuinfo.FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
        info["cores"] = cpuinfo.Count(l => l.StartsWith("processor", StringComparison.Ordinal)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var memory = Lines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal", StringComparison.Ordinal));
        if (memory is not null && long.TryParse(memory.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], out var kb))
        {
            info["memory"] = $"{kb / 1048576.0:F1} GiB";
        }

        info["os"] = (Lines("/etc/os-release").FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal)) ?? "?")["PRETTY_NAME=".Length..].Trim('"')
            + ", kernel " + (Lines("/proc/sys/kernel/osrelease").FirstOrDefault() ?? "?");
        info[".NET"] = RuntimeInformation.FrameworkDescription;
        info["load generator affinity"] = Affinity();
        info["load generator GC"] = System.Runtime.GCSettings.IsServerGC ? "server" : "workstation";
        info["git commit"] = Git("rev-parse HEAD") + (string.IsNullOrWhiteSpace(Git("status --porcelain --untracked-files=no")) ? "" : " (with uncommitted changes)");
        info["git branch"] = Git("rev-parse --abbrev-ref HEAD");
        if (!string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            info["PostgreSQL"] = PostgresSettings(options.ConnectionString);
        }

        return info;
    }

    /// <summary>
    /// Milliseconds one thread of the load generator needs for a fixed integer loop: the same on a quiet machine from run
    /// to run. This development machine is a virtual one whose cores slow down when the host is busy (the loop's time
    /// varied 1.4–2.6× within minutes, no process of ours running), which the CPU columns of the report cannot show:
    /// they count our processes' time, not how much work a second of it does. Compare runs only at similar probes.
    /// </summary>
    public static double SpeedProbeMs()
    {
        var clock = Stopwatch.StartNew();
        ulong x = 88172645463325252UL, sum = 0;
        for (var i = 0; i < 100_000_000; i++)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            sum += x;
        }

        GC.KeepAlive(sum);
        return clock.Elapsed.TotalMilliseconds;
    }

    public static string Affinity() =>
        Lines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Cpus_allowed_list", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() is { } cores
            ? "cores " + cores
            : "?";

    private static string[] Lines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static string Git(string arguments)
    {
        try
        {
            var start = new ProcessStartInfo("git", arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var git = Process.Start(start);
            if (git is null)
            {
                return "?";
            }

            var output = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit(10_000);
            return git.ExitCode == 0 ? output : "?";
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return "?";
        }
    }

    private static string PostgresSettings(string connectionString)
    {
        try
        {
            using var connection = new NpgsqlConnection(connectionString);
            connection.Open();
            using var command = new NpgsqlCommand(
                "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings "
                + "WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_connections')",
                connection);
            return command.ExecuteScalar() as string ?? "?";
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or ArgumentException)
        {
            return "? (" + e.Message + ")";
        }
    }
}
