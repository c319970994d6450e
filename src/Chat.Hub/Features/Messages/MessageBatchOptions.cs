namespace Chat.Hub.Features.Messages;

/// <summary>
/// The group commit's pace under load (section <c>Messages</c>; docs/performance.md, (22)). A busy node lets a cycle of
/// its batch loop last at least <see cref="LingerMilliseconds"/>, so that each chat's messages of that time reach its
/// members as one push: the members' connections then get a few pushes a second instead of one per batch, and the
/// core the pushes no longer take is what lets the node keep its latency at higher rates. A quiet node does not wait:
/// below <see cref="LingerFromRate"/> every batch is written as soon as the last one is stored.
/// </summary>
public sealed class MessageBatchOptions
{
    /// <summary>The most <see cref="LingerMilliseconds"/> may be: a cycle is a wait every message of a busy node pays.</summary>
    public const int MaxLingerMilliseconds = 1000;

    /// <summary>
    /// The shortest cycle of the batch loop at <see cref="LingerFullRate"/> and above; 0 turns the linger off. A batch
    /// that is full (<see cref="MessageBatcher.MaxBatch"/>), or a queue holding a whole batch, does not wait.
    /// </summary>
    public int LingerMilliseconds { get; set; } = 80;

    /// <summary>
    /// Messages per second through this node's batch loop (averaged over about half a second) below which a cycle never
    /// waits.
    /// </summary>
    public int LingerFromRate { get; set; } = 2500;

    /// <summary>From this rate on a cycle lasts the whole <see cref="LingerMilliseconds"/>; in between, in proportion.</summary>
    public int LingerFullRate { get; set; } = 3500;
}
