using System.Security.Cryptography;
using System.Text;
using Chat.Hub.Features.Chats;
using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Storage.Accounts;
using Chat.Storage.Infrastructure;
using Chat.Storage.Schools;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Features.Accounts;

public sealed record SignedIn(string AccessToken, DateTimeOffset AccessTokenExpiresAt, string RefreshToken, Guid SessionId, Account Account, bool IsNewAccount);

/// <summary>
/// Sign-in by one-time code. The answer to "send me a code" is the same whether or not an account exists:
/// no account is looked up until the code is verified, and accounts are created on first sign-in.
/// </summary>
public sealed partial class SignInService(
    IOptions<AuthOptions> options,
    SigningKeyProvider keys,
    SignInCodeStore codes,
    SessionStore sessions,
    AccountStore accounts,
    SchoolStore schools,
    ChatDatabase database,
    TokenService tokens,
    ICodeSender sender,
    LiveConnections terminator,
    RosterSync roster,
    TimeProvider clock,
    ILogger<SignInService> logger)
{
    public const string NewAccountName = "Новый пользователь";

    private AuthOptions Options => options.Value;

    public async Task<int> RequestCodeAsync(SignInIdentity identity, string? clientAddress, CancellationToken ct)
    {
        var identityHash = Mac("identity:" + identity.Kind + ":" + identity.Value);
        var since = clock.GetUtcNow().AddHours(-1).UtcDateTime;
        var (forIdentity, forClient) = await codes.CountRecentAsync(identityHash, clientAddress, since, ct);
        if (forIdentity >= Options.CodeSendsPerIdentityPerHour || forClient >= Options.CodeSendsPerClientPerHour)
        {
            LogSendLimited(logger, identity.Masked);
            throw new ChatException(ChatError.CodeSendLimit);
        }

        var code = RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
        var lifetime = TimeSpan.FromMinutes(Math.Min(Options.CodeLifetimeMinutes, 10));
        await codes.InsertAsync(identityHash, CodeHash(identityHash, code), clientAddress, clock.GetUtcNow().Add(lifetime).UtcDateTime, ct);
        await sender.SendAsync(identity, code, ct);
        return (int)lifetime.TotalSeconds;
    }

    public async Task<SignedIn> VerifyAsync(SignInIdentity identity, string code, string? device, CancellationToken ct)
    {
        if (code.Length != 6 || !code.All(char.IsAsciiDigit))
        {
            throw ChatException.Field("code", "Код состоит из 6 цифр.");
        }

        var identityHash = Mac("identity:" + identity.Kind + ":" + identity.Value);
        var attempt = await codes.TakeAttemptAsync(identityHash, Options.CodeMaxAttempts, ct);
        if (attempt is null)
        {
            throw new ChatException(ChatError.CodeExpired);
        }

        if (attempt.Attempts > Options.CodeMaxAttempts)
        {
            // The attempts are spent: not even the right code works any more.
            throw new ChatException(ChatError.CodeAttemptsExceeded);
        }

        if (!CryptographicOperations.FixedTimeEquals(attempt.CodeHash, CodeHash(identityHash, code)))
        {
            throw new ChatException(attempt.Attempts >= Options.CodeMaxAttempts ? ChatError.CodeAttemptsExceeded : ChatError.CodeInvalid);
        }

        var refresh = TokenService.NewRefreshToken();
        var (account, session, isNew) = await database.InTransactionAsync(async s =>
        {
            if (!await codes.ConsumeAsync(s, attempt.Id, ct))
            {
                throw new ChatException(ChatError.CodeExpired);
            }

            var account = await accounts.GetOrCreateAsync(s, identity.Phone, identity.Email, NewAccountName, ct);
            foreach (var schoolId in await schools.ClaimPendingAdminAsync(s, account.Id, account.Phone, account.Email, ct))
            {
                await roster.SyncAsync(s, schoolId, ct); // no live connections yet, so nothing to apply after commit
            }

            var session = await sessions.CreateAsync(s, account.Id, TokenService.Hash(refresh), Label(device, 200), RefreshExpiry(), ct);
            return (account, session, account.DisplayName == NewAccountName);
        }, ct);

        var (access, expiresAt) = tokens.IssueAccessToken(account.Id, session.Id);
        return new SignedIn(access, expiresAt, refresh, session.Id, account, isNew);
    }

    /// <summary>
    /// Renews a session's pair. <paramref name="renewalId"/> is the client's id of this renewal, repeated when it retries
    /// after a lost answer (see <see cref="AuthOptions.RefreshRetrySeconds"/>); without it a retry revokes the session.
    /// </summary>
    public async Task<SignedIn> RefreshAsync(string refreshToken, string? renewalId, CancellationToken ct)
    {
        var next = TokenService.NewRefreshToken();
        var (outcome, session) = await sessions.RotateAsync(
            TokenService.Hash(refreshToken), TokenService.Hash(next), RefreshExpiry(),
            renewalId is null ? null : TokenService.Hash(renewalId), TimeSpan.FromSeconds(Options.RefreshRetrySeconds), ct);
        if (outcome == RefreshOutcome.Reused && session is not null)
        {
            // A rotated token came back: someone holds a copy. The session is revoked; close its live connections.
            await terminator.EndSessionsAsync(session.AccountId, [session.Id]);
        }

        if (outcome != RefreshOutcome.Rotated || session is null)
        {
            throw new ChatException(ChatError.RefreshInvalid);
        }

        var account = await accounts.GetAsync(session.AccountId, ct) ?? throw new ChatException(ChatError.RefreshInvalid);
        var (access, expiresAt) = tokens.IssueAccessToken(account.Id, session.Id);
        return new SignedIn(access, expiresAt, next, session.Id, account, false);
    }

    /// <summary>Deletes the sign-in codes of a phone and e-mail (account deletion): they are stored only as keyed hashes.</summary>
    public async Task ForgetCodesAsync(DbScope s, string? phone, string? email, CancellationToken ct)
    {
        foreach (var (kind, value) in new[] { ("phone", phone), ("email", email) })
        {
            if (value is not null)
            {
                await codes.DeleteAsync(s, Mac("identity:" + kind + ":" + value), ct);
            }
        }
    }

    private DateTime RefreshExpiry() => clock.GetUtcNow().AddDays(Options.RefreshTokenDays).UtcDateTime;

    private byte[] Mac(string value) => HMACSHA256.HashData(keys.Key.Key, Encoding.UTF8.GetBytes(value));

    private byte[] CodeHash(byte[] identityHash, string code) =>
        HMACSHA256.HashData(keys.Key.Key, (byte[])[.. identityHash, .. Encoding.ASCII.GetBytes(code)]);

    /// <summary>A free-form label from the client (the device name): control characters dropped, bounded in length.</summary>
    private static string? Label(string? value, int max)
    {
        var clean = value is null ? null : new string(value.Where(c => !char.IsControl(c)).ToArray()).Trim();
        return string.IsNullOrEmpty(clean) ? null : Text.Cut(clean, max);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sign-in code send limit reached for {Destination}")]
    private static partial void LogSendLimited(ILogger logger, string destination);
}
