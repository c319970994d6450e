using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Chat.Hub.Features.Messages;

/// <summary>
/// What the group commit does, as metrics of the meter <c>Chat.Hub.Messages</c> (README, "Health and metrics": watch them
/// with <c>dotnet-counters monitor -p &lt;pid&gt; --counters Chat.Hub.Messages</c>). A message's time in the server is the
/// sum of three durations: waiting for its batch, the batch's statement and commit, and waiting for its push. Batches
/// carry the tag <c>chat.batch.outcome</c>: <c>stored</c>, <c>one_by_one</c> (the statement failed; each message was
/// stored on its own) or <c>failed</c> (the database was unavailable).
/// </summary>
public sealed class MessageMetrics
{
    public const string MeterName = "Chat.Hub.Messages";
    public const string Written = "stored";
    public const string OneByOne = "one_by_one";
    public const string Failed = "failed";

    private readonly Histogram<int> batchSize;
    private readonly Histogram<double> queued;
    private readonly Histogram<double> store;
    private readonly Histogram<double> pushed;
    private readonly Histogram<int> pushSize;

    public MessageMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        batchSize = meter.CreateHistogram<int>("chat.message.batch.size", "{message}", "Messages written by one batch");
        queued = meter.CreateHistogram<double>("chat.message.queue.duration", "s", "From a send reaching the node to its batch's statement starting");
        store = meter.CreateHistogram<double>("chat.message.batch.store.duration", "s", "One batch's statement and commit, as the node sees it");
        pushed = meter.CreateHistogram<double>("chat.message.batch.push.duration", "s", "From a batch's commit until its pushes were handed to SignalR and its senders answered");
        pushSize = meter.CreateHistogram<int>("chat.message.push.size", "{message}", "New messages of one chat in one push to its members (MessageReceived: 1)");
    }

    public static long Now() => Stopwatch.GetTimestamp();

    public void Queued(long enqueued, long started) => queued.Record(Stopwatch.GetElapsedTime(enqueued, started).TotalSeconds);

    public void Stored(int size, long started, long committed, string outcome)
    {
        var tag = new KeyValuePair<string, object?>("chat.batch.outcome", outcome);
        batchSize.Record(size, tag);
        store.Record(Stopwatch.GetElapsedTime(started, committed).TotalSeconds, tag);
    }

    /// <summary>One push to a chat's members carried this many new messages (more under load: the fan-out gets cheaper).</summary>
    public void Push(int messages) => pushSize.Record(messages);

    public void Pushed(long committed, string outcome) =>
        pushed.Record(Stopwatch.GetElapsedTime(committed).TotalSeconds, new KeyValuePair<string, object?>("chat.batch.outcome", outcome));
}
