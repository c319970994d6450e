using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Chat.Signaling.Turn;

/// <summary>TURN settings (section Calls:Turn): the shared secret coturn checks with use-auth-secret, and the server URLs.</summary>
public sealed class TurnOptions
{
    public string? Secret { get; set; }

    public string[] Urls { get; set; } = [];

    /// <summary>How long credentials stay valid; short, since a leaked pair lets anyone relay through our TURN server.</summary>
    public TimeSpan Lifetime { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>An ICE server entry for RTCPeerConnection.</summary>
public sealed record IceServer(string[] Urls, string Username, string Credential, DateTimeOffset ExpiresAt);

/// <summary>
/// TURN REST API credentials (draft-uberti-behave-turn-rest, coturn use-auth-secret): the username is
/// "&lt;expiry-unix&gt;:&lt;accountId&gt;" and the password base64(HMAC-SHA1(secret, username)). They are per user and
/// short-lived; coturn refuses them after the expiry.
/// </summary>
public sealed class TurnCredentials(TurnOptions options, TimeProvider time)
{
    public bool Enabled => !string.IsNullOrEmpty(options.Secret) && options.Urls.Length > 0;

    public IceServer? For(Guid accountId)
    {
        if (!Enabled)
        {
            return null;
        }

        var expires = time.GetUtcNow() + options.Lifetime;
        var username = expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture) + ":" + accountId.ToString("N");
        return new IceServer(options.Urls, username, Password(options.Secret!, username), expires);
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Security", "CA5350", Justification = "The TURN REST API (coturn use-auth-secret) defines the password as HMAC-SHA1; the server cannot check anything else.")]
    public static string Password(string secret, string username) =>
        Convert.ToBase64String(HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(username)));
}
