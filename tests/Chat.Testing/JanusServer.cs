using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Chat.Testing;

/// <summary>
/// A private Janus (VideoRoom + WebSocket transport only) on a free loopback port, with its config in a temp folder.
/// Media is not exercised here (Janus refuses loopback ICE outside a namespace); signaling is. Its Admin API listens on
/// a second loopback port (<see cref="AdminHandlesAsync"/>), so tests can see which handles Janus holds. Stops on dispose.
/// </summary>
public sealed class JanusServer : IAsyncDisposable
{
    private const string LibDir = "/usr/lib/x86_64-linux-gnu/janus";
    private readonly string dir;
    private readonly int port;
    private readonly int adminPort;
    private readonly string adminSecret;
    private Process process;

    private JanusServer(Process process, string dir, int port, int adminPort, string adminSecret)
    {
        this.process = process;
        this.dir = dir;
        this.port = port;
        this.adminPort = adminPort;
        this.adminSecret = adminSecret;
        Url = $"ws://127.0.0.1:{port}/";
    }

    public string Url { get; }

    /// <summary>Every handle Janus holds now, of every session, as its Admin API lists them.</summary>
    public Task<IReadOnlyList<JanusHandleInfo>> AdminHandlesAsync() =>
        JanusAdmin.HandlesAsync(new Uri($"ws://127.0.0.1:{adminPort}/"), adminSecret);

    /// <summary>The Janus process id (to read its CPU time from /proc in measurements).</summary>
    public int ProcessId => process.Id;

    /// <summary>CPU seconds (user + system) Janus has used so far, from /proc/&lt;pid&gt;/stat (Linux, 100 ticks a second).</summary>
    public double CpuSeconds()
    {
        var stat = File.ReadAllText($"/proc/{process.Id}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // Fields 14 and 15 of stat (utime, stime) are 11 and 12 here, counting from the state field (3).
        return (long.Parse(fields[11], System.Globalization.CultureInfo.InvariantCulture) + long.Parse(fields[12], System.Globalization.CultureInfo.InvariantCulture)) / 100.0;
    }

    public static bool Available => File.Exists("/usr/bin/janus") && File.Exists($"{LibDir}/plugins/libjanus_videoroom.so");

    public static async Task<JanusServer> StartAsync()
    {
        var dir = Directory.CreateTempSubdirectory("chat-janus-").FullName;
        var port = FreePort();
        var adminPort = FreePort();
        while (adminPort == port)
        {
            adminPort = FreePort();
        }

        var adminSecret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        Directory.CreateDirectory(Path.Combine(dir, "plugins"));
        Directory.CreateDirectory(Path.Combine(dir, "transports"));
        File.CreateSymbolicLink(Path.Combine(dir, "plugins", "libjanus_videoroom.so"), $"{LibDir}/plugins/libjanus_videoroom.so");
        File.CreateSymbolicLink(Path.Combine(dir, "transports", "libjanus_websockets.so"), $"{LibDir}/transports/libjanus_websockets.so");
        await File.WriteAllTextAsync(Path.Combine(dir, "janus.jcfg"), $$"""
            general: { configs_folder = "{{dir}}", plugins_folder = "{{dir}}/plugins", transports_folder = "{{dir}}/transports",
                       events_folder = "{{dir}}/events", loggers_folder = "{{dir}}/loggers", debug_level = 4, session_timeout = 60,
                       admin_secret = "{{adminSecret}}" }
            media: { rtp_port_range = "20000-20999" }
            nat: { full_trickle = false, ignore_mdns = true, ice_enforce_list = "127.0.0.1" }
            """);
        await File.WriteAllTextAsync(Path.Combine(dir, "janus.transport.websockets.jcfg"),
            $$"""general: { ws = true, ws_port = {{port}}, ws_ip = "127.0.0.1", wss = false }""" + "\n"
            + $$"""admin: { admin_ws = true, admin_ws_port = {{adminPort}}, admin_ws_ip = "127.0.0.1", admin_wss = false }""" + "\n");
        await File.WriteAllTextAsync(Path.Combine(dir, "janus.plugin.videoroom.jcfg"), "general: { }\n");
        var server = new JanusServer(Launch(dir), dir, port, adminPort, adminSecret);
        try
        {
            await server.WaitListeningAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills Janus and starts it again on the same port with the same configuration (a crash and a service restart).</summary>
    public async Task RestartAsync()
    {
        await KillAsync();
        process.Dispose();
        process = Launch(dir);
        await WaitListeningAsync();
    }

    /// <summary>Starts Janus again after <see cref="KillAsync"/>.</summary>
    public async Task StartAgainAsync()
    {
        if (!process.HasExited)
        {
            return;
        }

        process.Dispose();
        process = Launch(dir);
        await WaitListeningAsync();
    }

    private static Process Launch(string dir)
    {
        var psi = new ProcessStartInfo("/usr/bin/janus")
        {
            ArgumentList = { "-F", dir, "-C", Path.Combine(dir, "janus.jcfg"), "-L", Path.Combine(dir, "janus.log"), "-N", "-o" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private async Task WaitListeningAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        foreach (var p in new[] { port, adminPort })
        {
            while (true)
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException("Janus exited: " + Log);
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException("Janus did not listen in 10 s");
                }

                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync(IPAddress.Loopback, p);
                    break;
                }
                catch (SocketException)
                {
                    await Task.Delay(50);
                }
            }
        }
    }

    public string Log => File.Exists(Path.Combine(dir, "janus.log")) ? File.ReadAllText(Path.Combine(dir, "janus.log")) : "";

    /// <summary>Stops Janus without closing anything (SIGSTOP): a hung Janus, its connections open and unanswered.</summary>
    public Task FreezeAsync() => SignalAsync("-STOP");

    /// <summary>Lets a frozen Janus go on (SIGCONT).</summary>
    public Task ThawAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    /// <summary>Kills Janus at once (a crash, as far as clients can tell).</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process.Dispose();
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
