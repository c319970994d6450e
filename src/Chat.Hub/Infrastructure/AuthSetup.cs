using System.Security.Claims;
using Chat.Hub.Features.Accounts;
using Chat.Storage.Accounts;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Chat.Hub.Infrastructure;

internal static class AuthSetup
{
    public const string HubPathPrefix = "/hubs";

    /// <summary>HttpContext item with the chat ids read together with the session check of a hub request.</summary>
    public const string ConnectInfoKey = "chat.connect";

    /// <summary>The values of <c>Codes:Sender</c> (any case).</summary>
    private static readonly string[] CodeSenders = ["file", "webhook"];

    private static bool IsWebhook(string? sender) => string.Equals(sender, "webhook", StringComparison.OrdinalIgnoreCase);

    public static IServiceCollection AddChatAuth(this IServiceCollection services, IConfiguration configuration)
    {
        // Auth:SigningKey is checked where it is read (TokenService).
        services.AddCheckedOptions<AuthOptions>(configuration, "Auth", (o, p) =>
        {
            p.Positive(o.AccessTokenMinutes);
            p.Positive(o.RefreshTokenDays);
            p.NotNegative(o.RefreshRetrySeconds);
            p.Positive(o.CodeLifetimeMinutes);
            p.Positive(o.CodeMaxAttempts);
            p.Positive(o.CodeSendsPerIdentityPerHour);
            p.Positive(o.CodeSendsPerClientPerHour);
        });
        services.AddCheckedOptions<CodeDeliveryOptions>(configuration, "Codes", (o, p) =>
        {
            p.Require(o.Sender is not null && CodeSenders.Contains(o.Sender, StringComparer.OrdinalIgnoreCase), nameof(o.Sender), o.Sender, "must be file or webhook");
            if (IsWebhook(o.Sender))
            {
                p.Url(o.WebhookUrl, ["http", "https"]);
            }
        });
        services.AddSingleton<SigningKeyProvider>();
        services.AddSingleton<TokenService>();
        services.AddSingleton<SignInService>();
        if (IsWebhook(configuration["Codes:Sender"]))
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
                            || !Guid.TryParse(principal.FindFirst(CurrentUser.SessionClaim)?.Value, out var sessionId))
                        {
                            ctx.Fail("session ended");
                            return;
                        }

                        // Only the two claims the server uses, without the parsed token: a hub connection keeps its
                        // principal as long as it lives, and the JWT's claim set was a few KiB of every idle connection.
                        ctx.Principal = new ClaimsPrincipal(new ClaimsIdentity(
                            [new Claim("sub", principal.FindFirst("sub")!.Value), new Claim(CurrentUser.SessionClaim, principal.FindFirst(CurrentUser.SessionClaim)!.Value)],
                            JwtBearerDefaults.AuthenticationScheme, "sub", null));

                        var sessions = ctx.HttpContext.RequestServices.GetRequiredService<SessionStore>();
                        if (ctx.HttpContext.Request.Path.StartsWithSegments(HubPathPrefix))
                        {
                            // A hub connection: the same round trip also reads the chats whose groups it joins.
                            var epoch = ctx.HttpContext.RequestServices.GetRequiredService<Realtime.LiveConnections>().MembershipEpoch;
                            var chatIds = await sessions.ChatIdsIfActiveAsync(sessionId, accountId, ctx.HttpContext.RequestAborted);
                            if (chatIds is null)
                            {
                                ctx.Fail("session ended");
                                return;
                            }

                            ctx.HttpContext.Items[ConnectInfoKey] = new ConnectInfo(chatIds, epoch);
                        }
                        else if (!await sessions.IsActiveAsync(sessionId, accountId, ctx.HttpContext.RequestAborted))
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

/// <summary>What a hub request's session check also read: the person's chats, as of <see cref="Realtime.LiveConnections.MembershipEpoch"/>.</summary>
internal sealed record ConnectInfo(Guid[] ChatIds, long Epoch);
