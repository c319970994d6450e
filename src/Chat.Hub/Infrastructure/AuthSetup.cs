using Chat.Hub.Features.Accounts;
using Chat.Storage.Accounts;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Chat.Hub.Infrastructure;

internal static class AuthSetup
{
    public const string HubPathPrefix = "/hubs";

    public static IServiceCollection AddChatAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<AuthOptions>(configuration.GetSection("Auth"));
        services.Configure<CodeDeliveryOptions>(configuration.GetSection("Codes"));
        services.AddSingleton<SigningKeyProvider>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<SignInService>();
        if (string.Equals(configuration["Codes:Sender"], "webhook", StringComparison.OrdinalIgnoreCase))
        {
            services.AddHttpClient<ICodeSender, WebhookCodeSender>();
        }
        else
        {
            services.AddSingleton<ICodeSender, FileCodeSender>();
        }

        services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<SigningKeyProvider, IOptions<AuthOptions>>((o, keys, auth) =>
            {
                o.MapInboundClaims = false;
                o.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = auth.Value.Issuer,
                    ValidAudience = auth.Value.Issuer,
                    IssuerSigningKey = keys.Key,
                    ClockSkew = TimeSpan.FromSeconds(30),
                    NameClaimType = "sub",
                };
                o.Events = new JwtBearerEvents
                {
                    // Browsers cannot set headers on WebSockets, so the hub (and only the hub) takes the token from the query.
                    OnMessageReceived = ctx =>
                    {
                        if (ctx.HttpContext.Request.Path.StartsWithSegments(HubPathPrefix)
                            && ctx.Request.Query.TryGetValue("access_token", out var token))
                        {
                            ctx.Token = token;
                        }

                        return Task.CompletedTask;
                    },

                    // A signed token is not enough: the session must still be live in the database (sign-out, account deletion).
                    OnTokenValidated = async ctx =>
                    {
                        var principal = ctx.Principal!;
                        if (!Guid.TryParse(principal.FindFirst("sub")?.Value, out var accountId)
                            || !Guid.TryParse(principal.FindFirst(CurrentUser.SessionClaim)?.Value, out var sessionId)
                            || !await ctx.HttpContext.RequestServices.GetRequiredService<SessionStore>().IsActiveAsync(sessionId, accountId, ctx.HttpContext.RequestAborted))
                        {
                            ctx.Fail("session ended");
                        }
                    },
                };
            });
        services.AddAuthorization();
        return services;
    }
}
