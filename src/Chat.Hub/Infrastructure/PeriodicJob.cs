namespace Chat.Hub.Infrastructure;

/// <summary>
/// A job every node runs on a timer (closing due polls, reminders of planned calls, the file cleanup, the sweep of
/// vanished call participants). Each is guarded in the database, so nodes running it at once do no harm. A run that
/// fails (the database away for a while) is logged and the next tick tries again; stopping the node ends the loop.
/// </summary>
public abstract partial class PeriodicJob(ILogger logger) : BackgroundService
{
    /// <summary>The shortest time between two runs, whatever <see cref="Interval"/> says.</summary>
    public static readonly TimeSpan MinimumInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>Time between two runs (at least <see cref="MinimumInterval"/>).</summary>
    protected abstract TimeSpan Interval { get; }

    /// <summary>One run of the job.</summary>
    protected abstract Task TickAsync(CancellationToken ct);

    protected sealed override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval > MinimumInterval ? Interval : MinimumInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await TickAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogFailed(logger, e, GetType().Name);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Job} failed; the next tick tries again")]
    private static partial void LogFailed(ILogger logger, Exception exception, string job);
}
