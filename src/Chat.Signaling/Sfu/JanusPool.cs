using System.Security.Cryptography;

namespace Chat.Signaling.Sfu;

/// <summary>Janus settings (section Calls:Janus): the WebSocket URLs of every instance, e.g. ws://127.0.0.1:8188/.</summary>
public sealed class JanusOptions
{
    public string[] Urls { get; set; } = [];

    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>
    /// How long a connect to an instance (TCP, the WebSocket handshake and the session's creation) may take before it
    /// counts as failed: a machine that is down but not refusing (no RST) would otherwise hold it for minutes.
    /// </summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// An instance whose connect failed (or whose session was lost) gets no new rooms for this long while another
    /// instance is not known to be down; then one placement goes to it as a probe.
    /// </summary>
    public TimeSpan RetryFailedAfter { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>
/// Every configured Janus instance with one live session each. A new call goes to the instance with the fewest live
/// calls (the counts come from the database, so every node agrees) among those not known to be down: an instance whose
/// connect failed or whose session was lost is left out for <see cref="JanusOptions.RetryFailedAfter"/>, then gets one
/// placement as a probe (a connect that works brings it back at once); when every instance is down, all are candidates
/// again. When an instance's session is lost (Janus restarted), <see cref="InstanceRestarted"/> fires with its URL and
/// the next use reconnects. Connects are one at a time per instance (whoever asks meanwhile waits for that one), each
/// bounded by <see cref="JanusOptions.ConnectTimeout"/>, and never wait for another instance's.
/// </summary>
public sealed class JanusPool(JanusOptions options) : IAsyncDisposable
{
    private readonly object sync = new();
    private readonly Dictionary<string, Task<JanusClient>> clients = []; // connected, or connecting
    private readonly Dictionary<string, long> failedAt = []; // instance -> when (Environment.TickCount64) its last connect failed, its session was lost or a probe went to it
    private readonly CancellationTokenSource disposing = new();

    public IReadOnlyList<string> Urls => options.Urls;

    public bool Enabled => options.Urls.Length > 0;

    public event Action<string>? InstanceRestarted;

    /// <summary>
    /// The instance for a new call: of those not known to be down, the one with the fewest live calls, the first listed
    /// on ties. An instance down for <see cref="JanusOptions.RetryFailedAfter"/> or longer is a candidate again (and is
    /// then left out for another such while, unless its connect works); with every instance down, all are.
    /// </summary>
    public string Place(IReadOnlyDictionary<string, int> liveCalls)
    {
        if (!Enabled)
        {
            throw new JanusException(0, "no Janus instance configured");
        }

        lock (sync)
        {
            var now = Environment.TickCount64;
            var up = options.Urls.Where(u => !failedAt.TryGetValue(u, out var at) || now - at >= (long)options.RetryFailedAfter.TotalMilliseconds).ToList();
            var chosen = (up.Count > 0 ? up : [.. options.Urls]).OrderBy(u => liveCalls.GetValueOrDefault(u)).First(); // OrderBy is stable: ties keep the listed order.
            if (up.Count > 0 && failedAt.ContainsKey(chosen))
            {
                failedAt[chosen] = now; // a probe: one placement now, the next after another while unless it connects
            }

            return chosen;
        }
    }

    /// <summary>A connected client for the instance, reconnecting after a loss.</summary>
    public async Task<JanusClient> ClientAsync(string url, CancellationToken ct)
    {
        Task<JanusClient> connecting;
        JanusClient? lost = null;
        lock (sync)
        {
            ObjectDisposedException.ThrowIf(disposing.IsCancellationRequested, this);
            if (!clients.TryGetValue(url, out var known) || known.IsFaulted || known.IsCanceled
                || (known.IsCompletedSuccessfully && known.Result.IsLost))
            {
                lost = known is { IsCompletedSuccessfully: true } ? known.Result : null;
                known = ConnectAsync(url);
                clients[url] = known;
            }

            connecting = known;
        }

        if (lost is not null)
        {
            await lost.DisposeAsync();
        }

        return await connecting.WaitAsync(ct);
    }

    private async Task<JanusClient> ConnectAsync(string url)
    {
        await Task.Yield(); // not under the caller's lock
        try
        {
            var client = await JanusClient.ConnectAsync(new Uri(url), options.KeepAlive, disposing.Token, options.ConnectTimeout);
            client.SessionLost += c =>
            {
                Failed(url);
                InstanceRestarted?.Invoke(c.Url.OriginalString);
            };
            lock (sync)
            {
                failedAt.Remove(url);
            }

            return client;
        }
        catch (Exception) when (!disposing.IsCancellationRequested)
        {
            Failed(url);
            throw;
        }
    }

    private void Failed(string url)
    {
        lock (sync)
        {
            failedAt[url] = Environment.TickCount64;
        }
    }

    /// <summary>A random room id and secret for a new call; the secret is also the room's pin and never leaves the server.</summary>
    public static (long Room, string Secret) NewRoom() =>
        (RandomNumberGenerator.GetInt32(1, int.MaxValue) * 1000L + RandomNumberGenerator.GetInt32(0, 1000),
         Convert.ToHexString(RandomNumberGenerator.GetBytes(24)));

    public async ValueTask DisposeAsync()
    {
        List<Task<JanusClient>> all;
        lock (sync)
        {
            if (disposing.IsCancellationRequested)
            {
                return;
            }

            disposing.Cancel();
            all = [.. clients.Values];
            clients.Clear();
        }

        foreach (var t in all)
        {
            await ((Task)t).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (t.IsCompletedSuccessfully)
            {
                await t.Result.DisposeAsync();
            }
        }

        disposing.Dispose();
    }
}
