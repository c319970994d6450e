using System.Security.Claims;

namespace Chat.Hub.Infrastructure;

public static class CurrentUser
{
    public const string SessionClaim = "sid";

    public static Guid AccountId(this ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier) ?? user.FindFirstValue("sub"), out var id)
            ? id
            : throw new ChatException(ChatError.Unauthorized);

    public static Guid SessionId(this ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(SessionClaim), out var id) ? id : throw new ChatException(ChatError.Unauthorized);
}
