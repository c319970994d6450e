using Chat.Hub.Infrastructure;
using StackExchange.Redis;

namespace Chat.Hub.Realtime;

internal static class RealtimeSetup
{
    /// <summary>SignalR, in memory on one node, or over the Redis backplane when <c>ConnectionStrings:Redis</c> is set.</summary>
    public static IServiceCollection AddChatRealtime(this IServiceCollection services, string? redisConnection)
    {
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<SessionTerminator>();
        var signalR = services.AddSignalR(o =>
        {
            o.MaximumReceiveMessageSize = 64 * 1024;
            o.EnableDetailedErrors = false;
        }).AddJsonProtocol(o => ChatJson.Configure(o.PayloadSerializerOptions));

        if (!string.IsNullOrWhiteSpace(redisConnection))
        {
            var options = ConfigurationOptions.Parse(redisConnection);
            options.AbortOnConnectFail = false; // start (degraded) even when Redis is down; reconnect in the background
            options.ClientName = "chat-hub";
            var multiplexer = ConnectionMultiplexer.Connect(options);
            services.AddSingleton<IConnectionMultiplexer>(multiplexer);
            services.AddHostedService<TerminationListener>();
            signalR.AddStackExchangeRedis(o =>
            {
                o.Configuration.ChannelPrefix = RedisChannel.Literal("chat-signalr");
                o.ConnectionFactory = _ => Task.FromResult<IConnectionMultiplexer>(multiplexer);
            });
        }

        return services;
    }

    public static IEndpointRouteBuilder MapChatHub(this IEndpointRouteBuilder app)
    {
        app.MapHub<ChatHub>("/hubs/chat", o =>
        {
            o.ApplicationMaxBufferSize = 64 * 1024;
            o.TransportMaxBufferSize = 256 * 1024;
        }).RequireAuthorization();
        return app;
    }
}

/// <summary>Applies session terminations published by other nodes.</summary>
internal sealed class TerminationListener(IConnectionMultiplexer redis, SessionTerminator terminator) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken) =>
        await redis.GetSubscriber().SubscribeAsync(SessionTerminator.Channel, (_, message) =>
        {
            if (message.HasValue)
            {
                terminator.Apply(message.ToString());
            }
        });

    public Task StopAsync(CancellationToken cancellationToken) => redis.GetSubscriber().UnsubscribeAsync(SessionTerminator.Channel);
}
