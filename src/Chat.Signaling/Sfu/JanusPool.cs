using System.Security.Cryptography;

namespace Chat.Signaling.Sfu;

/// <summary>Janus settings (section Calls:Janus): the WebSocket URLs of every instance, e.g. ws://127.0.0.1:8188/.</summary>
public sealed class JanusOptions
{
    public string[] Urls { get; set; } = [];

    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(25);
}

/// <summary>
/// Every configured Janus instance with one live session each. A new call goes to the instance with the fewest live
/// calls (the counts come from the database, so every node agrees). When an instance's session is lost (Janus
/// restarted), <see cref="InstanceRestarted"/> fires with its URL and the next use reconnects.
/// </summary>
public sealed class JanusPool(JanusOptions options) : IAsyncDisposable
{
    private readonly Dictionary<string, JanusClient> clients = [];
    private readonly SemaphoreSlim gate = new(1, 1);

    public IReadOnlyList<string> Urls => options.Urls;

    public bool Enabled => options.Urls.Length > 0;

    public event Action<string>? InstanceRestarted;

    /// <summary>The instance for a new call: the one with the fewest live calls, the first listed on ties.</summary>
    public string Place(IReadOnlyDictionary<string, int> liveCalls)
    {
        if (!Enabled)
        {
            throw new JanusException(0, "no Janus instance configured");
        }

        return options.Urls.OrderBy(u => liveCalls.GetValueOrDefault(u)).First(); // OrderBy is stable: ties keep the listed order.
    }

    /// <summary>A connected client for the instance, reconnecting after a loss.</summary>
    public async Task<JanusClient> ClientAsync(string url, CancellationToken ct)
    {
        await gate.WaitAsync(ct);
        try
        {
            if (clients.TryGetValue(url, out var existing) && !existing.IsLost)
            {
                return existing;
            }

            if (existing is not null)
            {
                clients.Remove(url);
                await existing.DisposeAsync();
            }

            var client = await JanusClient.ConnectAsync(new Uri(url), options.KeepAlive, ct);
            client.SessionLost += c => InstanceRestarted?.Invoke(c.Url.OriginalString);
            clients[url] = client;
            return client;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>A random room id and secret for a new call; the secret is also the room's pin and never leaves the server.</summary>
    public static (long Room, string Secret) NewRoom() =>
        (RandomNumberGenerator.GetInt32(1, int.MaxValue) * 1000L + RandomNumberGenerator.GetInt32(0, 1000),
         Convert.ToHexString(RandomNumberGenerator.GetBytes(24)));

    public async ValueTask DisposeAsync()
    {
        foreach (var c in clients.Values)
        {
            await c.DisposeAsync();
        }

        clients.Clear();
        gate.Dispose();
    }
}
