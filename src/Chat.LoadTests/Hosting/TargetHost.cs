using System.Globalization;
using System.Security.Cryptography;
using Chat.LoadTests.Floor;
using Microsoft.AspNetCore.Builder;

namespace Chat.LoadTests.Hosting;

/// <summary>One thing under test, started for one phase of a run: the floor, or the chat server on one or two nodes.</summary>
public sealed class TargetHost : IAsyncDisposable
{
    private readonly List<ChildProcess> children = [];
    private WebApplication? inProcessFloor;

    private TargetHost(TargetKind kind) => Kind = kind;

    public TargetKind Kind { get; }

    public List<int> Ports { get; } = [];

    public int Nodes => Math.Max(1, Ports.Count);

    /// <summary>The processes whose CPU and memory are "the server" (empty for an in-process floor).</summary>
    public IReadOnlyList<int> Pids => [.. children.Select(c => c.Pid), .. ExternalPids];

    public List<int> ExternalPids { get; } = [];

    public Uri? ExternalBase { get; private set; }

    internal Uri HubUri(Member member)
    {
        if (Kind == TargetKind.Floor)
        {
            var chats = string.Join(',', member.Groups.Select(g => g.ToString("N")));
            return new Uri($"ws://127.0.0.1:{Ports[0]}{FloorServer.HubPath}?chats={chats}&uid={member.Person.AccountId:N}");
        }

        var token = Uri.EscapeDataString(member.Person.Token);
        if (ExternalBase is { } external)
        {
            var ws = new UriBuilder(external) { Scheme = external.Scheme == "https" ? "wss" : "ws", Path = "/hubs/chat", Query = "access_token=" + token };
            return ws.Uri;
        }

        return new Uri($"ws://127.0.0.1:{Ports[member.Node % Ports.Count]}/hubs/chat?access_token={token}");
    }

    public static async Task<TargetHost> StartFloorAsync(RunOptions options, string folder, TimeSpan maxLifetime)
    {
        var host = new TargetHost(TargetKind.Floor);
        var port = FreePort();
        host.Ports.Add(port);
        if (options.FloorInProcess)
        {
            host.inProcessFloor = FloorServer.Build(port);
            await host.inProcessFloor.StartAsync();
            return host;
        }

        var self = typeof(TargetHost).Assembly.Location;
        var child = await ChildProcess.StartAsync("floor", "dotnet",
            [self, "floor", "--port", port.ToString(CultureInfo.InvariantCulture), "--seconds", ((int)maxLifetime.TotalSeconds).ToString(CultureInfo.InvariantCulture)],
            // The chat server's runtime settings, so that memory and latency compare like with like.
            new Dictionary<string, string>(NodeRuntime) { ["DOTNET_NOLOGO"] = "1" }, Path.Combine(folder, "floor.log"), options.Pin ? options.ServerCore : null, maxLifetime + TimeSpan.FromSeconds(30));
        host.children.Add(child);
        await WaitReadyAsync(new Uri($"http://127.0.0.1:{port}/health"), child);
        return host;
    }

    public static async Task<TargetHost> StartServerAsync(RunOptions options, string folder, string signingKey, int nodes, TimeSpan maxLifetime)
    {
        var kind = nodes > 1 ? TargetKind.ServerTwoNodes : TargetKind.Server;
        var host = new TargetHost(kind);
        if (options.ExternalServer is { } external)
        {
            host.ExternalBase = external;
            host.Ports.Add(external.Port);
            if (options.ExternalServerPid is { } pid)
            {
                host.ExternalPids.Add(pid);
            }

            return host;
        }

        var hub = options.HubDll ?? throw new InvalidOperationException("--hub-dll is needed to start the server");
        var connection = options.ConnectionString ?? throw new InvalidOperationException("--db is needed to start the server");
        if (nodes > 1 && string.IsNullOrWhiteSpace(options.Redis))
        {
            throw new InvalidOperationException("--redis is needed for two nodes");
        }

        try
        {
            for (var node = 0; node < nodes; node++)
            {
                var port = FreePort();
                host.Ports.Add(port);
                var environment = ServerEnvironment(options, signingKey);
                if (nodes > 1)
                {
                    environment["ConnectionStrings__Redis"] = options.Redis!;
                }

                var child = await ChildProcess.StartAsync($"server node {node + 1}", "dotnet",
                    [hub, "--urls", $"http://127.0.0.1:{port}", "--contentRoot", Path.GetDirectoryName(Path.GetFullPath(hub))!], environment,
                    Path.Combine(folder, $"server-{(nodes > 1 ? "2n-" : "")}node{node + 1}.log"), options.Pin ? options.ServerCore : null, maxLifetime);
                host.children.Add(child);
                await WaitReadyAsync(new Uri($"http://127.0.0.1:{port}/health/ready"), child);
            }
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        return host;
    }

    /// <summary>
    /// The runtime settings of every node the harness starts, the floor's and the server's alike (docs/performance.md,
    /// "Runtime"): server GC (an ASP.NET Core app's default), a 128 MiB gen0 budget (as <c>run.sh</c> and the
    /// deployment notes set it; the GC reads it from the environment only) and no dynamic PGO (the server's project sets
    /// <c>TieredPGO</c> off; the floor gets it here).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> NodeRuntime = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["DOTNET_gcServer"] = "1",
        ["DOTNET_GCgen0size"] = "0x8000000",
        ["DOTNET_TieredPGO"] = "0",
    };

    /// <summary>The environment of a started server node (and of the seed command): database, key, limits.</summary>
    public static Dictionary<string, string> ServerEnvironment(RunOptions options, string signingKey)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ConnectionStrings__Chat"] = options.ConnectionString ?? "",
            ["Auth__SigningKey"] = signingKey,
            ["ASPNETCORE_ENVIRONMENT"] = options.AspNetCoreEnvironment,
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
        };
        foreach (var (key, value) in NodeRuntime)
        {
            environment[key] = value;
        }

        foreach (var (key, value) in options.ServerEnvironment)
        {
            environment[key] = value;
        }

        return environment;
    }

    public static string NewSigningKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public async ValueTask DisposeAsync()
    {
        foreach (var child in children)
        {
            await child.DisposeAsync();
        }

        children.Clear();
        if (inProcessFloor is not null)
        {
            await inProcessFloor.StopAsync();
            await inProcessFloor.DisposeAsync();
            inProcessFloor = null;
        }
    }

    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitReadyAsync(Uri health, ChildProcess child)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var until = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < until)
        {
            if (child.HasExited)
            {
                throw new InvalidOperationException($"{child.Name} exited with code {child.ExitCode} before it was ready (see its log)");
            }

            try
            {
                using var response = await http.GetAsync(health);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{child.Name} was not ready at {health} within 90 s");
    }
}
