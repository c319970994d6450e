using System.Diagnostics;
using System.Threading.Channels;
using Chat.Hub.Features.Chats;
using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Storage.Messages;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Chat.Hub.Features.Messages;

/// <summary>
/// Group commit of new messages (docs/performance.md): one loop per node takes every pending append, of all chats,
/// stores them with one statement (one round trip, one transaction, one WAL flush per batch) and only then completes
/// each caller. The same loop pushes the batch's new messages to their chats' groups in seq order while the next
/// batch is in the database (never two batches' pushes at once), so one node never pushes a chat's messages out of
/// order.
/// While a batch is being written, new appends queue up and form the next batch: no timer, no added latency when idle.
/// Under load (<see cref="MessageBatchOptions"/>) a cycle lasts at least the linger: the batch's pushes go out as soon
/// as it is stored, and the next batch gathers for the rest of the cycle, so that a chat's members get one push of its
/// messages per cycle instead of one per statement.
/// </summary>
public sealed partial class MessageBatcher : BackgroundService
{
    /// <summary>
    /// At most this many messages per statement. Under a saturated core a cycle of the loop (statement, then the
    /// pushes) takes tens of milliseconds, and the batch is what arrived meanwhile; at 256 the batches hit the cap from
    /// ~3000 msg/s and the queue grew without bound (docs/performance.md, (18)). 1024 messages are ~1.4 MB of WAL
    /// and well under PostgreSQL's parameter limits.
    /// </summary>
    public const int MaxBatch = 1024;

    /// <summary>At most this many messages of one chat in one <c>MessagesReceived</c> push (well under 1 MB).</summary>
    public const int MaxPerPush = 64;

    private readonly Channel<Pending> queue = Channel.CreateBounded<Pending>(new BoundedChannelOptions(20_000)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private readonly MessageStore messages;
    private readonly ChatPush push;
    private readonly MessageMetrics metrics;
    private readonly MessageBatchOptions options;
    private readonly ILogger<MessageBatcher> logger;

    public MessageBatcher(MessageStore messages, ChatPush push, MessageMetrics metrics, IOptions<MessageBatchOptions> options, ILogger<MessageBatcher> logger)
    {
        this.messages = messages;
        this.push = push;
        this.metrics = metrics;
        this.options = options.Value;
        this.logger = logger;
    }

    /// <summary>Appends waiting for a batch of their own (not the one being written); for tests.</summary>
    internal int Waiting => queue.Reader.Count;

    /// <summary>
    /// Stores the message in the next batch. Returns the stored message and whether it is new (a new one has been
    /// handed to the chat's group already), or null when refused (<see cref="MessageStore.DiagnoseAsync"/> says why).
    /// </summary>
    /// <param name="message">The message.</param>
    /// <param name="ct">Stops waiting for room in the queue; once queued, the batch loop completes the append within a cycle (or fails it when the node stops).</param>
    /// <param name="answerOnTheLoop">
    /// The caller's continuation runs on the batch loop right after the batch's pushes (the hub's <c>SendMessage</c>:
    /// its answer is written straight behind its chat's push, often into the same send, instead of queueing behind
    /// every connection's push as its own work item; docs/performance.md, (21)). Only for a caller whose continuation
    /// writes its answer and returns: anything slower would hold up every chat's pushes on the node.
    /// </param>
    public async Task<(MessageDto Message, bool Created)?> AppendAsync(NewMessage message, CancellationToken ct, bool answerOnTheLoop = false)
    {
        var pending = new Pending(message, answerOnTheLoop);
        try
        {
            await queue.Writer.WriteAsync(pending, ct);
        }
        catch (ChannelClosedException e)
        {
            throw ShuttingDown(e);
        }

        // Not cancelled by the caller's token: the batch loop completes every append it took within a cycle (or fails
        // it when the node stops), and a caller whose connection closed meanwhile just finds nobody to answer.
        return await pending.Done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var deferred = new List<Pending>();
        var keys = new HashSet<(Guid Chat, Guid Sender, Guid Client)>();

        // The pushes and callers of the last written batch. They run while the next batch is in the database (its
        // statement is sent first), so the database's time and the pushes' time overlap instead of adding up; with
        // nothing queued they run at once. Only this loop runs them, in batch order: pushes stay in seq order per chat.
        Action? written = null;
        try
        {
            await LoopAsync();
        }
        finally
        {
            RunWritten();

            // Shutting down (or the loop failed): nothing is taken any more, whoever still waits gets a retryable
            // error, not a hang.
            queue.Writer.TryComplete();
            foreach (var p in deferred)
            {
                p.Done.TrySetException(ShuttingDown());
            }

            while (queue.Reader.TryRead(out var p))
            {
                p.Done.TrySetException(ShuttingDown());
            }
        }

        // Runs the last batch's pushes and completions once (Complete does not throw).
        void RunWritten()
        {
            var run = written;
            written = null;
            run?.Invoke();
        }

        async Task LoopAsync()
        {
            var pace = new MessageBatchPace(options);
            var lastStarted = MessageMetrics.Now();
            while (true)
            {
                if (written is not null && deferred.Count == 0 && !queue.Reader.TryPeek(out _))
                {
                    RunWritten();
                }

                try
                {
                    if (deferred.Count == 0 && !await queue.Reader.WaitToReadAsync(stoppingToken))
                    {
                        break;
                    }
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                // Messages deferred from the last batch go first, so one sender's messages to a chat keep their order.
                var batch = new List<Pending>(Math.Min(MaxBatch, deferred.Count + queue.Reader.Count));
                var carried = deferred.ToArray();
                deferred.Clear();
                foreach (var p in carried)
                {
                    Take(p, batch, deferred, keys);
                }

                while (batch.Count < MaxBatch && queue.Reader.TryRead(out var p))
                {
                    Take(p, batch, deferred, keys);
                }

                keys.Clear();
                var started = MessageMetrics.Now();
                foreach (var p in batch)
                {
                    metrics.Queued(p.Enqueued, started);
                }

                var writing = WriteAsync(batch, started, stoppingToken);
                RunWritten();
                written = await writing;

                // A busy node: this batch's pushes go out now, and the next batch gathers what arrives until the cycle
                // is over (at most the linger; nothing when the statement alone took that long, or when a whole batch
                // or more is already waiting: a backlog, after a stall, is written at full speed).
                var cycle = pace.Cycle(batch.Count, Stopwatch.GetElapsedTime(lastStarted, started));
                lastStarted = started;
                if (cycle > Stopwatch.GetElapsedTime(started) && batch.Count < MaxBatch && queue.Reader.Count < MaxBatch)
                {
                    RunWritten();
                    var rest = cycle - Stopwatch.GetElapsedTime(started);
                    try
                    {
                        if (rest > TimeSpan.Zero)
                        {
                            await Task.Delay(rest, stoppingToken);
                        }
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }
        }
    }

    private static TimeoutException ShuttingDown(Exception? inner = null) => new("the server is shutting down", inner);

    /// <summary>
    /// One (chat, sender, client id) per batch: the statement checks resends against what was committed before it, so
    /// the same message sent again before its first send was stored (a client retrying at once) waits for the next
    /// batch and finds it there. A sender's other messages to the chat go in the same batch (the statement's slow mode
    /// lets only the first of them through).
    /// </summary>
    private static void Take(Pending p, List<Pending> batch, List<Pending> deferred, HashSet<(Guid, Guid, Guid)> keys)
    {
        if (batch.Count < MaxBatch && keys.Add((p.Message.ChatId, p.Message.SenderId, p.Message.ClientId)))
        {
            batch.Add(p);
        }
        else
        {
            deferred.Add(p);
        }
    }

    /// <summary>
    /// Stores the batch and returns what is left to do once it is stored: its pushes and its callers' completion (or
    /// their errors). Nothing is pushed or completed here, so that the loop alone orders the pushes of all batches.
    /// </summary>
    private async Task<Action> WriteAsync(List<Pending> batch, long started, CancellationToken stoppingToken)
    {
        var (done, outcome) = await StoreAsync(batch, stoppingToken);
        var committed = MessageMetrics.Now();
        metrics.Stored(batch.Count, started, committed, outcome);
        return () =>
        {
            done();
            metrics.Pushed(committed, outcome);
        };
    }

    private async Task<(Action Done, string Outcome)> StoreAsync(List<Pending> batch, CancellationToken stoppingToken)
    {
        try
        {
            var stored = await messages.AppendBatchAsync(batch.Select(p => p.Message).ToList(), stoppingToken);
            return (() => Complete(batch, stored), MessageMetrics.Written);
        }
        catch (Exception e) when (IsUnavailable(e, stoppingToken))
        {
            // The database is unreachable: nothing of the batch is stored; every caller gets service_unavailable and
            // retries with the same client id.
            LogBatchFailed(logger, e, batch.Count);
            var error = e is OperationCanceledException ? ShuttingDown(e) : e;
            return (() => Fail(batch, error), MessageMetrics.Failed);
        }
        catch (Exception e)
        {
            // Something in one message failed the statement (a resend racing in through another node, text PostgreSQL
            // cannot store, a deadlock): nothing is stored; store each on its own so that only that one fails.
            LogBatchRetried(logger, e, batch.Count);
            return (await WriteOneByOneAsync(batch, stoppingToken), MessageMetrics.OneByOne);
        }
    }

    private async Task<Action> WriteOneByOneAsync(List<Pending> batch, CancellationToken stoppingToken)
    {
        var stored = new (MessageRow Message, bool Created)?[batch.Count];
        var errors = new Exception?[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            try
            {
                stored[i] = await messages.AppendAsync(batch[i].Message, stoppingToken);
            }
            catch (Exception e)
            {
                errors[i] = e is OperationCanceledException && stoppingToken.IsCancellationRequested ? ShuttingDown(e) : e;
            }
        }

        return () => Complete(batch, stored, errors);
    }

    private static void Fail(List<Pending> batch, Exception error)
    {
        foreach (var p in batch)
        {
            p.Done.TrySetException(error);
        }
    }

    /// <summary>Pushes the new messages in the order of their seqs (per chat), then completes the callers.</summary>
    private void Complete(IReadOnlyList<Pending> batch, (MessageRow Message, bool Created)?[] stored, Exception?[]? errors = null)
    {
        // Within a batch a chat's seqs grow with the batch order, and batches are written one after another and
        // completed by the loop in the same order: pushing a chat's messages in batch order is pushing them in seq
        // order. SignalR queues each connection's writes in call order, so the pushes are started here without waiting
        // for slow clients; callers are completed after all pushes.
        // Nothing here may throw out of the loop: a message that cannot be shown fails its own caller only (it is stored;
        // clients get it by seq), and the rest of the batch is pushed and completed.
        // A chat's new messages of the batch go out as one push (MessagesReceived when there are several): under load
        // a batch holds a few messages per chat, and one invocation per connection costs far less than one per message.
        var results = new (MessageDto, bool)?[batch.Count];
        var byChat = new Dictionary<Guid, List<MessageDto>>();
        Dictionary<Guid, long>? resent = null; // chat -> highest seq of a message sent again
        for (var i = 0; i < batch.Count; i++)
        {
            if (stored[i] is not { } s)
            {
                continue;
            }

            try
            {
                var dto = MessageDto.From(s.Message);
                results[i] = (dto, s.Created);
                if (s.Created)
                {
                    if (!byChat.TryGetValue(dto.ChatId, out var news))
                    {
                        byChat[dto.ChatId] = news = new List<MessageDto>(1);
                    }

                    news.Add(dto);
                }
                else
                {
                    // Stored before (a resend): perhaps by a node that stopped before pushing it. Members who have it
                    // ignore the nudge; the others catch up — nobody gets the message twice.
                    resent ??= [];
                    resent[dto.ChatId] = Math.Max(resent.GetValueOrDefault(dto.ChatId), dto.Seq);
                }
            }
            catch (Exception e)
            {
                LogCompleteFailed(logger, e, s.Message.ChatId, s.Message.Seq);
                errors ??= new Exception?[batch.Count];
                errors[i] = e;
            }
        }

        foreach (var (chatId, news) in byChat)
        {
            // At most MaxPerPush per push, so that a push stays small for a slow phone (4000 characters each).
            foreach (var chunk in news.Chunk(MaxPerPush))
            {
                _ = push.MessagesAsync(chatId, chunk);
                metrics.Push(chunk.Length);
            }
        }

        foreach (var (chatId, seq) in resent ?? [])
        {
            _ = push.AdvancedAsync(chatId, seq);
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (errors?[i] is { } e)
            {
                batch[i].Done.TrySetException(e);
            }
            else
            {
                batch[i].Done.TrySetResult(results[i]);
            }
        }
    }

    /// <summary>The database cannot be reached (the same classification the API answers 503 for), or the node stops.</summary>
    private static bool IsUnavailable(Exception e, CancellationToken stoppingToken) =>
        ChatExceptionHandler.Classify(e).Error.Code == ChatError.ServiceUnavailable.Code
        || (e is OperationCanceledException && stoppingToken.IsCancellationRequested);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A batch of {Count} messages could not be stored: the database is unavailable")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stored message {ChatId}/{Seq} could not be pushed or returned")]
    private static partial void LogCompleteFailed(ILogger logger, Exception exception, Guid chatId, long seq);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A batch of {Count} messages failed; storing them one by one")]
    private static partial void LogBatchRetried(ILogger logger, Exception exception, int count);

    private sealed class Pending(NewMessage message, bool answerOnTheLoop)
    {
        public NewMessage Message { get; } = message;

        public long Enqueued { get; } = MessageMetrics.Now();

        /// <summary>Completed by the batch loop right after the batch's pushes; see AppendAsync's answerOnTheLoop.</summary>
        public TaskCompletionSource<(MessageDto, bool)?> Done { get; } =
            new(answerOnTheLoop ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
