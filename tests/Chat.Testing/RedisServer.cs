namespace Chat.Testing;

/// <summary>
/// A private Redis (no persistence) on a free loopback port, started from the installed <c>redis-server</c>.
/// Each fixture that needs Redis starts its own, so one test can stop and restart it without touching others.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string directory;

    private RedisServer(int port, string directory)
    {
        Port = port;
        this.directory = directory;
    }

    public int Port { get; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public bool IsRunning { get; private set; }

    public static async Task<RedisServer> StartAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "chat-tests-redis-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        var server = new RedisServer(NativeProcess.FreePort(), dir);
        await server.StartAgainAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.StopQuietly();
        return server;
    }

    public async Task StartAgainAsync()
    {
        var binary = FindBinary() ?? throw new InvalidOperationException("redis-server is not installed. Run ./test.sh (it installs it) or apt-get install redis-server.");
        await NativeProcess.RunAsync(binary,
        [
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "yes", "--pidfile", Path.Combine(directory, "redis.pid"), "--logfile", Path.Combine(directory, "redis.log"), "--dir", directory,
        ]);
        for (var i = 0; i < 100 && !await PingAsync(); i++)
        {
            await Task.Delay(50);
        }

        IsRunning = true;
    }

    /// <summary>Stops Redis the hard way (SIGKILL), as a crash or a network cut would look to the nodes.</summary>
    public async Task KillAsync()
    {
        var pidFile = Path.Combine(directory, "redis.pid");
        if (File.Exists(pidFile) && int.TryParse((await File.ReadAllTextAsync(pidFile)).Trim(), out var pid))
        {
            try
            {
                using var process = System.Diagnostics.Process.GetProcessById(pid);
                process.Kill();
                await process.WaitForExitAsync();
            }
            catch (ArgumentException)
            {
                // Already gone.
            }

            File.Delete(pidFile);
        }

        IsRunning = false;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private void StopQuietly()
    {
        try
        {
            KillAsync().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            // Best effort at exit.
        }
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var client = new System.Net.Sockets.TcpClient();
            await client.ConnectAsync("127.0.0.1", Port);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray());
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer);
            return read > 0 && buffer[0] == (byte)'+';
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static string? FindBinary() =>
        new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);
}
