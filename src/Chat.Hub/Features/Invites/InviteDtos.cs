using Chat.Storage.Invites;

namespace Chat.Hub.Features.Invites;

public sealed record CreateInviteBody(string? Role, Guid? ClassId, Guid? ChildId, DateTimeOffset? ExpiresAt, int? ExpiresInHours, int? MaxUses);

public sealed record InviteDto(
    Guid Id,
    string Token,
    string Url,
    string Role,
    Guid? ClassId,
    Guid? ChildId,
    Guid CreatedBy,
    DateTime CreatedAt,
    DateTime? ExpiresAt,
    int? MaxUses,
    int Uses,
    string State,
    Guid? ChatId)
{
    public static InviteDto From(InviteLink i, string publicUrl, DateTime now) =>
        new(i.Id, i.Token, InviteUrls.JoinUrl(publicUrl, i.Token), i.Role, i.ClassId, i.ChildId, i.CreatedBy, i.CreatedAt, i.ExpiresAt, i.MaxUses, i.Uses, InviteUrls.State(i, now), i.ChatId);
}

/// <summary>What someone holding a link sees before accepting it: which school, which role, which class.</summary>
/// <summary>For a chat link (<c>role: chat</c>) also the chat's title and rules: joining is voluntary and means accepting them.</summary>
public sealed record InvitePreviewDto(string State, Guid SchoolId, string SchoolName, string Role, string? ClassName, string? ChildName, bool RequiresApproval,
    Guid? ChatId = null, string? ChatTitle = null, string? ChatRules = null, int? RulesVersion = null);

/// <summary><c>AcceptRulesVersion</c>: for a chat link, the version of the chat's rules the person was shown and accepts.</summary>
public sealed record AcceptInviteBody(string? ChildName, int? AcceptRulesVersion = null);

public sealed record AcceptInviteResult(string Status, Guid SchoolId, Guid? JoinRequestId, Guid? ChatId = null);

public sealed record CreateChatInviteBody(int? ExpiresInHours, int? MaxUses);

public sealed record RevokeUnusedBody(Guid? ClassId);

/// <summary>
/// <c>ChildId</c>, or <c>ChildIds</c> for a parent of several children of the class (twins): the children a parent's
/// request through a class-wide link is for, picked by the approver; ignored for a one-child link's request.
/// </summary>
public sealed record DecideJoinRequestBody(Guid? ChildId, string? Reason, Guid[]? ChildIds = null);

public sealed record JoinRequestDto(
    Guid Id,
    Guid SchoolId,
    Guid AccountId,
    string DisplayName,
    string Role,
    Guid? ClassId,
    Guid? ChildId,
    string? ChildName,
    string Status,
    string? Reason,
    DateTime CreatedAt,
    DateTime? DecidedAt,
    string? SchoolName = null,
    string? ClassName = null)
{
    public static JoinRequestDto From(JoinRequest r) =>
        new(r.Id, r.SchoolId, r.AccountId, r.DisplayName, r.Role, r.ClassId, r.ChildId, r.ChildName, r.Status, r.Reason, r.CreatedAt, r.DecidedAt);

    /// <summary>A request of mine, with where it is.</summary>
    public static JoinRequestDto Mine((JoinRequest Request, RequestPlace Place) mine) =>
        From(mine.Request) with { SchoolName = mine.Place.SchoolName, ClassName = mine.Place.ClassName };
}

public static class InviteUrls
{
    public static string JoinUrl(string publicUrl, string token) => publicUrl.TrimEnd('/') + "/join/" + token;

    public static string State(InviteLink i, DateTime now) =>
        i.RevokedAt is not null ? "revoked" : i.IsExpired(now) ? "expired" : i.IsUsedUp ? "used_up" : "active";
}
