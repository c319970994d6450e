using System.Collections.Concurrent;
using Chat.Hub.Infrastructure;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Features.Calls;

/// <summary>Pages that vanished from a call (<c>Calls:Presence</c>).</summary>
public sealed class CallPresenceOptions
{
    /// <summary>
    /// How long after the hub connection that joined a call closed the person is taken out of it, unless a connection
    /// of theirs joins again meanwhile. The call page reconnects every 1, 2, 4 … at most 10 s, so a minute rides out
    /// a tunnel or a router's restart.
    /// </summary>
    public TimeSpan GoneAfter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often every node looks for participants gone longer than <see cref="GoneAfter"/>.</summary>
    public TimeSpan Poll { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// A participant whose page vanished — the tab closed without «Выйти», the phone died, the network went for good —
/// leaves the call by itself: the hub connection that joined is remembered (in the participant row, and here, per
/// node, for its close); when it closes, the person is gone since then; if no connection of theirs joins again within
/// <see cref="CallPresenceOptions.GoneAfter"/>, any node's sweep takes them out as if they had hung up (their tile
/// goes, the chat is told, the call ends with its last person), and their attendance ends when the connection closed.
/// </summary>
public sealed partial class CallService
{
    /// <summary>Hub connections of this node that joined a call: connection id → call.</summary>
    private readonly ConcurrentDictionary<string, Guid> joinedBy = new();

    /// <summary>A hub connection of this node closed: if it joined a call, whoever it joined for is gone since now.</summary>
    public async Task ConnectionClosedAsync(string connectionId)
    {
        if (!joinedBy.TryRemove(connectionId, out var callId))
        {
            return;
        }

        try
        {
            await calls.ConnectionClosedAsync(callId, connectionId, CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The database is away: the person stays in the call until they leave or it ends (as before this existed).
            LogSfu(logger, e, callId);
        }
    }

    /// <summary>At most this many people are taken out per batch of a sweep.</summary>
    internal const int SweepBatch = 100;

    /// <summary>Takes out everyone gone longer than <paramref name="goneAfter"/> (one batch); returns how many were found.</summary>
    internal async Task<int> SweepGoneAsync(TimeSpan goneAfter, CancellationToken ct)
    {
        var gone = await calls.GoneAsync(goneAfter, SweepBatch, ct);
        foreach (var (callId, accountId) in gone)
        {
            try
            {
                await TakeOutGoneAsync(callId, accountId, goneAfter, ct);
            }
            catch (ChatException)
            {
                // The call ended meanwhile.
            }
        }

        return gone.Count;
    }

    /// <summary>
    /// Takes the person out if, under the call's lock, they are still gone (another node's sweep, or their own rejoin,
    /// may have come first). Returns whether this call did it.
    /// </summary>
    private async Task<bool> TakeOutGoneAsync(Guid callId, Guid accountId, TimeSpan goneAfter, CancellationToken ct)
    {
        (long? Camera, long? Screen) feeds = default;
        var dto = await MutateIfAsync(callId, s => calls.IsGoneAsync(s, callId, accountId, goneAfter, ct), state =>
        {
            feeds = FeedsOf(state, accountId);
            return state.Leave(accountId);
        }, ct);
        if (dto is null)
        {
            return false;
        }

        LogGone(logger, callId, accountId);
        await LeftAsync(dto, accountId, feeds, ct);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Call {CallId}: {AccountId} left with their page (its connection closed and did not come back)")]
    private static partial void LogGone(ILogger logger, Guid callId, Guid accountId);
}

/// <summary>Runs on every node: takes out of calls the participants whose page vanished (<see cref="CallService.SweepGoneAsync"/>).</summary>
internal sealed class CallPresenceSweeper(CallService calls, IOptions<CallPresenceOptions> options, ILogger<CallPresenceSweeper> logger) : PeriodicJob(logger)
{
    protected override TimeSpan Interval => options.Value.Poll;

    protected override async Task TickAsync(CancellationToken ct)
    {
        // A full batch: there may be more (a broadcast's audience closing their tabs at the end), but a tick never
        // loops for long.
        for (var i = 0; i < 10 && await calls.SweepGoneAsync(options.Value.GoneAfter, ct) == CallService.SweepBatch; i++)
        {
        }
    }
}
