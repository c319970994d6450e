using System.Security.Cryptography;
using Chat.Hub.Features.Accounts;
using Chat.Hub.Features.Invites;
using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Storage.Audit;
using Chat.Storage.Chats;
using Chat.Storage.Infrastructure;
using Chat.Storage.Invites;
using Chat.Storage.Schools;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Features.Chats;

/// <summary>
/// Invite links to one chat. Only members of the chat's school can use them (a school is a closed space), joining is
/// voluntary, and the person accepts the chat's current rules, whose version is stored.
/// </summary>
public sealed class ChatInviteService(
    ChatService chatService,
    ChatStore chats,
    InviteStore invites,
    MembershipStore memberships,
    ChatDatabase database,
    AuditLog audit,
    LiveConnections live,
    IOptions<SiteOptions> site,
    TimeProvider clock)
{
    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    public async Task<InviteDto> CreateAsync(Guid chatId, Guid me, CreateChatInviteBody body, CancellationToken ct)
    {
        await chatService.ManagingRoleAsync(chatId, me, ct);
        var chat = await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);

        if (chat.SystemKey is not null || chat.Kind == "direct")
        {
            throw new ChatException(ChatError.ChatInviteNotAllowed);
        }

        ChatService.NotArchived(chat);
        await chatService.StaffInviterAsync(chat.SchoolId, me, ct);

        if (body.MaxUses is { } max && (max < 1 || max > 10_000))
        {
            throw ChatException.Field("maxUses", "Число использований — от 1 до 10000.");
        }

        if (body.ExpiresInHours is { } hours && (hours < 1 || hours > 24 * 366))
        {
            throw ChatException.Field("expiresInHours", "Срок действия — от 1 часа до 1 года.");
        }

        var expiresAt = body.ExpiresInHours is { } h ? Now.AddHours(h) : (DateTime?)null;
        var token = TokenService.Base64Url(RandomNumberGenerator.GetBytes(24));
        var link = await database.InTransactionAsync(async s =>
        {
            var link = await invites.CreateAsync(s, chat.SchoolId, token, "chat", null, null, me, expiresAt, body.MaxUses, ct, chatId);
            await audit.AppendAsync(s, chat.SchoolId, me, "chat_invite.created", link.Id, new { chatId, expiresAt, body.MaxUses }, ct);
            return link;
        }, ct);
        return InviteDto.From(link, site.Value.PublicUrl, Now);
    }

    /// <summary>
    /// The chat's links with their tokens, for its owners and moderators who are staff: a pupil or parent made a
    /// moderator would otherwise hand a teacher's link to any adult of the school (add_member_not_allowed).
    /// </summary>
    public async Task<IReadOnlyList<InviteDto>> ListAsync(Guid chatId, Guid me, CancellationToken ct)
    {
        await ManagingStaffAsync(chatId, me, ct);

        // A link whose maker may no longer invite lets nobody in: listed as revoked, as its preview says.
        var list = new List<InviteDto>();
        foreach (var link in await invites.ListForChatAsync(chatId, ct))
        {
            var dto = InviteDto.From(link, site.Value.PublicUrl, Now);
            list.Add(dto.State == "active" && !await MakerMayStillInviteAsync(link, ct) ? dto with { State = "revoked" } : dto);
        }

        return list;
    }

    /// <summary>The QR code of one of the chat's invite links, for those who may list them (the chat's owners and moderators).</summary>
    public async Task<byte[]> QrCodeAsync(Guid chatId, Guid inviteId, Guid me, CancellationToken ct)
    {
        var link = await ManagedLinkAsync(chatId, inviteId, me, ct);
        using var generator = new QRCoder.QRCodeGenerator();
        using var data = generator.CreateQrCode(InviteUrls.JoinUrl(site.Value.PublicUrl, link.Token), QRCoder.QRCodeGenerator.ECCLevel.M);
        return new QRCoder.PngByteQRCode(data).GetGraphic(8);
    }

    /// <summary>
    /// Revokes one of the chat's links, for those who may make them (the chat's owners and moderators): nobody can join
    /// by it any more, those who joined stay. Revoking a revoked link again changes nothing and is not audited again.
    /// </summary>
    public async Task<InviteDto> RevokeAsync(Guid chatId, Guid inviteId, Guid me, CancellationToken ct)
    {
        var link = await ManagedLinkAsync(chatId, inviteId, me, ct);
        var revoked = await database.InTransactionAsync(async s =>
        {
            // Only the request that revokes it writes the audit entry (two at once: one of them).
            if (await invites.RevokeAsync(s, link.SchoolId, link.Id, me, ct) is not { } now)
            {
                return null;
            }

            await audit.AppendAsync(s, link.SchoolId, me, "chat_invite.revoked", link.Id, new { chatId }, ct);
            return now;
        }, ct);
        return InviteDto.From(revoked ?? (await invites.GetAsync(link.SchoolId, link.Id, ct))!, site.Value.PublicUrl, Now);
    }

    /// <summary>
    /// One of the chat's links, for its owners and moderators who are staff: others of the chat get <c>moderator_only</c>
    /// (a pupil or parent moderator <c>add_member_not_allowed</c>), anyone else <c>chat_not_found</c>.
    /// </summary>
    private async Task<InviteLink> ManagedLinkAsync(Guid chatId, Guid inviteId, Guid me, CancellationToken ct)
    {
        await ManagingStaffAsync(chatId, me, ct);

        return (await invites.ListForChatAsync(chatId, ct)).FirstOrDefault(i => i.Id == inviteId) ?? throw new ChatException(ChatError.InviteNotFound);
    }

    /// <summary>Links bring people in: the chat's owners and moderators manage them only when they are the school's staff.</summary>
    private async Task ManagingStaffAsync(Guid chatId, Guid me, CancellationToken ct)
    {
        await chatService.ManagingRoleAsync(chatId, me, ct);
        var chat = await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        await chatService.StaffInviterAsync(chat.SchoolId, me, ct);
    }

    /// <summary>
    /// What a chat's link leads to, for members of its school only: a chat is inside the closed space of its school, so
    /// anyone else holding the link learns neither the chat's title nor its rules (<c>chat_invite_outsider</c>).
    /// </summary>
    public async Task<InvitePreviewDto> PreviewAsync(InviteLink link, string schoolName, Guid me, CancellationToken ct)
    {
        if (await memberships.GetAsync(link.SchoolId, me, ct) is null)
        {
            throw new ChatException(ChatError.ChatInviteOutsider);
        }

        // A link that no longer works (revoked, expired, used up, its maker no longer may invite) names no chat: its
        // title and rules are for those it lets in.
        var state = InviteUrls.State(link, Now);
        if (state == "active" && !await MakerMayStillInviteAsync(link, ct))
        {
            state = "revoked";
        }

        if (state != "active")
        {
            return new InvitePreviewDto(state, link.SchoolId, schoolName, link.Role, null, null, false);
        }

        var chat = await chats.GetAsync(link.ChatId!.Value, ct) ?? throw new ChatException(ChatError.InviteNotFound);
        if (chat.ArchivedAt is not null)
        {
            // Nobody joins an archived chat (AcceptAsync): said at once, not after «Принять».
            return new InvitePreviewDto("unavailable", link.SchoolId, schoolName, link.Role, null, null, false);
        }

        return new InvitePreviewDto(state, link.SchoolId, schoolName, link.Role, null, null, false, chat.Id, chat.Title, chat.Rules, chat.RulesVersion);
    }

    /// <summary>
    /// A chat's link works on its maker's authority (as a school's link does): while the maker is still an owner or
    /// moderator of the chat and staff of the school. Demoted, taken out of the chat, gone from the staff or the school:
    /// the link lets nobody in any more.
    /// </summary>
    private async Task<bool> MakerMayStillInviteAsync(InviteLink link, CancellationToken ct) =>
        (await chats.ActingRoleOfAsync(link.ChatId!.Value, link.CreatedBy, ct)).Role is "owner" or "moderator" // as a member, not through a case
        && (await memberships.GetAsync(link.SchoolId, link.CreatedBy, ct))?.IsStaff == true;

    /// <summary>Joins the chat of a link already locked and checked (active, not expired, not used up) by the caller.</summary>
    public async Task<(AcceptInviteResult Result, IReadOnlyList<MembershipChange> Changes)> AcceptAsync(DbScope s, InviteLink link, Guid me, int? acceptedRulesVersion, CancellationToken ct)
    {
        if (await memberships.GetAsync(s, link.SchoolId, me, ct) is null)
        {
            throw new ChatException(ChatError.ChatInviteOutsider);
        }

        var chat = await chats.GetAsync(link.ChatId!.Value, ct);
        if (chat is null || chat.ArchivedAt is not null)
        {
            throw new ChatException(ChatError.InviteNotFound);
        }

        if (!await MakerMayStillInviteAsync(link, ct))
        {
            throw new ChatException(ChatError.InviteRevoked);
        }

        if (acceptedRulesVersion != chat.RulesVersion)
        {
            throw new ChatException(ChatError.RulesNotAccepted);
        }

        var added = await chats.AddMemberAsync(s, chat.Id, me, "member", chat.RulesVersion, ct);
        await invites.CountUseAsync(s, link.Id, ct);
        await audit.AppendAsync(s, link.SchoolId, me, "chat_invite.accepted", link.Id, new { chatId = chat.Id, rulesVersion = chat.RulesVersion }, ct);
        return (new AcceptInviteResult("joined", link.SchoolId, null, chat.Id), added ? [new MembershipChange(chat.Id, me, true)] : []);
    }

    public Task ApplyAsync(IReadOnlyList<MembershipChange> changes) => live.ApplyMembershipAsync(changes);
}
