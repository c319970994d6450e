using Chat.Hub.Infrastructure;
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
        services.AddCheckedOptions<JanusOptions>(configuration, "Calls:Janus", (o, p) =>
        {
            EveryUrl(p, o.Urls, ["ws", "wss"]);
            p.Positive(o.KeepAlive);
            p.Positive(o.ConnectTimeout);
            p.NotNegative(o.RetryFailedAfter);
        });
        services.AddCheckedOptions<TurnOptions>(configuration, "Calls:Turn", (o, p) =>
        {
            // TURN is on only with both; one without the other would leave calls behind strict NATs without it, silently.
            p.Require(string.IsNullOrEmpty(o.Secret) == (o.Urls.Length == 0), nameof(o.Secret), string.IsNullOrEmpty(o.Secret) ? null : "set",
                "must be set together with Calls:Turn:Urls, TURN is off without either");
            EveryUrl(p, o.Urls, ["turn", "turns", "stun", "stuns"]);
            p.Positive(o.Lifetime);
        });
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<JanusOptions>>().Value);
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<TurnOptions>>().Value);
        services.AddSingleton<JanusPool>();
        services.AddSingleton(sp => new TurnCredentials(sp.GetRequiredService<TurnOptions>(), TimeProvider.System));
        services.AddCheckedOptions<CallReminderOptions>(configuration, "Calls:Reminders", (o, p) =>
        {
            // Lead may be zero or less: no "starts soon" reminder. A Late of zero or less would send no "starts now" one.
            p.Positive(o.Poll);
            p.Positive(o.Late);
        });
        services.AddHostedService<CallReminders>();
        services.AddHostedService<CallNodeListener>();
        services.AddOptions<CallPresenceOptions>().Bind(configuration.GetSection("Calls:Presence")).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CallPresenceOptions>, CallPresenceOptionsCheck>();
        services.AddHostedService<CallNodeHeartbeat>();
        services.AddHostedService<CallPresenceSweeper>();
        return services;
    }

    private static void EveryUrl(SettingProblems problems, string[] urls, string[] schemes)
    {
        for (var i = 0; i < urls.Length; i++)
        {
            problems.Url(urls[i], schemes, "Urls:" + i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
