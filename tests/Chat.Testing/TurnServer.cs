using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Chat.Testing;

/// <summary>
/// A private coturn on a free loopback port with a shared secret (TURN REST credentials). Test configuration only:
/// it allows loopback peers, which production must deny. Stops on dispose.
/// </summary>
public sealed class TurnServer : IAsyncDisposable
{
    private readonly Process process;
    private readonly string dir;

    private TurnServer(Process process, string dir, int port, string secret)
    {
        this.process = process;
        this.dir = dir;
        Port = port;
        Secret = secret;
    }

    public int Port { get; }

    public string Secret { get; }

    public string Url => $"turn:127.0.0.1:{Port}?transport=udp";

    public static bool Available => File.Exists("/usr/bin/turnserver");

    public static async Task<TurnServer> StartAsync()
    {
        var dir = Directory.CreateTempSubdirectory("chat-turn-").FullName;
        int port;
        using (var probe = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0)))
        {
            port = ((IPEndPoint)probe.Client.LocalEndPoint!).Port;
        }

        var secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var conf = Path.Combine(dir, "turnserver.conf");
        await File.WriteAllTextAsync(conf, $"""
            use-auth-secret
            static-auth-secret={secret}
            realm=chat.test
            listening-ip=127.0.0.1
            relay-ip=127.0.0.1
            listening-port={port}
            min-port=40000
            max-port=40999
            allow-loopback-peers
            no-cli
            no-tls
            no-dtls
            log-file={dir}/turn.log
            simple-log

            """);
        var psi = new ProcessStartInfo("/usr/bin/turnserver") { ArgumentList = { "-c", conf, $"--pidfile={dir}/turnserver.pid" }, RedirectStandardOutput = true, RedirectStandardError = true };
        var process = Process.Start(psi)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new TurnServer(process, dir, port, secret);
        // coturn binds within ~100 ms; give it a moment and make sure it did not exit on a config error.
        for (var i = 0; i < 20 && !process.HasExited; i++)
        {
            await Task.Delay(50);
        }

        if (process.HasExited)
        {
            await server.DisposeAsync();
            throw new InvalidOperationException("turnserver exited at start");
        }

        return server;
    }

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process.Dispose();
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
