namespace Chat.Hub.Infrastructure;

/// <summary>Sign-in and token settings (section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    /// <summary>Base64 HMAC key for access tokens, at least 32 bytes. Every node of a deployment must share it.</summary>
    public string? SigningKey { get; set; }

    public string Issuer { get; set; } = "chat-hub";

    public int AccessTokenMinutes { get; set; } = 15;

    public int RefreshTokenDays { get; set; } = 30;

    /// <summary>
    /// How long a refresh may be retried with its spent token and the same renewal id (its answer was lost on a bad
    /// connection) before the spent token counts as a copy that revokes the session.
    /// </summary>
    public int RefreshRetrySeconds { get; set; } = 120;

    public int CodeLifetimeMinutes { get; set; } = 10;

    public int CodeMaxAttempts { get; set; } = 5;

    public int CodeSendsPerIdentityPerHour { get; set; } = 5;

    public int CodeSendsPerClientPerHour { get; set; } = 30;
}

/// <summary>Where sign-in codes go (section <c>Codes</c>).</summary>
public sealed class CodeDeliveryOptions
{
    /// <summary><c>file</c> (development: codes are appended to <see cref="DevFile"/>) or <c>webhook</c> (a real SMS/e-mail gateway).</summary>
    public string Sender { get; set; } = "file";

    public string DevFile { get; set; } = ".data/dev-codes.log";

    public string? WebhookUrl { get; set; }
}

/// <summary>Public facts about this deployment (section <c>Site</c>).</summary>
public sealed class SiteOptions
{
    /// <summary>The address people open; invite links and QR codes point here.</summary>
    public string PublicUrl { get; set; } = "http://localhost:5080";

    /// <summary>Origins allowed for browsers (CORS and the WebSocket Origin check); the site's own origin is always allowed.</summary>
    public string[] AllowedOrigins { get; set; } = [];
}
