using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Chat.Hub.Realtime;
using Chat.Storage.Statistics;
using Npgsql;

namespace Chat.Hub.Features.Statistics;

/// <summary>
/// The "was active" marks of people connecting, and of people connected (each minute this node marks everyone with a
/// live connection on it, so a teacher whose tab stays open for days counts on each of them, not only on the day she
/// connected): the statistics' active people, written in batches: a mark waits up to
/// <see cref="Linger"/> for others, and whatever came meanwhile (at most <see cref="MaxBatch"/>) is one statement, so a
/// reconnect storm of thousands of clients costs a few commits instead of one each (as the group commit of messages,
/// but with a short wait: a mark has nobody waiting for it). At most one mark per person per quarter hour per node.
/// The queue is bounded: a mark that finds it full is dropped, and the person's next connection marks them again. A
/// node that stops writes what is queued; a read of the statistics on this node has the queued marks written at once
/// and waits for them, so it sees them.
/// </summary>
public sealed partial class ActivityRecorder : BackgroundService
{
    public const string MeterName = "Chat.Hub.Activity";

    /// <summary>At most this many marks per statement (well under PostgreSQL's limits: two arrays).</summary>
    public const int MaxBatch = 1000;

    /// <summary>How long the first mark of a batch waits for others (unless the queue holds a full batch or a read waits).</summary>
    public static readonly TimeSpan Linger = TimeSpan.FromSeconds(1);

    private const int Capacity = 20_000;
    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan StopWriteTimeout = TimeSpan.FromSeconds(5);
    private static readonly long QuarterHourSeconds = (long)TimeSpan.FromMinutes(15).TotalSeconds;

    /// <summary>How often the people connected to this node are marked (each still once per quarter hour).</summary>
    private static readonly TimeSpan ConnectedMarkInterval = TimeSpan.FromMinutes(1);

    private readonly StatisticsStore stats;
    private readonly ConnectionRegistry connections;
    private readonly TimeProvider clock;
    private readonly ILogger<ActivityRecorder> logger;
    private readonly Histogram<int> batchSize;

    private readonly Channel<(Guid AccountId, DateTimeOffset At)> queue = Channel.CreateBounded<(Guid, DateTimeOffset)>(
        new BoundedChannelOptions(Capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    // The quarter hour (of the Unix epoch) of each person's last mark on this node. Every time zone's midnight is on a
    // UTC quarter hour, so the first connection in a quarter hour is enough for "active since local midnight" in any
    // zone (StatisticsStore.ActiveUsersAsync).
    private readonly ConcurrentDictionary<Guid, long> marked = new();

    // Marks accepted and marks written (or given up) so far, and the reads waiting for a count of them; under gate.
    private readonly Lock gate = new();
    private long queued;
    private long written;
    private readonly List<(long Upto, TaskCompletionSource Done)> waiting = [];
    private TaskCompletionSource hurry = NewSignal();

    public ActivityRecorder(StatisticsStore stats, ConnectionRegistry connections, TimeProvider clock, IMeterFactory meters, ILogger<ActivityRecorder> logger)
    {
        this.stats = stats;
        this.connections = connections;
        this.clock = clock;
        this.logger = logger;
        batchSize = meters.Create(MeterName).CreateHistogram<int>("chat.activity.batch.size", "{mark}", "Activity marks written by one statement");
    }

    /// <summary>Marks the person active at <paramref name="at"/>; once per person per quarter hour per node. Never waits.</summary>
    public void Mark(Guid accountId, DateTimeOffset at)
    {
        var quarter = at.ToUnixTimeSeconds() / QuarterHourSeconds;
        if (marked.TryGetValue(accountId, out var last) && last == quarter)
        {
            return;
        }

        marked[accountId] = quarter;
        if (marked.Count > 200_000)
        {
            marked.Clear();
        }

        lock (gate)
        {
            if (queue.Writer.TryWrite((accountId, at)))
            {
                queued++;
                return;
            }
        }

        // Full, or the node stops: dropped, and the person's next connection tries again.
        marked.TryRemove(accountId, out _);
    }

    /// <summary>Marks everyone with a live connection on this node active at <paramref name="now"/> (once per quarter hour each).</summary>
    public void MarkConnected(DateTimeOffset now)
    {
        foreach (var accountId in connections.AccountIds())
        {
            Mark(accountId, now);
        }
    }

    /// <summary>Completes once every mark accepted so far is written (or given up); has them written without lingering.</summary>
    public Task WrittenAsync()
    {
        TaskCompletionSource done;
        TaskCompletionSource signal;
        lock (gate)
        {
            if (written >= queued)
            {
                return Task.CompletedTask;
            }

            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            waiting.Add((queued, done));
            signal = hurry;
        }

        signal.TrySetResult();
        return done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connected = MarkConnectedEachMinuteAsync(stoppingToken);
        try
        {
            while (await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                await LingerAsync(stoppingToken);
                await WriteAsync(Take(), WriteTimeout);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The node stops: below.
        }
        finally
        {
            // What is queued is written, with a time of its own (the host's may be spent); nothing more is taken.
            lock (gate)
            {
                queue.Writer.TryComplete();
            }

            using var timeout = new CancellationTokenSource(StopWriteTimeout);
            while (queue.Reader.Count > 0 && !timeout.IsCancellationRequested)
            {
                await WriteAsync(Take(), timeout.Token);
            }

            lock (gate)
            {
                written = queued;
                Release();
            }

            await connected;
        }
    }

    private async Task MarkConnectedEachMinuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ConnectedMarkInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                MarkConnected(clock.GetUtcNow());
            }
        }
        catch (OperationCanceledException)
        {
            // The node stops.
        }
    }

    /// <summary>Waits for more marks, unless a full batch is queued or a read waits for the queued ones.</summary>
    private async Task LingerAsync(CancellationToken stoppingToken)
    {
        TaskCompletionSource signal;
        lock (gate)
        {
            if (queue.Reader.Count >= MaxBatch || waiting.Count > 0)
            {
                return;
            }

            if (hurry.Task.IsCompleted)
            {
                hurry = NewSignal();
            }

            signal = hurry;
        }

        await Task.WhenAny(signal.Task, Task.Delay(Linger, stoppingToken));
        stoppingToken.ThrowIfCancellationRequested();
    }

    private List<(Guid AccountId, DateTimeOffset At)> Take()
    {
        var batch = new List<(Guid, DateTimeOffset)>(Math.Min(MaxBatch, queue.Reader.Count));
        while (batch.Count < MaxBatch && queue.Reader.TryRead(out var mark))
        {
            batch.Add(mark);
        }

        return batch;
    }

    private async Task WriteAsync(List<(Guid AccountId, DateTimeOffset At)> batch, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await WriteAsync(batch, cts.Token);
    }

    private async Task WriteAsync(List<(Guid AccountId, DateTimeOffset At)> batch, CancellationToken ct)
    {
        try
        {
            await StoreAsync(batch, ct);
        }
        finally
        {
            lock (gate)
            {
                written += batch.Count;
                Release();
            }
        }
    }

    private async Task StoreAsync(List<(Guid AccountId, DateTimeOffset At)> batch, CancellationToken ct)
    {
        try
        {
            await stats.TouchAsync(batch, ct);
            batchSize.Record(batch.Count);
            return;
        }
        catch (PostgresException e) when (batch.Count > 1)
        {
            // The statement failed with the database there (e.g. a person deleted meanwhile): each mark on its own,
            // so that one does not cost the others.
            LogOneByOne(logger, e, batch.Count);
        }
        catch (Exception e)
        {
            // Best effort (the database may be away): forgotten, so the people's next connections mark them again.
            LogFailed(logger, e, batch.Count);
            Forget(batch);
            return;
        }

        foreach (var mark in batch)
        {
            try
            {
                await stats.TouchAsync([mark], ct);
                batchSize.Record(1);
            }
            catch (Exception e)
            {
                LogFailed(logger, e, 1);
                Forget([mark]);
            }
        }
    }

    private void Forget(List<(Guid AccountId, DateTimeOffset At)> marks)
    {
        foreach (var (accountId, _) in marks)
        {
            marked.TryRemove(accountId, out _);
        }
    }

    /// <summary>Completes the reads whose marks are all written (under gate).</summary>
    private void Release()
    {
        waiting.RemoveAll(w =>
        {
            if (w.Upto > written)
            {
                return false;
            }

            w.Done.TrySetResult();
            return true;
        });
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write {Count} activity mark(s) of the statistics; those people count again at their next connection")]
    private static partial void LogFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A batch of {Count} activity marks failed as one statement; writing them one by one")]
    private static partial void LogOneByOne(ILogger logger, Exception exception, int count);
}
