using System.Text.Json;
using Chat.Hub.Features.Files;
using Chat.Hub.Features.Polls;
using Chat.Storage.Chats;
using Chat.Storage.Messages;

namespace Chat.Hub.Features.Chats;

/// <summary>
/// A chat in "my chats": what the member needs to show it in a list. <c>LiveCall</c>: the call going on in it now (null
/// when none, or for a member blocked there), so the list can mark it before the chat is opened. <c>RosterKept</c>: the
/// school's roster keeps who is in it (class, parents', staff room, the channels, «Администрация», audience chats):
/// nobody leaves it or is made its owner by hand.
/// </summary>
public sealed record ChatSummaryDto(
    Guid Id,
    Guid SchoolId,
    string Kind,
    Guid? ClassId,
    string Title,
    string? AvatarUrl,
    bool ReadOnly,
    bool CanPost,
    int SlowModeSeconds,
    string Role,
    long LastSeq,
    DateTime? LastMessageAt,
    long ReadSeq,
    int UnreadCount,
    int MentionCount,
    int MemberCount,
    bool Pinned,
    DateTime? MutedUntil,
    int RulesVersion,
    bool RulesAccepted,
    Guid? PeerId,
    MessageDto? LastMessage,
    bool Archived = false,
    LiveCallSummaryDto? LiveCall = null,
    bool RosterKept = false)
{
    public static ChatSummaryDto From(MyChatRow r, MessageDto? last) =>
        new(r.Id, r.SchoolId, r.Kind, r.ClassId, r.Kind == "direct" && r.PeerName is not null ? r.PeerName : r.Title, r.AvatarUrl, r.ReadOnly,
            !r.Archived && (!r.ReadOnly || r.Role != "member"), r.SlowModeSeconds, r.Role, r.LastSeq, r.LastMessageAt, r.ReadSeq, r.UnreadCount, r.MentionCount,
            r.MemberCount, r.Pinned, r.MutedUntil, r.RulesVersion, r.RulesAcceptedVersion >= r.RulesVersion || r.Kind == "direct", r.PeerId,
            r.ReadOnly && r.Role == "member" ? last?.NamingOnly(null) : last, r.Archived, // a channel's reader: its reactions name nobody
            r.LiveCallId is { } call ? new LiveCallSummaryDto(call, r.LiveCallKind ?? "call") : null, r.RosterKept);
}

/// <summary>A chat's live call as its list entry shows it. Kind: "call", "lesson" (lesson mode) or "broadcast".</summary>
public sealed record LiveCallSummaryDto(Guid CallId, string Kind);

/// <summary>
/// What every member of a chat sees alike after it was renamed, got another avatar, or was archived or restored (the
/// <c>ChatUpdated</c> push). A member's own <c>canPost</c> follows from it: not archived, and not read-only unless the
/// member moderates.
/// </summary>
public sealed record ChatUpdatedDto(Guid ChatId, string Title, string? AvatarUrl, bool ReadOnly, bool Archived)
{
    public static ChatUpdatedDto From(ChatRow c) => new(c.Id, c.Title, c.AvatarUrl, c.ReadOnly, c.ArchivedAt is not null);
}

/// <summary>
/// One chat opened: its summary, rules and, in chats of at most <see cref="Messages.MessageService.ReadReceiptsLimit"/>
/// members, the furthest read position among the other members (my messages up to it were read; null in bigger chats).
/// <c>CaseUntil</c>: for a school admin who is not a member but has an open moderation case on the chat, when the case
/// (and with it the admin's moderator rights there) ends; null for members. <c>PinnedMessage</c>: the message pinned above
/// the chat (<c>PinMessage</c>), null when none is or it was deleted.
/// </summary>
public sealed record ChatDetailsDto(ChatSummaryDto Chat, string Rules, long? OthersReadSeq = null, DateTime? CaseUntil = null, MessageDto? PinnedMessage = null);

/// <summary><c>CanMessage</c>: whether the asker may write to this member directly (DirectChatPolicy), for «Написать».</summary>
public sealed record ChatMemberDto(Guid AccountId, string DisplayName, string? AvatarUrl, string Role, bool VerifiedTeacher, bool CanMessage = false);

public sealed record ReactionDto(string Emoji, int Count, Guid[] By);

public sealed record MessageDto(
    Guid ChatId,
    long Seq,
    Guid? SenderId,
    string? SenderName,
    Guid ClientId,
    string Kind,
    string Text,
    long? ReplyToSeq,
    JsonElement? ForwardedFrom,
    Guid[] Mentions,
    DateTime CreatedAt,
    DateTime? EditedAt,
    bool Deleted,
    long Version,
    IReadOnlyList<ReactionDto> Reactions,
    PollDto? Poll = null,
    IReadOnlyList<FileDto>? Files = null)
{
    private static readonly JsonSerializerOptions ReadOptions = new(JsonSerializerDefaults.Web);

    /// <summary>Whether its reactions name anyone (what <see cref="NamingOnly"/> would change).</summary>
    public bool NamesReacters => Reactions.Any(r => r.By.Length > 0);

    /// <summary>
    /// The message as a channel's reader sees it: its reactions counted, naming nobody but <paramref name="viewer"/>
    /// (who needs to know their own to take it back), since a channel's readers are not shown to each other; null
    /// names nobody at all (a push to the whole channel).
    /// </summary>
    public MessageDto NamingOnly(Guid? viewer) => NamesReacters
        ? this with { Reactions = Reactions.Select(r => r with { By = viewer is { } v && r.By.Contains(v) ? [v] : [] }).ToList() }
        : this;

    public static MessageDto From(MessageRow m) =>
        new(m.ChatId, m.Seq, m.SenderId, m.SenderId is null ? null : m.SenderName ?? "Удалённый пользователь", m.ClientId, m.Kind, m.Text, m.ReplyToSeq,
            m.ForwardedFrom is null ? null : JsonSerializer.Deserialize<JsonElement>(m.ForwardedFrom),
            m.Mentions, m.CreatedAt, m.EditedAt, m.IsDeleted, m.VersionSeq,
            m.Reactions is null ? [] : JsonSerializer.Deserialize<List<ReactionDto>>(m.Reactions, ReadOptions) ?? [],
            m.Poll is null ? null : JsonSerializer.Deserialize<PollDto>(m.Poll, ReadOptions),
            m.Files is null ? null : JsonSerializer.Deserialize<List<FileDto>>(m.Files, ReadOptions));
}

/// <summary>
/// <c>SearchMessagesPage</c>: <c>ChatId</c> limits the search to one chat (then <c>SchoolId</c> is not used);
/// <c>Before</c> is the previous page's <c>Next</c>; <c>Limit</c> 1–50 (50 when absent).
/// </summary>
public sealed record SearchRequest(string? Query, Guid? SchoolId = null, Guid? ChatId = null, SearchCursor? Before = null, int? Limit = null);

/// <summary>Where the next page of a search starts: just below this hit (newest first by time, then chat, then seq).</summary>
public sealed record SearchCursor(DateTime CreatedAt, Guid ChatId, long Seq);

/// <summary>A found message and the words of its text that matched the query (lower-case plain text, for highlighting).</summary>
public sealed record SearchHitDto(MessageDto Message, IReadOnlyList<string> Words);

/// <summary>One page of hits, newest first; <c>Next</c> is null when there are no more.</summary>
public sealed record SearchPageDto(IReadOnlyList<SearchHitDto> Hits, SearchCursor? Next);

/// <summary>One entry of a chat's sequence: <c>message</c>, or <c>edited</c> / <c>deleted</c> / <c>reactions</c> with the message as it is now.</summary>
public sealed record ChatEventDto(Guid ChatId, long Seq, string Type, MessageDto Message)
{
    public static ChatEventDto From(Guid chatId, ChatEventRow e) => new(chatId, e.Seq, e.Type, MessageDto.From(e.Message));
}

/// <summary>Catch-up page: the events after a seq. <c>HasMore</c>: ask again after the last one.</summary>
public sealed record ChatUpdatesDto(Guid ChatId, long LastSeq, IReadOnlyList<ChatEventDto> Events, bool HasMore);

public sealed record SendMessageRequest(Guid ChatId, Guid ClientId, string? Text, long? ReplyToSeq, Guid[]? Mentions);

public sealed record ForwardMessageRequest(Guid FromChatId, long Seq, Guid ToChatId, Guid ClientId);

public sealed record CreateChatRequest(Guid SchoolId, string? Kind, string? Title, Guid? ClassId, string? Rules, Guid[]? MemberIds, ChannelAudience? Audience = null);

/// <summary>
/// Whom an admin's channel is for, kept in sync with the roster: <c>roles</c> among student, parent, staff; with
/// <c>classIds</c>, pupils and parents of those classes only (staff are never narrowed by class).
/// </summary>
public sealed record ChannelAudience(string[]? Roles, Guid[]? ClassIds);

public sealed record UpdateChatRequest(string? Title, string? Rules, int? SlowModeSeconds, string? AvatarUrl = null);

public sealed record ChatPreferencesRequest(bool? Pinned, DateTimeOffset? MutedUntil, bool? Unmute);

public sealed record ReadByDto(long Seq, int Count, IReadOnlyList<Guid>? AccountIds);

public sealed record TypingDto(Guid ChatId, Guid AccountId, string Name);

public sealed record ReadPositionDto(Guid ChatId, Guid AccountId, long Seq);
