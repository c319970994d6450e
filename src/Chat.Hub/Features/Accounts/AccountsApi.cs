using System.Security.Claims;
using Chat.Hub.Features.Invites;
using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Storage.Accounts;
using Chat.Storage.Invites;
using Chat.Storage.Schools;

namespace Chat.Hub.Features.Accounts;

public sealed record RequestCodeBody(string? Phone, string? Email);

public sealed record CodeSent(bool Sent, int ExpiresInSeconds);

public sealed record VerifyCodeBody(string? Phone, string? Email, string? Code, string? Device);

/// <param name="RenewalId">The client's random id of this renewal, repeated on a retry after a lost answer (docs/api.md).</param>
public sealed record RefreshBody(string? RefreshToken, string? RenewalId = null);

public sealed record TokenPair(string AccessToken, DateTimeOffset AccessTokenExpiresAt, string RefreshToken, Guid SessionId, MeDto Account, bool IsNewAccount);

/// <summary>The signed-in person's own account: the only DTO that carries their phone and e-mail.</summary>
public sealed record MeDto(Guid Id, string DisplayName, string? AvatarUrl, string? Phone, string? Email, bool IsOperator)
{
    public static MeDto From(Account a) => new(a.Id, a.DisplayName, a.AvatarUrl, a.Phone, a.Email, a.IsOperator);
}

public sealed record UpdateProfileBody(string? DisplayName, string? AvatarUrl);

public sealed record SessionDto(Guid Id, string? Device, DateTime CreatedAt, DateTime LastSeenAt, bool IsCurrent);

/// <summary>A school of mine with my roles in it; <c>IsClassTeacher</c>: of a class of it (the web client's «Приглашения»).</summary>
public sealed record MySchoolDto(Guid SchoolId, string Name, string Status, bool IsAdmin, bool IsTeacher, bool IsStudent, bool IsParent, bool IsClassTeacher);

public static class AccountsApi
{
    public static IEndpointRouteBuilder MapAccountsApi(this IEndpointRouteBuilder app)
    {
        var auth = app.MapGroup("/api/auth").WithTags("Sign-in");
        auth.MapPost("/code", RequestCode).AllowAnonymous();
        auth.MapPost("/verify", Verify).AllowAnonymous();
        auth.MapPost("/refresh", Refresh).AllowAnonymous();
        auth.MapPost("/sign-out", SignOut).RequireAuthorization();
        auth.MapPost("/sign-out-everywhere", SignOutEverywhere).RequireAuthorization();

        var me = app.MapGroup("/api/me").WithTags("My account").RequireAuthorization();
        me.MapGet("/", GetMe);
        me.MapPatch("/", UpdateMe);
        me.MapGet("/sessions", ListSessions);
        me.MapDelete("/sessions/{sessionId:guid}", EndSession);
        me.MapGet("/schools", MySchools);
        me.MapGet("/join-requests", MyJoinRequests);
        me.MapPost("/delete", async (DeleteAccountBody body, ClaimsPrincipal user, AccountDeletionService deletion, AccountStore accounts, CancellationToken ct) =>
        {
            await deletion.DeleteAsync(user.AccountId(), body, accounts, ct);
            return TypedResults.NoContent();
        });
        me.MapGet("/export", Export);
        return app;
    }

    private static async Task<IResult> RequestCode(RequestCodeBody body, SignInService signIn, HttpContext http, CancellationToken ct)
    {
        var identity = SignInIdentity.Parse(body.Phone, body.Email);
        var expires = await signIn.RequestCodeAsync(identity, http.Connection.RemoteIpAddress?.ToString(), ct);
        return TypedResults.Accepted((string?)null, new CodeSent(true, expires));
    }

    private static async Task<TokenPair> Verify(VerifyCodeBody body, SignInService signIn, CancellationToken ct)
    {
        var identity = SignInIdentity.Parse(body.Phone, body.Email);
        var result = await signIn.VerifyAsync(identity, body.Code?.Trim() ?? "", body.Device, ct);
        return ToPair(result);
    }

    private static async Task<TokenPair> Refresh(RefreshBody body, SignInService signIn, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body.RefreshToken) || body.RefreshToken.Length > 200)
        {
            throw ChatException.Field("refreshToken", "Передайте токен обновления.");
        }

        if (body.RenewalId is { } id && (id.Length < 16 || id.Length > 100))
        {
            throw ChatException.Field("renewalId", "Идентификатор обновления — от 16 до 100 символов.");
        }

        return ToPair(await signIn.RefreshAsync(body.RefreshToken, body.RenewalId, ct));
    }

    private static async Task<IResult> SignOut(ClaimsPrincipal user, SessionStore sessions, LiveConnections terminator, CancellationToken ct)
    {
        await sessions.RevokeAsync(user.AccountId(), user.SessionId(), ct);
        await terminator.EndSessionsAsync(user.AccountId(), [user.SessionId()]);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> SignOutEverywhere(ClaimsPrincipal user, SessionStore sessions, LiveConnections terminator, CancellationToken ct)
    {
        var ended = await sessions.RevokeAllAsync(user.AccountId(), ct);
        await terminator.EndSessionsAsync(user.AccountId(), null);
        return TypedResults.Ok(new { ended = ended.Count });
    }

    private static async Task<MeDto> GetMe(ClaimsPrincipal user, AccountStore accounts, CancellationToken ct) =>
        MeDto.From(await accounts.GetAsync(user.AccountId(), ct) ?? throw new ChatException(ChatError.Unauthorized));

    private static async Task<MeDto> UpdateMe(UpdateProfileBody body, ClaimsPrincipal user, AccountStore accounts, CancellationToken ct)
    {
        var name = Text.Required(body.DisplayName, "displayName", 100, "Имя должно содержать от 1 до 100 символов.");
        var avatar = Text.AvatarPath(body.AvatarUrl, "avatarUrl");

        var account = await accounts.UpdateProfileAsync(user.AccountId(), name, avatar, ct) ?? throw new ChatException(ChatError.Unauthorized);
        return MeDto.From(account);
    }

    private static async Task<IEnumerable<SessionDto>> ListSessions(ClaimsPrincipal user, SessionStore sessions, CancellationToken ct)
    {
        var current = user.SessionId();
        var list = await sessions.ListActiveAsync(user.AccountId(), ct);
        return list.Select(s => new SessionDto(s.Id, s.Device, s.CreatedAt, s.LastSeenAt, s.Id == current));
    }

    private static async Task<IResult> EndSession(Guid sessionId, ClaimsPrincipal user, SessionStore sessions, LiveConnections terminator, CancellationToken ct)
    {
        if (!await sessions.RevokeAsync(user.AccountId(), sessionId, ct))
        {
            throw new ChatException(ChatError.NotFound);
        }

        await terminator.EndSessionsAsync(user.AccountId(), [sessionId]);
        return TypedResults.NoContent();
    }

    private static async Task<IEnumerable<MySchoolDto>> MySchools(ClaimsPrincipal user, MembershipStore memberships, CancellationToken ct)
    {
        var list = await memberships.ListSchoolsOfAsync(user.AccountId(), ct);
        return list.Select(s => new MySchoolDto(s.SchoolId, s.Name, s.Status, s.IsAdmin, s.IsTeacher, s.IsStudent, s.IsParent, s.IsClassTeacher));
    }

    /// <summary>
    /// The caller's own join requests, each with the name of its school and class: the person is not (yet) a member, and
    /// must learn where a request waits or why it was refused.
    /// </summary>
    private static async Task<IEnumerable<JoinRequestDto>> MyJoinRequests(ClaimsPrincipal user, InviteStore invites, CancellationToken ct) =>
        (await invites.ListRequestsOfAccountAsync(user.AccountId(), ct)).Select(JoinRequestDto.Mine);

    /// <summary>Everything stored about the caller, as JSON (their own data export).</summary>
    private static async Task<IResult> Export(
        ClaimsPrincipal user, AccountStore accounts, SessionStore sessions, MembershipStore memberships, InviteStore invites,
        Chat.Storage.Chats.ChatStore chats, Chat.Storage.Messages.MessageStore messages, CancellationToken ct)
    {
        var me = user.AccountId();
        var account = await accounts.GetAsync(me, ct) ?? throw new ChatException(ChatError.Unauthorized);
        var export = new
        {
            exportedAt = DateTime.UtcNow,
            account = MeDto.From(account),
            account.CreatedAt,
            sessions = (await sessions.ListActiveAsync(me, ct)).Select(s => new { s.Id, s.Device, s.CreatedAt, s.LastSeenAt }),
            schools = await memberships.ListSchoolsOfAsync(me, ct),
            chats = (await chats.ListForMemberAsync(me, null, ct, withSuspended: true)).Select(c => new { c.Id, c.SchoolId, c.Kind, c.Title, c.Role, c.ReadSeq }),
            joinRequests = (await invites.ListRequestsOfAccountAsync(me, ct)).Select(JoinRequestDto.Mine),
            messages = (await messages.OwnMessagesAsync(me, 100_000, ct)).Select(m => new { m.ChatId, m.Seq, m.Kind, m.Text, m.CreatedAt, m.EditedAt, m.DeletedAt }),
        };
        return TypedResults.Json(export, ChatJson.Options, statusCode: 200);
    }

    private static TokenPair ToPair(SignedIn s) =>
        new(s.AccessToken, s.AccessTokenExpiresAt, s.RefreshToken, s.SessionId, MeDto.From(s.Account), s.IsNewAccount);
}
