using System.Collections.Concurrent;
using System.Diagnostics;
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

    /// <summary>How often every node looks for participants gone longer than <see cref="GoneAfter"/> (and says it is alive).</summary>
    public TimeSpan Poll { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A node not seen for this long is dead (killed, frozen, its machine gone): the other nodes forget its hub
    /// connections in calls, as if they had closed when it was last seen. Several polls, so that a slow tick is not death.
    /// </summary>
    public TimeSpan NodeDeadAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often a node checks that the people whose Janus handles it holds are still in their calls through it, and
    /// detaches the handles of those who are not, or who rejoined through another node (the fallback for a drop lost on
    /// its way; the drop itself is immediate).
    /// </summary>
    public TimeSpan HandleCheck { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a node says it is alive: every <see cref="Poll"/>, at most a third of <see cref="NodeDeadAfter"/>.</summary>
    public TimeSpan Heartbeat => Poll < NodeDeadAfter / 3 ? Poll : NodeDeadAfter / 3;
}

/// <summary>
/// Checked when the node starts (it does not start with them wrong): a non-positive period would make a job run
/// every <see cref="PeriodicJob.MinimumInterval"/> against the database or take people out at once, and a
/// <c>NodeDeadAfter</c> that leaves no room for three heartbeats would make live nodes look dead to the others.
/// </summary>
internal sealed class CallPresenceOptionsCheck : IValidateOptions<CallPresenceOptions>
{
    public ValidateOptionsResult Validate(string? name, CallPresenceOptions options)
    {
        var problems = new SettingProblems("Calls:Presence");
        problems.Positive(options.GoneAfter);
        problems.Positive(options.Poll);
        problems.Positive(options.HandleCheck);
        var beat = options.Heartbeat > PeriodicJob.MinimumInterval ? options.Heartbeat : PeriodicJob.MinimumInterval;
        if (options.NodeDeadAfter < 3 * beat)
        {
            problems.Add(FormattableString.Invariant(
                $"Calls:Presence:NodeDeadAfter ({options.NodeDeadAfter}) must be at least three node heartbeats ({3 * beat}; a node says it is alive every Calls:Presence:Poll, at most a third of NodeDeadAfter, at least {PeriodicJob.MinimumInterval} apart): otherwise live nodes look dead to the others"));
        }

        return problems.Result;
    }
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

    /// <summary>This node's name in <c>hub_nodes</c> and in the connection entries of call participants.</summary>
    internal string NodeName => nodeId.ToString("N");

    /// <summary>How a participant row names a hub connection: its node and its id (<c>node/connection</c>).</summary>
    private string ConnectionEntry(string connectionId) => $"{NodeName}/{connectionId}";

    /// <summary>
    /// This node is alive (at start, then on the heartbeat). If another node had taken it for dead meanwhile (a long
    /// pause, the database out of its reach) and forgot its connections, those still open count again.
    /// </summary>
    internal async Task NodeSeenAsync(CancellationToken ct)
    {
        List<(string Connection, Guid Call, Guid Account)> offered = [];
        var back = await calls.NodeSeenAsync(NodeName, () =>
        {
            offered = joinedBy.Select(j => (j.Key, j.Value.Call, j.Value.Account)).ToList();
            return offered.Select(o => (o.Call, o.Account, ConnectionEntry(o.Connection))).ToList();
        }, ct);
        if (back is not { } count)
        {
            return;
        }

        LogTakenForDead(logger, count);

        // A connection that closed after the list was taken may have recorded its close before it was put back (and
        // found nothing to forget): it is recorded again now, or it would keep its person in the call for good.
        foreach (var (connection, callId, accountId) in offered)
        {
            if (!joinedBy.TryGetValue(connection, out var now) || now != (callId, accountId))
            {
                await RecordCloseAsync(callId, accountId, connection);
            }
        }
    }

    /// <summary>This node stops: the others forget its connections in calls at their next sweep.</summary>
    internal Task NodeStoppedAsync(CancellationToken ct) => calls.NodeStoppedAsync(NodeName, ct);

    /// <summary>
    /// Forgets the call connections of nodes that stopped or died; whoever had no other connection is gone since the
    /// node was last seen (the sweep takes them out after the grace unless they came back to another node meanwhile).
    /// </summary>
    internal async Task ForgetDeadNodesAsync(TimeSpan deadAfter, CancellationToken ct)
    {
        var forgotten = await calls.ForgetDeadNodesAsync(deadAfter, ct);
        if (forgotten > 0)
        {
            LogDeadNodes(logger, forgotten);
        }
    }

    private async Task RecordCloseAsync(Guid callId, Guid accountId, string connectionId)
    {
        try
        {
            await calls.ConnectionClosedAsync(callId, accountId, ConnectionEntry(connectionId), CancellationToken.None);
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
        var dto = await MutateIfAsync(callId, [accountId], s => calls.IsGoneAsync(s, callId, accountId, goneAfter, ct), state =>
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Another node took this one for dead (not seen for Calls:Presence:NodeDeadAfter); its {Count} call connection(s) count again")]
    private static partial void LogTakenForDead(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A chat-server node stopped or died: {Count} call participant(s) lost its connections (gone unless they come back)")]
    private static partial void LogDeadNodes(ILogger logger, int count);
}

/// <summary>
/// Runs on every node: says the node is alive in <c>hub_nodes</c> (at start, then every
/// <see cref="CallPresenceOptions.Poll"/>, on a timer of its own so that a long sweep never makes a live node look dead),
/// and that it stopped when it stops.
/// </summary>
internal sealed partial class CallNodeHeartbeat(CallService calls, IOptions<CallPresenceOptions> options, ILogger<CallNodeHeartbeat> logger) : PeriodicJob(logger)
{
    private static readonly TimeSpan StopMarkTimeout = TimeSpan.FromSeconds(3);

    protected override TimeSpan Interval => options.Value.Heartbeat;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Seen before the first hub connection can join a call, so that its entries belong to a known node (failing
        // that, the first tick says it).
        try
        {
            await calls.NodeSeenAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogNodeChangeFailed(logger, e);
        }

        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // Its connections close because it goes (their closes are not recorded): the other nodes, or this one started
        // again, forget them at their next sweep instead of waiting for it to count as dead. Not the host's token,
        // which may be spent by the time the connections have drained: a short time of its own.
        try
        {
            using var timeout = new CancellationTokenSource(StopMarkTimeout);
            await calls.NodeStoppedAsync(timeout.Token);
        }
        catch (Exception e)
        {
            LogNodeChangeFailed(logger, e);
        }
    }

    protected override Task TickAsync(CancellationToken ct) => calls.NodeSeenAsync(ct);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record this node's start or stop in hub_nodes")]
    private static partial void LogNodeChangeFailed(ILogger logger, Exception exception);
}

/// <summary>
/// Runs on every node: forgets the call connections of nodes that stopped or died, checks the Janus handles it holds,
/// and takes out of calls the participants whose page vanished (<see cref="CallService.SweepGoneAsync"/>).
/// </summary>
internal sealed class CallPresenceSweeper(CallService calls, IOptions<CallPresenceOptions> options, ILogger<CallPresenceSweeper> logger) : PeriodicJob(logger)
{
    private long lastHandleCheck = Stopwatch.GetTimestamp();

    protected override TimeSpan Interval => options.Value.Poll;

    protected override async Task TickAsync(CancellationToken ct)
    {
        await calls.ForgetDeadNodesAsync(options.Value.NodeDeadAfter, ct);
        if (Stopwatch.GetElapsedTime(lastHandleCheck) >= options.Value.HandleCheck)
        {
            lastHandleCheck = Stopwatch.GetTimestamp();
            await calls.ForgetLeftOverHandlesAsync(ct);
        }

        // A full batch: there may be more (a broadcast's audience closing their tabs at the end), but a tick never
        // loops for long.
        for (var i = 0; i < 10 && await calls.SweepGoneAsync(options.Value.GoneAfter, ct) == CallService.SweepBatch; i++)
        {
        }
    }
}
