using Chat.Hub.Infrastructure;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.AspNetCore.SignalR.StackExchangeRedis;
using Microsoft.Extensions.DependencyInjection.Extensions;
using StackExchange.Redis;

namespace Chat.Hub.Realtime;

internal static class RealtimeSetup
{
    /// <summary>SignalR, in memory on one node, or over the Redis backplane when <c>ConnectionStrings:Redis</c> is set.</summary>
    public static IServiceCollection AddChatRealtime(this IServiceCollection services, IConfiguration configuration, string? redisConnection)
    {
        services.AddCheckedOptions<LimitOptions>(configuration, "Limits", (o, p) =>
        {
            p.Positive(o.MessagesPerSecond);
            p.Positive(o.MessageBurst);
            p.Positive(o.MediaRequestsPerSecond);
            p.Positive(o.MediaRequestBurst);
            p.Positive(o.ConnectionsPerUser);
            p.NotNegative(o.TypingIntervalSeconds);
            p.Positive(o.SlowClientSeconds);
        });
        services.AddSingleton<HubLimits>();
        services.AddSingleton<IUserIdProvider, AccountIdProvider>();
        services.AddSingleton<ConnectionRegistry>();
        services.AddSingleton<LiveConnections>();
        services.AddSingleton<ChatPush>();
        services.AddSingleton<PresenceTracker>();
        services.AddHostedService(sp => sp.GetRequiredService<PresenceTracker>());
        var signalR = services.AddSignalR(o =>
        {
            o.MaximumReceiveMessageSize = 64 * 1024;
            o.EnableDetailedErrors = false;
            o.MaximumParallelInvocationsPerClient = ChatHubFilter.MaxCallsInFlightPerConnection;
            o.AddFilter<ChatHubFilter>();
        }).AddJsonProtocol(o => ChatJson.Configure(o.PayloadSerializerOptions));

        // The JSON protocol with our error codes for calls it cannot bind (ChatHubProtocol) instead of SignalR's own.
        services.RemoveAll<IHubProtocol>();
        services.AddSingleton<IHubProtocol, ChatHubProtocol>();

        if (!string.IsNullOrWhiteSpace(redisConnection))
        {
            var options = ConfigurationOptions.Parse(redisConnection);
            options.AbortOnConnectFail = false; // start (degraded) even when Redis is down; reconnect in the background
            options.ClientName = "chat-hub";
            options.BacklogPolicy = BacklogPolicy.FailFast; // while Redis is down, fail pushes at once instead of holding senders
            var multiplexer = ConnectionMultiplexer.Connect(options);
            services.AddSingleton<IConnectionMultiplexer>(multiplexer);
            services.AddHostedService<LiveEventListener>();
            signalR.AddStackExchangeRedis(o =>
            {
                o.Configuration.ChannelPrefix = RedisChannel.Literal("chat-signalr");
                o.ConnectionFactory = _ => Task.FromResult<IConnectionMultiplexer>(multiplexer);
            });

            // Connections are let in while Redis is away, and closed once it is back so that they reconnect whole.
            services.AddSingleton<RedisHubLifetimeManager<ChatHub>>();
            services.AddSingleton<HubLifetimeManager<ChatHub>, RedisOutageTolerantLifetimeManager>();
            services.AddHostedService<RedisOutageRecovery>();
        }

        return services;
    }

    public static IEndpointRouteBuilder MapChatHub(this IEndpointRouteBuilder app)
    {
        // MapHub<ChatHub> spelled out, so that the slow-client guard sits between the hub and the transport.
        var options = new HttpConnectionDispatcherOptions
        {
            ApplicationMaxBufferSize = 64 * 1024,
            TransportMaxBufferSize = 256 * 1024,
        };
        var hub = app.MapConnections("/hubs/chat", options, connection => connection.UseSlowClientGuard().UseHub<ChatHub>());
        hub.RequireAuthorization();
        hub.Add(endpoint =>
        {
            foreach (var attribute in typeof(ChatHub).GetCustomAttributes(inherit: true))
            {
                endpoint.Metadata.Add(attribute);
            }

            endpoint.Metadata.Add(new HubMetadata(typeof(ChatHub)));
        });
        return app;
    }
}

/// <summary>Applies live-connection events (membership changes, ended sessions) published by other nodes.</summary>
internal sealed class LiveEventListener(IConnectionMultiplexer redis, LiveConnections live, ILogger<LiveEventListener> logger)
    : RedisChannelListener(redis, LiveConnections.Channel, logger)
{
    protected override Task OnMessageAsync(string message) => live.ApplyRemoteAsync(message);
}

/// <summary>SignalR's user id is the account id from the token's <c>sub</c> claim.</summary>
internal sealed class AccountIdProvider : IUserIdProvider
{
    public string? GetUserId(HubConnectionContext connection) => connection.User?.FindFirst("sub")?.Value;
}
