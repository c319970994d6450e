using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Chat.Hub.Features.Messages;

/// <summary>
/// What the group commit does, as metrics of the meter <c>Chat.Hub.Messages</c> (README, "Health and metrics": watch them
/// with <c>dotnet-counters monitor -p &lt;pid&gt; --counters Chat.Hub.Messages</c>). A message's time in the server is the sum of
/// the three durations: waiting for its batch, the batch's statement and commit, and waiting for its push.
/// </summary>
public sealed class MessageMetrics
{
    public const string MeterName = "Chat.Hub.Messages";

    private readonly Histogram<int> batchSize;
    private readonly Histogram<double> queued;
    private readonly Histogram<double> stored;
    private readonly Histogram<double> pushed;

    public MessageMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        batchSize = meter.CreateHistogram<int>("chat.messages.batch.size", "{message}", "Messages stored by one statement");
        queued = meter.CreateHistogram<double>("chat.messages.queued", "ms", "From a send reaching the node to its batch's statement starting");
        stored = meter.CreateHistogram<double>("chat.messages.batch.store", "ms", "One batch's statement and commit");
        pushed = meter.CreateHistogram<double>("chat.messages.batch.push", "ms", "From a batch's commit until its pushes were handed to SignalR");
    }

    public static long Now() => Stopwatch.GetTimestamp();

    public void Queued(long enqueued, long started) => queued.Record(Stopwatch.GetElapsedTime(enqueued, started).TotalMilliseconds);

    public void Stored(int size, long started, long committed)
    {
        batchSize.Record(size);
        stored.Record(Stopwatch.GetElapsedTime(started, committed).TotalMilliseconds);
    }

    public void Pushed(long committed) => pushed.Record(Stopwatch.GetElapsedTime(committed).TotalMilliseconds);
}
