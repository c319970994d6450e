using Chat.Signaling.Sfu;
using Chat.Signaling.Turn;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Features.Calls;

internal static class CallsSetup
{
    /// <summary>
    /// Janus instances (Calls:Janus:Urls) and TURN (Calls:Turn:Secret, Calls:Turn:Urls), both optional; reminders of
    /// scheduled calls (Calls:Reminders); the sweep of vanished participants (Calls:Presence); the listener that notices Janus restarts and, with Redis, other nodes' handle drops.
    /// </summary>
    public static IServiceCollection AddChatCalls(this IServiceCollection services, IConfiguration configuration)
    {
        var janus = configuration.GetSection("Calls:Janus").Get<JanusOptions>() ?? new JanusOptions();
        var turn = configuration.GetSection("Calls:Turn").Get<TurnOptions>() ?? new TurnOptions();
        services.AddSingleton(janus);
        services.AddSingleton(turn);
        services.AddSingleton<JanusPool>();
        services.AddSingleton(sp => new TurnCredentials(sp.GetRequiredService<TurnOptions>(), TimeProvider.System));
        services.Configure<CallReminderOptions>(configuration.GetSection("Calls:Reminders"));
        services.AddHostedService<CallReminders>();
        services.AddHostedService<CallNodeListener>();
        services.AddOptions<CallPresenceOptions>().Bind(configuration.GetSection("Calls:Presence")).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CallPresenceOptions>, CallPresenceOptionsCheck>();
        services.AddHostedService<CallNodeHeartbeat>();
        services.AddHostedService<CallPresenceSweeper>();
        return services;
    }
}
