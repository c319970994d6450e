using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Invites;
using Chat.Hub.Features.Messages;
using Chat.Hub.Features.Platform;
using Chat.Hub.Features.Schools;

namespace Chat.Hub.Infrastructure;

internal static class FeatureSetup
{
    public static IServiceCollection AddChatFeatures(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddCheckedOptions<MessageBatchOptions>(configuration, "Messages", (o, p) =>
        {
            p.NotNegative(o.LingerMilliseconds);
            p.Require(o.LingerMilliseconds <= MessageBatchOptions.MaxLingerMilliseconds, nameof(o.LingerMilliseconds), o.LingerMilliseconds, $"must be at most {MessageBatchOptions.MaxLingerMilliseconds}");
            p.Positive(o.LingerFromRate);
            p.Require(o.LingerFullRate >= o.LingerFromRate, nameof(o.LingerFullRate), o.LingerFullRate, "must not be below Messages:LingerFromRate");
        });
        services.AddSingleton<SchoolAccess>();
        services.AddSingleton<SchoolService>();
        services.AddSingleton<PlatformService>();
        services.AddSingleton<InviteService>();
        services.AddSingleton<RosterSync>();
        services.AddSingleton<ChatService>();
        services.AddSingleton<ChatInviteService>();
        services.AddSingleton<MessageService>();
        services.AddSingleton<MessageMetrics>();
        services.AddSingleton<MessageBatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<MessageBatcher>());
        services.AddSingleton<Features.Moderation.ModerationService>();
        services.AddSingleton<Features.Lifecycle.LifecycleService>();
        services.AddSingleton<Features.Statistics.ActivityRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<Features.Statistics.ActivityRecorder>());
        services.AddSingleton<Features.Statistics.StatisticsService>();
        services.AddSingleton<Features.Accounts.AccountDeletionService>();
        services.AddSingleton<Features.Calls.CallService>();
        services.AddSingleton<Realtime.IChatAccessWatcher>(sp => sp.GetRequiredService<Features.Calls.CallService>());
        return services;
    }

    /// <summary>CORS is an explicit list of origins (Site:AllowedOrigins); nothing else may call the API from a browser.</summary>
    public static IServiceCollection AddChatCors(this IServiceCollection services, IConfiguration configuration)
    {
        var origins = configuration.GetSection("Site:AllowedOrigins").Get<string[]>() ?? [];
        services.AddCors(o => o.AddDefaultPolicy(p =>
        {
            if (origins.Length > 0)
            {
                p.WithOrigins(origins).AllowAnyHeader().AllowAnyMethod().AllowCredentials();
            }
        }));
        return services;
    }
}
