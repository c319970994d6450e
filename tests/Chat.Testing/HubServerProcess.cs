using System.Diagnostics;
using System.Text;

namespace Chat.Testing;

/// <summary>
/// The real server as a separate process (<c>dotnet Chat.Hub.dll</c>), for tests that need several nodes, a real
/// process kill or a restart. The calling test assembly must reference Chat.Hub so that the dll sits beside it.
/// </summary>
public sealed class HubServerProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string?> environment;
    private readonly StringBuilder output = new();
    private Process? process;
    private bool killOnExit;

    public HubServerProcess(IDictionary<string, string?> environment, int? port = null)
    {
        this.environment = new Dictionary<string, string?>(environment);
        Port = port ?? NativeProcess.FreePort();
    }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    public async Task StartAsync()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Chat.Hub.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(BaseAddress.ToString().TrimEnd('/'));
        start.ArgumentList.Add("--contentRoot");
        start.ArgumentList.Add(AppContext.BaseDirectory);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        start.Environment["DOTNET_gcServer"] = "0";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        process?.Dispose(); // started again after a stop or a kill: the same port, a new process
        process = Process.Start(start) ?? throw new InvalidOperationException("could not start Chat.Hub");
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!killOnExit)
        {
            killOnExit = true;
            AppDomain.CurrentDomain.ProcessExit += (_, _) => KillQuietly();
        }

        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var until = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < until)
        {
            if (process.HasExited)
            {
                // Exited, but its last output may still be on its way to the handlers: waited for (to the streams' end),
                // or the reason it gave can be missing (it was once: "exited with 134: " and nothing more).
                await process.WaitForExitAsync();
                throw new InvalidOperationException($"Chat.Hub exited with {process.ExitCode}: {Output}");
            }

            try
            {
                if ((await http.GetAsync("/health/live")).IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"Chat.Hub did not become live: {Output}");
    }

    /// <summary>SIGKILL: no graceful shutdown, as a crashed or powered-off node.</summary>
    public async Task KillAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// SIGTERM, as a deploy or <c>systemctl stop</c> does: the server shuts down gracefully (closes its hub connections
    /// and its Janus sessions); killed if it is not gone within 30 s.
    /// </summary>
    public async Task StopAsync()
    {
        if (process is not { HasExited: false })
        {
            return;
        }

        await NativeProcess.RunAsync("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            await KillAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process?.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            if (output.Length < 1_000_000)
            {
                output.AppendLine(line);
            }
        }
    }

    private void KillQuietly()
    {
        try
        {
            if (process is { HasExited: false })
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }
}
