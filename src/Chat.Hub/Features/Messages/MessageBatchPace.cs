namespace Chat.Hub.Features.Messages;

/// <summary>
/// How long the batch loop's cycles should last (<see cref="MessageBatchOptions"/>): the node's rate of messages,
/// averaged over about <see cref="Window"/> so that one large batch does not make a quiet node wait, sets the share of
/// the linger. Used by the loop alone.
/// </summary>
public sealed class MessageBatchPace(MessageBatchOptions options)
{
    /// <summary>The rate's time constant.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(500);

    /// <summary>Messages per second through the loop, averaged.</summary>
    public double Rate { get; private set; }

    /// <summary>
    /// A batch of <paramref name="count"/> messages started <paramref name="sinceLast"/> after the one before it: how long
    /// its cycle should last (zero: the next batch may start as soon as this one is stored).
    /// </summary>
    public TimeSpan Cycle(int count, TimeSpan sinceLast)
    {
        var seconds = Math.Max(sinceLast.TotalSeconds, 1e-4);
        var weight = 1 - Math.Exp(-seconds / Window.TotalSeconds);
        Rate += weight * ((count / seconds) - Rate);
        var share = Math.Clamp((Rate - options.LingerFromRate) / Math.Max(options.LingerFullRate - options.LingerFromRate, 1), 0, 1);
        return TimeSpan.FromMilliseconds(options.LingerMilliseconds * share);
    }
}
