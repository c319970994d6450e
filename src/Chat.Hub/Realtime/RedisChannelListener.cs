using StackExchange.Redis;

namespace Chat.Hub.Realtime;

/// <summary>
/// Listens to one Redis channel for the life of the node. It subscribes in the background and, while Redis is away
/// (a node may start then: it serves its own clients, docs/architecture.md "Scale-out"), tries again every few seconds
/// instead of failing the node's start; once subscribed, the multiplexer renews the subscription after every reconnect.
/// </summary>
internal abstract partial class RedisChannelListener(IConnectionMultiplexer redis, RedisChannel channel, ILogger logger) : BackgroundService
{
    private static readonly TimeSpan Retry = TimeSpan.FromSeconds(2);

    /// <summary>Handles one message of the channel.</summary>
    protected abstract Task OnMessageAsync(string message);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var queue = await redis.GetSubscriber().SubscribeAsync(channel);
                queue.OnMessage(message => message.Message.HasValue ? OnMessageAsync(message.Message.ToString()) : Task.CompletedTask);
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                if (attempt == 0)
                {
                    LogNotYet(logger, channel.ToString(), e.Message);
                }

                await Task.Delay(Retry, stoppingToken);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await redis.GetSubscriber().UnsubscribeAsync(channel);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Redis is away: nothing to leave.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis is away: not subscribed to {Channel} yet ({Reason}); trying again every few seconds")]
    private static partial void LogNotYet(ILogger logger, string channel, string reason);
}
