using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Chat.LoadTests.Hosting;

/// <summary>
/// A process the harness starts (a server node, the floor, the seed command). Every one runs under
/// <c>timeout</c>, so it ends by itself even if the harness is killed, and optionally under <c>taskset</c> to pin it
/// to one core. Output goes to a log file. All of them are killed when the harness exits.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<ChildProcess, bool> Live = new();

    private readonly Process process;
    private readonly StreamWriter log;
    private readonly Task pumps;

    static ChildProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
        Console.CancelKeyPress += (_, _) => KillAll();
    }

    private ChildProcess(Process process, StreamWriter log, string name)
    {
        this.process = process;
        this.log = log;
        Name = name;
        pumps = Task.WhenAll(PumpAsync(process.StandardOutput), PumpAsync(process.StandardError));
    }

    public string Name { get; }

    /// <summary>The pid of the program itself (not of the <c>timeout</c> wrapper): the one to sample.</summary>
    public int Pid { get; private set; }

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    public static async Task<ChildProcess> StartAsync(
        string name, string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, string logPath, int? core, TimeSpan maxLifetime)
    {
        var start = new ProcessStartInfo("timeout")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--kill-after=10s");
        start.ArgumentList.Add(((int)Math.Ceiling(maxLifetime.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s");
        start.ArgumentList.Add("sh");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Watchdog(Environment.ProcessId));
        start.ArgumentList.Add("sh");
        if (core is { } c)
        {
            start.ArgumentList.Add("taskset");
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(c.ToString(CultureInfo.InvariantCulture));
        }

        start.ArgumentList.Add(file);
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(logPath))!);
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + file);
        var child = new ChildProcess(process, log, name);
        Live[child] = true;
        child.Pid = await FindProgramPidAsync(process.Id);
        return child;
    }

    /// <summary>Runs to completion; throws with the end of its log when it fails.</summary>
    public static async Task RunToEndAsync(string name, string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, string logPath, TimeSpan timeout)
    {
        await using var child = await StartAsync(name, file, arguments, environment, logPath, null, timeout);
        await child.process.WaitForExitAsync();
        await child.pumps;
        if (child.process.ExitCode != 0)
        {
            var tail = string.Join('\n', File.ReadLines(logPath).TakeLast(20));
            throw new InvalidOperationException($"{name} failed with exit code {child.process.ExitCode}:\n{tail}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(15));
            await pumps.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // killed; the pipes may linger a moment
        }

        Live.TryRemove(this, out _);
        await log.DisposeAsync();
        process.Dispose();
    }

    public void Kill()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // already gone
        }
    }

    private static void KillAll()
    {
        foreach (var child in Live.Keys)
        {
            child.Kill();
        }
    }

    private async Task PumpAsync(StreamReader reader)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (log)
            {
                log.WriteLine(line);
            }
        }
    }

    /// <summary>
    /// A shell that runs the program in the background and kills it when the harness (<paramref name="parent"/>) is gone,
    /// checking every second; it exits with the program's exit code.
    /// </summary>
    public static string Watchdog(int parent) =>
        $"\"$@\" & c=$!; while kill -0 $c 2>/dev/null; do if ! kill -0 {parent} 2>/dev/null; then kill $c; sleep 3; kill -9 $c 2>/dev/null; exit 1; fi; sleep 1; done; wait $c";

    /// <summary>timeout → sh (the watchdog) → the program (taskset execs it): wait for the program to appear.</summary>
    private static async Task<int> FindProgramPidAsync(int wrapperPid)
    {
        for (var i = 0; i < 300; i++)
        {
            var shells = new List<int>();
            var stats = Directory.EnumerateDirectories("/proc")
                .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? ProcStat.Read(pid) : null)
                .OfType<ProcStat>()
                .ToList();
            shells.AddRange(stats.Where(s => s.ParentPid == wrapperPid).Select(s => s.Pid));
            var program = stats.FirstOrDefault(s => shells.Contains(s.ParentPid) && s.Command is not ("taskset" or "sleep" or "sh" or "timeout"));
            if (program.Pid != 0)
            {
                return program.Pid;
            }

            await Task.Delay(10);
        }

        return wrapperPid;
    }
}
