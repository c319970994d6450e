using Microsoft.Extensions.Options;

namespace Chat.Hub.Features.Polls;

/// <summary>
/// Runs on every node and closes polls whose closing time has come. Nodes may race for the same poll; the conditional
/// update in <see cref="PollService.CloseDueAsync"/> lets exactly one of them close it.
/// </summary>
public sealed partial class PollCloser(PollService polls, IOptions<PollOptions> options, ILogger<PollCloser> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(50, options.Value.CloseCheckMilliseconds)));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await polls.CloseDueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The database may be down for a while; the next tick tries again.
                LogFailed(logger, e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing due polls failed; will retry")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
