using Microsoft.Extensions.Options;

namespace Chat.Hub.Infrastructure;

/// <summary>
/// Browsers send an Origin with a WebSocket upgrade and do not apply CORS to it, so the hub checks it itself: a page
/// of another site must not open a hub connection with a signed-in pupil's cookies or token. Requests without an
/// Origin (native and server clients) are allowed.
/// </summary>
internal static class OriginCheck
{
    public static IApplicationBuilder UseHubOriginCheck(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments(AuthSetup.HubPathPrefix)
                && context.Request.Headers.Origin is { Count: > 0 } origin
                && !IsAllowed(context, origin.ToString()))
            {
                await ChatExceptionHandler.WriteProblemAsync(context, new ChatError("origin_not_allowed", 403, "Подключение с этого сайта не разрешено."));
                return;
            }

            await next(context);
        });

    private static bool IsAllowed(HttpContext context, string origin)
    {
        var site = context.RequestServices.GetRequiredService<IOptions<SiteOptions>>().Value;
        var own = $"{context.Request.Scheme}://{context.Request.Host}";
        return string.Equals(origin, own, StringComparison.OrdinalIgnoreCase)
            || (Uri.TryCreate(site.PublicUrl, UriKind.Absolute, out var publicUrl) && string.Equals(origin, publicUrl.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
            || site.AllowedOrigins.Any(o => string.Equals(o.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase));
    }
}
