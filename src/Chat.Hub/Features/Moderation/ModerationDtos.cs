using Chat.Storage.Moderation;

namespace Chat.Hub.Features.Moderation;

public sealed record RuleDto(Guid Id, int Number, string Text)
{
    public static RuleDto From(SchoolRule r) => new(r.Id, r.Number, r.Text);
}

public sealed record PutRuleBody(int? Number, string? Text);

/// <summary>A block or mute as the restricted member and the moderators see it: why (the rule) and until when.</summary>
public sealed record RestrictionDto(Guid ChatId, Guid AccountId, string Kind, int RuleNumber, string RuleText, string Reason, DateTime StartsAt, DateTime EndsAt, bool Lifted)
{
    public static RestrictionDto From(ChatRestriction r) =>
        new(r.ChatId, r.AccountId, r.Kind, r.RuleNumber, r.RuleText, r.Reason, r.StartsAt, r.EndsAt, r.LiftedAt is not null);
}

/// <summary>
/// A violation to record. <paramref name="ClientId"/>: the moderator's dialog's id — sent again after a lost answer it
/// records nothing more (a violation of a message counts once anyway).
/// </summary>
public sealed record ViolationRequest(Guid ChatId, Guid AccountId, Guid RuleId, long? MessageSeq, string? Note, Guid? ClientId = null);

public sealed record BlockRequest(Guid ChatId, Guid AccountId, Guid RuleId, DateTimeOffset Until, string? Reason);

public sealed record MuteRequest(Guid ChatId, Guid AccountId, Guid RuleId, int Minutes, string? Reason);

public sealed record RemoveMemberRequest(Guid ChatId, Guid AccountId, Guid RuleId, string? Reason);

public sealed record ReportRequest(Guid ChatId, long Seq, Guid RuleId, string? Comment);

public sealed record ReportDto(Guid Id, Guid ChatId, long MessageSeq, Guid ReporterId, int RuleNumber, string? Comment, string Status, string? Resolution, DateTime CreatedAt, Guid? SenderId, string MessageText)
{
    public static ReportDto From(MessageReport r) =>
        new(r.Id, r.ChatId, r.MessageSeq, r.ReporterId, r.RuleNumber, r.Comment, r.Status, r.Resolution, r.CreatedAt, r.SenderId, r.MessageText);
}

public sealed record ViolationCountDto(Guid ChatId, Guid AccountId, int Violations, bool MayBeBlocked);

public sealed record OpenCaseBody(string? Reason);

/// <summary>An opened moderation case: the admin moderates the chat until <c>ClosesAt</c> (24 hours).</summary>
public sealed record OpenCaseDto(Guid ChatId, DateTime ClosesAt);

/// <summary>
/// A chat of the school in the admin's list (no direct chats): the admin's own role there (null: not a member) and the
/// end of the admin's open moderation case on it (null: none).
/// </summary>
public sealed record SchoolChatDto(Guid Id, string Kind, Guid? ClassId, string Title, bool Archived, int MemberCount, string? MyRole, DateTime? CaseUntil)
{
    public static SchoolChatDto From(SchoolChatRow r) => new(r.Id, r.Kind, r.ClassId, r.Title, r.Archived, r.MemberCount, r.MyRole, r.CaseUntil);
}
