using System.Security.Cryptography;
using Chat.Hub.Features.Accounts;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Schools;
using Chat.Hub.Infrastructure;
using Chat.Storage.Audit;
using Chat.Storage.Infrastructure;
using Chat.Storage.Invites;
using Chat.Storage.Schools;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using QRCoder;

namespace Chat.Hub.Features.Invites;

/// <summary>
/// Invite links and join requests. A link belongs to one school and grants one role there (and a class, and maybe a
/// child); nothing about it ever reaches into another school.
/// </summary>
public sealed partial class InviteService(
    SchoolAccess access,
    SchoolStore schools,
    MembershipStore memberships,
    InviteStore invites,
    ChatDatabase database,
    AuditLog audit,
    RosterSync roster,
    ChatInviteService chatInvites,
    IOptions<SiteOptions> site,
    TimeProvider clock,
    IHubContext<Realtime.ChatHub, Realtime.IChatClient> hub,
    ILogger<InviteService> logger)
{
    private static readonly string[] Roles = ["student", "parent", "teacher"];

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    public async Task<InviteDto> CreateAsync(Guid schoolId, Guid me, CreateInviteBody body, CancellationToken ct)
    {
        // Access first: someone outside the school learns nothing, not even what a valid body looks like.
        var member = await access.ActiveMemberAsync(schoolId, me, ct);
        var role = body.Role ?? "";
        if (!Roles.Contains(role))
        {
            throw ChatException.Field("role", "Роль приглашения: student (ученик), parent (родитель) или teacher (учитель).");
        }

        if (body.MaxUses is { } max && (max < 1 || max > 10_000))
        {
            throw ChatException.Field("maxUses", "Число использований — от 1 до 10000.");
        }

        DateTime? expiresAt = body.ExpiresAt?.UtcDateTime;
        if (body.ExpiresInHours is { } hours)
        {
            if (hours < 1 || hours > 24 * 366)
            {
                throw ChatException.Field("expiresInHours", "Срок действия — от 1 часа до 1 года.");
            }

            expiresAt = Now.AddHours(hours);
        }

        if (expiresAt is { } at && at <= Now)
        {
            throw ChatException.Field("expiresAt", "Срок действия должен быть в будущем.");
        }

        var classId = body.ClassId;
        if (body.ChildId is { } childId)
        {
            if (role != "parent")
            {
                throw ChatException.Field("childId", "Ребёнка можно указать только в приглашении родителя.");
            }

            var child = (await memberships.GetAsync(schoolId, childId, ct))?.StudentClassId ?? throw new ChatException(ChatError.ChildNotFound);
            if (classId is not null && classId != child)
            {
                throw new ChatException(ChatError.ChildNotFound);
            }

            classId = child;
        }

        if (role is "student" or "parent")
        {
            if (classId is null)
            {
                throw ChatException.Field("classId", "Укажите класс, в который приглашаете.");
            }

            var cls = await schools.GetClassAsync(schoolId, classId.Value, ct);
            if (cls is null || cls.Kind == "staff_room" || cls.ArchivedAt is not null)
            {
                throw new ChatException(ChatError.ClassNotFound);
            }
        }
        else if (classId is not null)
        {
            throw ChatException.Field("classId", "Приглашение учителя не привязывается к классу.");
        }

        if (!CanManage(member, role, classId))
        {
            throw new ChatException(ChatError.InviteNotAllowed);
        }

        var token = TokenService.Base64Url(RandomNumberGenerator.GetBytes(24)); // 192 bits
        var link = await database.InTransactionAsync(async s =>
        {
            var link = await invites.CreateAsync(s, schoolId, token, role, classId, body.ChildId, me, expiresAt, body.MaxUses, ct);
            await audit.AppendAsync(s, schoolId, me, "invite.created", link.Id, new { role, classId, childId = body.ChildId, expiresAt, body.MaxUses }, ct);
            return link;
        }, ct);
        return InviteDto.From(link, site.Value.PublicUrl, Now);
    }

    public async Task<IReadOnlyList<InviteDto>> ListAsync(Guid schoolId, Guid me, Guid? classId, CancellationToken ct)
    {
        var member = await access.ActiveMemberAsync(schoolId, me, ct);
        if (!member.IsAdmin && member.ClassTeacherOf.Length == 0)
        {
            throw new ChatException(ChatError.InviteNotAllowed);
        }

        var list = await invites.ListAsync(schoolId, classId, null, ct);
        return list.Where(i => CanManage(member, i.Role, i.ClassId)).Select(i => InviteDto.From(i, site.Value.PublicUrl, Now)).ToList();
    }

    public async Task<InviteDto> RevokeAsync(Guid schoolId, Guid inviteId, Guid me, CancellationToken ct)
    {
        var member = await access.ActiveMemberAsync(schoolId, me, ct);
        var link = await invites.GetAsync(schoolId, inviteId, ct) ?? throw new ChatException(ChatError.InviteNotFound);
        if (!CanManage(member, link.Role, link.ClassId) && link.CreatedBy != me)
        {
            throw new ChatException(ChatError.InviteNotFound);
        }

        var revoked = await database.InTransactionAsync(async s =>
        {
            if (await invites.RevokeAsync(s, schoolId, inviteId, me, ct) is not { } now)
            {
                return null; // revoked before: nothing to audit
            }

            await audit.AppendAsync(s, schoolId, me, "invite.revoked", inviteId, null, ct);
            return now;
        }, ct);
        return InviteDto.From(revoked ?? (await invites.GetAsync(schoolId, inviteId, ct))!, site.Value.PublicUrl, Now);
    }

    public async Task<int> RevokeUnusedAsync(Guid schoolId, Guid me, Guid? classId, CancellationToken ct)
    {
        var member = await access.ActiveMemberAsync(schoolId, me, ct);
        if (classId is null ? !member.IsAdmin : !(member.IsAdmin || member.ClassTeacherOf.Contains(classId.Value)))
        {
            throw new ChatException(ChatError.InviteNotAllowed);
        }

        return await database.InTransactionAsync(async s =>
        {
            var count = await invites.RevokeUnusedAsync(s, schoolId, classId, me, ct);
            await audit.AppendAsync(s, schoolId, me, "invite.revoked_unused", classId, new { count }, ct);
            return count;
        }, ct);
    }

    public async Task<byte[]> QrCodeAsync(Guid schoolId, Guid inviteId, Guid me, CancellationToken ct)
    {
        var member = await access.ActiveMemberAsync(schoolId, me, ct);
        var link = await invites.GetAsync(schoolId, inviteId, ct) ?? throw new ChatException(ChatError.InviteNotFound);
        if (!CanManage(member, link.Role, link.ClassId))
        {
            throw new ChatException(ChatError.InviteNotFound);
        }

        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(InviteUrls.JoinUrl(site.Value.PublicUrl, link.Token), QRCodeGenerator.ECCLevel.M);
        return new PngByteQRCode(data).GetGraphic(8);
    }

    public async Task<InvitePreviewDto> PreviewAsync(string token, Guid me, CancellationToken ct)
    {
        var link = await invites.GetByTokenAsync(CheckToken(token), ct) ?? throw new ChatException(ChatError.InviteNotFound);
        var school = await schools.GetAsync(link.SchoolId, ct) ?? throw new ChatException(ChatError.InviteNotFound);
        if (link.Role == "chat")
        {
            return await chatInvites.PreviewAsync(link, school.Name, me, ct);
        }

        // A link that no longer works (revoked because it leaked, expired, used up) names the school only: not the class,
        // and never the child of a one-child link, to whoever holds it.
        var state = InviteUrls.State(link, Now);
        if (state != "active")
        {
            return new InvitePreviewDto(state, school.Id, school.Name, link.Role, null, null, RequiresApproval(school, link));
        }

        // A one-child link follows its child: moved to another class since, they are shown in their class now.
        var classId = link.ChildId is { } child ? (await memberships.GetAsync(link.SchoolId, child, ct))?.StudentClassId : link.ClassId;
        var cls = classId is { } c ? await schools.GetClassAsync(link.SchoolId, c, ct) : null;
        string? childName = null;
        if (link.ChildId is { } childId && classId is not null)
        {
            childName = (await memberships.ListRosterAsync(link.SchoolId, classId, ct)).FirstOrDefault(r => r.AccountId == childId)?.DisplayName;
        }

        return new InvitePreviewDto(state, school.Id, school.Name, link.Role, cls?.Name, childName, RequiresApproval(school, link));
    }

    public async Task<AcceptInviteResult> AcceptAsync(string token, Guid me, AcceptInviteBody body, CancellationToken ct)
    {
        token = CheckToken(token);
        var childName = Text.Optional(body.ChildName, "childName", 100);
        var schoolId = (await invites.GetByTokenAsync(token, ct))?.SchoolId ?? throw new ChatException(ChatError.InviteNotFound);
        var (result, changes) = await database.InTransactionAsync(async s =>
        {
            // The school first, then the link, as the roster sync (which revokes links) locks them: the other order
            // deadlocked an acceptance with a class teacher's detachment. A link whose maker may no longer make it is
            // revoked here first (links made before that rule existed, or left over), so it lets nobody in.
            var school = await schools.LockAsync(s, schoolId, ct) ?? throw new ChatException(ChatError.InviteNotFound);
            await invites.RevokeOrphanedAsync(s, schoolId, ct);
            var link = await invites.LockByTokenAsync(s, token, ct) ?? throw new ChatException(ChatError.InviteNotFound);
            if (link.RevokedAt is not null)
            {
                throw new ChatException(ChatError.InviteRevoked);
            }

            if (link.IsExpired(Now))
            {
                throw new ChatException(ChatError.InviteExpired);
            }

            if (link.IsUsedUp)
            {
                throw new ChatException(ChatError.InviteUsedUp);
            }

            if (school.IsSuspended)
            {
                throw new ChatException(ChatError.SchoolSuspended);
            }

            if (link.Role == "chat")
            {
                return await chatInvites.AcceptAsync(s, link, me, body.AcceptRulesVersion, ct);
            }

            // A one-child link leads to its child wherever they are now (moved to another class since, its old class
            // maybe archived); a class-wide link, to its class.
            var joinClass = link.ChildId is null ? link.ClassId : null;
            if (joinClass is { } linkClass && (await schools.GetClassAsync(link.SchoolId, linkClass, ct))?.ArchivedAt is not null)
            {
                throw new ChatException(ChatError.ClassNotFound); // the class was archived after the link was made: no request for it either
            }

            if (RequiresApproval(school, link))
            {
                if (link.Role == "parent" && link.ChildId is null && childName is null)
                {
                    throw ChatException.Field("childName", "Укажите имя и фамилию вашего ребёнка, чтобы классный руководитель связал вас с ним.");
                }

                var request = await invites.CreateRequestAsync(s, link.SchoolId, link.Id, me, link.Role, link.ClassId, link.ChildId, childName, ct);
                await invites.CountUseAsync(s, link.Id, ct);
                await audit.AppendAsync(s, link.SchoolId, me, "join_request.created", request.Id, new { link.Role, link.ClassId }, ct);
                return (new AcceptInviteResult("pending", link.SchoolId, request.Id), (IReadOnlyList<Chat.Storage.Chats.MembershipChange>)[]);
            }

            var joined = await JoinAsync(s, link.SchoolId, me, link.Role, joinClass, link.ChildId, ct);
            await invites.CountUseAsync(s, link.Id, ct);
            await audit.AppendAsync(s, link.SchoolId, me, "invite.accepted", link.Id, new { link.Role, link.ClassId, link.ChildId }, ct);
            return (new AcceptInviteResult("joined", link.SchoolId, null), [.. joined, .. await roster.SyncAsync(s, link.SchoolId, ct)]);
        }, ct);
        await roster.ApplyAsync(changes);
        if (result.JoinRequestId is { } waiting)
        {
            await TellDecidersAsync(result.SchoolId, await DecidersAsync(result.SchoolId, waiting));
        }

        return result;
    }

    /// <summary>
    /// Who may decide the request while it waits (read before a decision: once decided, a one-child link's request no
    /// longer follows its child's class). Best effort: nobody, if the database cannot say.
    /// </summary>
    private async Task<IReadOnlyList<Guid>> DecidersAsync(Guid schoolId, Guid requestId)
    {
        try
        {
            return await invites.DecidersAsync(schoolId, requestId, CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogTellFailed(logger, e, schoolId);
            return [];
        }
    }

    /// <summary>
    /// Tells those who may decide a request that the school's waiting requests changed (JoinRequestsChanged): a parent
    /// waiting at the start of the year is seen without anyone opening «Заявки». Best effort: the count is read again
    /// whenever their page connects.
    /// </summary>
    public async Task TellDecidersAsync(Guid schoolId, IReadOnlyList<Guid> deciders)
    {
        try
        {
            await hub.Clients.Users(deciders.Select(id => id.ToString()).ToList()).JoinRequestsChanged(schoolId);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogTellFailed(logger, e, schoolId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The deciders of a join request of school {SchoolId} could not be told")]
    private static partial void LogTellFailed(ILogger logger, Exception exception, Guid schoolId);

    public async Task<IReadOnlyList<JoinRequestDto>> ListRequestsAsync(Guid schoolId, Guid me, string? status, CancellationToken ct)
    {
        var member = await access.ActiveMemberAsync(schoolId, me, ct);
        if (!member.IsAdmin && member.ClassTeacherOf.Length == 0)
        {
            throw new ChatException(ChatError.Forbidden);
        }

        if (status is not (null or "pending" or "approved" or "rejected"))
        {
            throw ChatException.Field("status", "Статус: pending, approved или rejected.");
        }

        var list = await invites.ListRequestsAsync(schoolId, status, member.IsAdmin ? null : member.ClassTeacherOf, ct);
        return list.Select(JoinRequestDto.From).ToList();
    }

    /// <summary>The most children one approval links a parent to (twins, triplets, siblings in one class).</summary>
    public const int MaxChildrenPerRequest = 10;

    public async Task<JoinRequestDto> DecideAsync(Guid schoolId, Guid requestId, Guid me, bool approve, DecideJoinRequestBody body, CancellationToken ct)
    {
        var deciders = await DecidersAsync(schoolId, requestId);
        var (decided, changes) = await database.InTransactionAsync(async s =>
        {
            // As a link's acceptance, a move, a pupil's leaving: the children's classes read here stay theirs until this
            // commits. The decider's own rights are read after the lock too: an admin removed (or a class teacher
            // unassigned) a moment before decides nothing.
            var member = await access.MemberUnderLockAsync(s, schoolId, me, ct);
            var request = await invites.GetRequestAsync(s, schoolId, requestId, ct) ?? throw new ChatException(ChatError.JoinRequestNotFound);
            // A class teacher decides for their class; a parent's request through a one-child link, for the class its child is in now.
            var mayDecide = member.IsAdmin
                || (request.Role != "teacher" && await invites.DecidingClassAsync(s, requestId, ct) is { } cls && member.ClassTeacherOf.Contains(cls));
            if (!mayDecide)
            {
                throw new ChatException(ChatError.JoinRequestNotFound);
            }

            // Validated only for those who may decide: others learn nothing about the request.
            var reason = Text.Optional(body.Reason, "reason", 500);
            if (!approve && reason is null)
            {
                throw ChatException.Field("reason", "Укажите причину отказа: человек увидит её.");
            }

            if (request.Status != "pending")
            {
                throw new ChatException(ChatError.JoinRequestDecided);
            }

            // A deletion declines the person's waiting requests; one left waiting by an older deletion takes nobody in
            // (the deleted account would sit in the class, unlisted, and keep it from the archive). It can be declined.
            if (approve && await invites.RequesterDeletedAsync(s, requestId, ct))
            {
                throw new ChatException(ChatError.JoinRequestAccountDeleted);
            }

            // A parent's request through a one-child link names its child; through a class-wide link the approver picks
            // the child, or each of the children (twins, siblings) of the class at once.
            Guid[] children = request.Role != "parent" ? []
                : request.ChildId is { } named ? [named]
                : body.ChildIds is { Length: > 0 } picked ? [.. picked.Distinct()]
                : body.ChildId is { } one ? [one] : [];
            IReadOnlyList<Chat.Storage.Chats.MembershipChange> joined = [];
            if (approve)
            {
                if (request.Role == "parent" && children.Length == 0)
                {
                    throw new ChatException(ChatError.ChildRequired);
                }

                if (children.Length > MaxChildrenPerRequest)
                {
                    throw ChatException.Field("childIds", $"Не больше {MaxChildrenPerRequest} детей в одной заявке.");
                }

                // A class archived (emptied, or graduated) while the request waited takes nobody in: a pupil put there
                // would be in no class list and no class chat. The request can still be declined.
                if (request.ChildId is null && request.ClassId is { } requestClass
                    && (await schools.GetClassAsync(schoolId, requestClass, ct))?.ArchivedAt is not null)
                {
                    throw new ChatException(ChatError.ClassNotFound, detail: "Класс этой заявки уже в архиве: принять в него нельзя. Отклоните заявку — человек сможет вступить по ссылке нового класса.");
                }

                if (request.Role != "parent")
                {
                    joined = await JoinAsync(s, schoolId, request.AccountId, request.Role, request.ClassId, null, ct);
                }

                foreach (var child in children)
                {
                    // The child a one-child link named is followed to their class now; those the approver picks must be of the request's class.
                    await JoinAsync(s, schoolId, request.AccountId, request.Role, request.ChildId is null ? request.ClassId : null, child, ct);
                }
            }

            await invites.DecideRequestAsync(s, requestId, approve ? "approved" : "rejected", reason, me, approve && children.Length > 0 ? children[0] : null, ct);
            await audit.AppendAsync(s, schoolId, me, approve ? "join_request.approved" : "join_request.rejected", requestId,
                new { request.AccountId, reason, children = approve && children.Length > 0 ? children : null }, ct);
            IReadOnlyList<Chat.Storage.Chats.MembershipChange> changes = approve ? [.. joined, .. await roster.SyncAsync(s, schoolId, ct)] : [];
            return (JoinRequestDto.From((await invites.GetRequestAsync(s, schoolId, requestId, ct))!), changes);
        }, ct);
        await roster.ApplyAsync(changes);
        await TellDecidersAsync(schoolId, deciders);
        return decided;
    }

    /// <summary>
    /// Gives the person the role the link (or request) names. Idempotent for the same role and class. A pupil new to the
    /// class also joins its subject chats that hold the whole class (returned; the roster sync does the class's own chats).
    /// </summary>
    private async Task<IReadOnlyList<Chat.Storage.Chats.MembershipChange>> JoinAsync(DbScope s, Guid schoolId, Guid accountId, string role, Guid? classId, Guid? childId, CancellationToken ct)
    {
        await memberships.EnsureMemberAsync(s, schoolId, accountId, ct);
        switch (role)
        {
            case "student":
                if (await memberships.TryEnrolStudentAsync(s, schoolId, accountId, classId!.Value, ct))
                {
                    return await roster.JoinWholeClassSubjectChatsAsync(s, schoolId, accountId, classId.Value, ct);
                }

                if (await memberships.GetStudentClassAsync(s, schoolId, accountId, ct) != classId)
                {
                    throw new ChatException(ChatError.StudentAlreadyInClass);
                }

                break;
            case "parent" when childId is { } child:
                var childClass = await memberships.GetStudentClassAsync(s, schoolId, child, ct);
                if (childClass is null || (classId is not null && childClass != classId))
                {
                    throw new ChatException(ChatError.ChildNotFound);
                }

                if (child == accountId)
                {
                    throw new ChatException(ChatError.ChildNotFound);
                }

                await memberships.LinkParentAsync(s, schoolId, accountId, child, ct);
                break;
            case "parent":
                throw new ChatException(ChatError.ChildRequired);
            case "teacher":
                await memberships.MakeTeacherAsync(s, schoolId, accountId, ct);
                break;
        }

        return [];
    }

    private static bool RequiresApproval(Chat.Storage.Schools.School school, InviteLink link) => link.Role switch
    {
        "student" => school.ApproveStudents,
        "parent" => link.ChildId is null || school.ApproveParents, // a class-wide parent link needs someone to confirm the child
        _ => school.ApproveStaff,
    };

    /// <summary>
    /// Admins manage every link of the school; class teachers manage pupil and parent links of their own classes. A
    /// chat's link is not one of them: it belongs to the chat's moderators (ChatInviteService), and its token in an
    /// admin's list would let the admin into a chat she may read only through a moderation case.
    /// </summary>
    private static bool CanManage(SchoolMembership member, string role, Guid? classId) =>
        role != "chat" && (member.IsAdmin || (role is "student" or "parent" && classId is { } c && member.ClassTeacherOf.Contains(c)));

    private static string CheckToken(string token) =>
        token.Length is >= 16 and <= 64 && token.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_')
            ? token
            : throw new ChatException(ChatError.InviteNotFound);
}
