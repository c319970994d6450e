using Chat.Hub.Infrastructure;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Features.Polls;

/// <summary>
/// Runs on every node and closes polls whose closing time has come. Nodes may race for the same poll; the conditional
/// update in <see cref="PollService.CloseDueAsync"/> lets exactly one of them close it.
/// </summary>
public sealed class PollCloser(PollService polls, IOptions<PollOptions> options, ILogger<PollCloser> logger) : PeriodicJob(logger)
{
    protected override TimeSpan Interval => TimeSpan.FromMilliseconds(options.Value.CloseCheckMilliseconds);

    protected override Task TickAsync(CancellationToken ct) => polls.CloseDueAsync(ct);
}
