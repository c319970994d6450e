using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Chat.Testing;

/// <summary>
/// A private Redis for the whole test run: <c>redis-server</c> from PATH on a free port, without persistence
/// (<c>--save '' --appendonly no</c>), under <c>timeout</c> and a watchdog shell so that it ends with the test run
/// however the run ends.
/// </summary>
public sealed class RedisServer
{
    private static readonly Lazy<Task<RedisServer>> Shared = new(StartAsync);

    private readonly Process process;

    private RedisServer(Process process, int port)
    {
        this.process = process;
        Port = port;
    }

    public int Port { get; }

    /// <summary>host:port, as ConnectionStrings:Redis takes it.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    public static Task<RedisServer> GetAsync() => Shared.Value;

    public static string? FindExecutable() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, "redis-server"))
            .FirstOrDefault(File.Exists);

    private static async Task<RedisServer> StartAsync()
    {
        var executable = FindExecutable() ?? throw new InvalidOperationException(
            "redis-server is not installed. Run ./test.sh (it installs it), or apt-get install redis-server.");
        var dir = Path.Combine(Path.GetTempPath(), $"chat-tests-redis-{Environment.ProcessId}-{Guid.NewGuid():N}"[..50]);
        Directory.CreateDirectory(dir);
        var port = NativeProcess.FreePort();
        var start = new ProcessStartInfo("timeout")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        // The watchdog shell stops Redis within a second of this process going away, however it goes.
        var parent = Environment.ProcessId;
        var watchdog = $"\"$@\" & c=$!; while kill -0 $c 2>/dev/null; do if ! kill -0 {parent} 2>/dev/null; then kill $c; exit 0; fi; sleep 1; done; wait $c";
        foreach (var a in new[] { "--kill-after=5s", "3h", "sh", "-c", watchdog, "sh", executable, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                     "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", dir, "--logfile", Path.Combine(dir, "redis.log") })
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start redis-server");
        var server = new RedisServer(process, port);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                    process.WaitForExit(5000);
                }

                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException or System.ComponentModel.Win32Exception)
            {
                // Best effort at exit.
            }
        };

        var until = DateTime.UtcNow.AddSeconds(15);
        while (DateTime.UtcNow < until)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode}: {await process.StandardError.ReadToEndAsync()}");
            }

            if (await PingAsync(port))
            {
                return server;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"redis-server did not answer PING on port {port} within 15 s");
    }

    private static async Task<bool> PingAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
