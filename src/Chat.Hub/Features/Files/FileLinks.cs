using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Chat.Hub.Features.Accounts;

namespace Chat.Hub.Features.Files;

/// <summary>A short-lived link to a file's bytes for the browser's own player or download.</summary>
public sealed record FileLinkDto(string Url, DateTimeOffset ExpiresAt);

/// <summary>
/// Short-lived links to a file's bytes for the browser's own media player and downloads. A video element or a download
/// link cannot send the Authorization header, so the page used to fetch a whole file into memory before showing it: a
/// 300 MB lesson on 3G showed nothing until its last byte, could not seek, started over after a dropped connection and
/// stayed in memory. A link names the file, the reader and their session and expires after <see cref="Lifetime"/>; it is
/// signed with a key derived from Auth:SigningKey. Following it authorizes again against the database (the session still
/// live, the reader still allowed the file: FilesApi), so signing out or leaving the chat ends it. Request URLs are not
/// logged (Microsoft.AspNetCore.Hosting.Diagnostics is off).
/// </summary>
public sealed class FileLinks(SigningKeyProvider keys, TimeProvider clock)
{
    /// <summary>Long enough for a lesson's recording watched with pauses; the page asks for a new one after that (files.js).</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(4);

    private readonly byte[] key = HMACSHA256.HashData(keys.Key.Key, "chat.file-links.v1"u8);

    public FileLinkDto Create(Guid fileId, Guid accountId, Guid sessionId)
    {
        var expires = clock.GetUtcNow().Add(Lifetime).ToUnixTimeSeconds();
        var query = string.Create(CultureInfo.InvariantCulture, $"a={accountId:N}&s={sessionId:N}&e={expires}&k={Sign(fileId, accountId, sessionId, expires)}");
        return new FileLinkDto($"/api/files/{fileId}/stream?{query}", DateTimeOffset.FromUnixTimeSeconds(expires));
    }

    /// <summary>The reader and session a link names, when it is this server's, for this file, and not expired; else null.</summary>
    public (Guid AccountId, Guid SessionId)? Verify(Guid fileId, string? account, string? session, string? expires, string? signature)
    {
        if (!Guid.TryParseExact(account, "N", out var accountId) || !Guid.TryParseExact(session, "N", out var sessionId)
            || !long.TryParse(expires, NumberStyles.None, CultureInfo.InvariantCulture, out var exp) || signature is null
            || exp <= clock.GetUtcNow().ToUnixTimeSeconds())
        {
            return null;
        }

        var expected = Encoding.ASCII.GetBytes(Sign(fileId, accountId, sessionId, exp));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(signature)) ? (accountId, sessionId) : null;
    }

    private string Sign(Guid fileId, Guid accountId, Guid sessionId, long expires) =>
        Base64Url(HMACSHA256.HashData(key, Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{fileId:N}.{accountId:N}.{sessionId:N}.{expires}"))));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
