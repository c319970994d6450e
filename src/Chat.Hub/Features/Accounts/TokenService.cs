using System.Security.Claims;
using System.Security.Cryptography;
using Chat.Hub.Infrastructure;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Chat.Hub.Features.Accounts;

/// <summary>Issues short-lived JWT access tokens and opaque refresh tokens (stored only as SHA-256 hashes).</summary>
public sealed class TokenService(IOptions<AuthOptions> options, SigningKeyProvider keys, TimeProvider clock)
{
    public (string Token, DateTimeOffset ExpiresAt) IssueAccessToken(Guid accountId, Guid sessionId)
    {
        var now = clock.GetUtcNow();
        var expires = now.AddMinutes(options.Value.AccessTokenMinutes);
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = options.Value.Issuer,
            Audience = options.Value.Issuer,
            Subject = new ClaimsIdentity([new Claim("sub", accountId.ToString()), new Claim(CurrentUser.SessionClaim, sessionId.ToString())]),
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = expires.UtcDateTime,
            SigningCredentials = new SigningCredentials(keys.Key, SecurityAlgorithms.HmacSha256),
        };
        return (new JsonWebTokenHandler().CreateToken(descriptor), expires);
    }

    public static string NewRefreshToken() => Base64Url(RandomNumberGenerator.GetBytes(32));

    public static byte[] Hash(string token) => SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(token));

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Holds the access-token signing key: from configuration, or a random one for this process only.</summary>
public sealed partial class SigningKeyProvider
{
    public SigningKeyProvider(IOptions<AuthOptions> options, ILogger<SigningKeyProvider> logger)
    {
        var configured = options.Value.SigningKey;
        byte[] bytes;
        if (string.IsNullOrWhiteSpace(configured))
        {
            bytes = RandomNumberGenerator.GetBytes(32);
            LogEphemeralKey(logger);
        }
        else
        {
            bytes = Convert.FromBase64String(configured);
            if (bytes.Length < 32)
            {
                throw new InvalidOperationException("Auth:SigningKey must be at least 32 bytes (base64).");
            }
        }

        Key = new SymmetricSecurityKey(bytes);
    }

    public SymmetricSecurityKey Key { get; }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Auth:SigningKey is not set: using a random key, so tokens die with this process and other nodes reject them.")]
    private static partial void LogEphemeralKey(ILogger logger);
}
