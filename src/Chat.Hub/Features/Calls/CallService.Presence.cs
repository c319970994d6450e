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
    /// <summary>Hub connections of this node that joined a call: connection id → the call and the person.</summary>
    private readonly ConcurrentDictionary<string, (Guid Call, Guid Account)> joinedBy = new();

    /// <summary>
    /// A hub connection of this node closed: if it joined a call, it is forgotten there, and if it was the person's
    /// last, they are gone since now. Not while the node stops: its connections close because it goes, not because
    /// the pages did (they come back to another node or to this one restarted).
    /// </summary>
    public async Task ConnectionClosedAsync(string connectionId)
    {
        if (!joinedBy.TryRemove(connectionId, out var joined) || lifetime?.ApplicationStopping.IsCancellationRequested == true)
        {
            return;
        }

        await RecordCloseAsync(joined.Call, joined.Account, connectionId);
    }

    /// <summary>Remembers the connection a join is made from (before the join, so that a close during it is not missed).</summary>
    private void Joining(string? connectionId, Guid callId, Guid me)
    {
        if (connectionId is not null)
        {
            joinedBy[connectionId] = (callId, me);
        }
    }

    /// <summary>
    /// After a join from <paramref name="connectionId"/>: if the connection closed while the join ran, its close may have
    /// found nothing to forget yet (the join had not committed), so it is recorded again now.
    /// </summary>
    private async Task JoinedAsync(string? connectionId, Guid callId, Guid me, CancellationToken ct)
    {
        if (connectionId is not null && ct.IsCancellationRequested && joinedBy.TryRemove(connectionId, out _))
        {
            await RecordCloseAsync(callId, me, connectionId);
        }
    }

    private async Task RecordCloseAsync(Guid callId, Guid accountId, string connectionId)
    {
        try
        {
            await calls.ConnectionClosedAsync(callId, accountId, connectionId, CancellationToken.None);
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
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // One person's failure does not hold up the others; the next sweep tries again.
                LogSfu(logger, e, callId);
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
        // Not the sweep's token: they are out in the database, the rest (media, pushes, the room) is done even if the node stops.
        await LeftAsync(dto, accountId, feeds, CancellationToken.None);
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
