using Chat.Hub.Features.Messages;
using Chat.Hub.Features.Schools;
using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Storage.Audit;
using Chat.Storage.Chats;
using Chat.Storage.Infrastructure;
using Chat.Storage.Messages;
using Chat.Storage.Schools;

namespace Chat.Hub.Features.Chats;

/// <summary>Chats: listing mine, direct chats within the school's policy, group chats made by staff, members, settings.</summary>
public sealed class ChatService(
    ChatStore chats,
    MessageStore messages,
    SchoolAccess access,
    SchoolStore schools,
    MembershipStore memberships,
    ChatDatabase database,
    LiveConnections live,
    AuditLog audit,
    ChannelAudienceStore audiences,
    PersonBlockStore personBlocks,
    ChatPush push)
{
    public const int MaxTitle = 200;

    /// <summary>Chats up to this many listed members say for each whether I may write to them (<c>canMessage</c>).</summary>
    public const int MaxMessageableListed = 500;
    public const int MaxRules = 4000;

    public async Task<IReadOnlyList<ChatSummaryDto>> ListMineAsync(Guid me, Guid? schoolId, CancellationToken ct)
    {
        var rows = await chats.ListForMemberAsync(me, schoolId, ct);
        // The last message of every chat in one statement (a teacher has dozens of chats; one query each was slow).
        var latest = (await messages.LatestOfChatsAsync(rows.Where(r => r.LastSeq > 0).Select(r => r.Id).ToList(), ct))
            .ToDictionary(m => m.ChatId);
        return rows.Select(r => ChatSummaryDto.From(r, latest.TryGetValue(r.Id, out var last) ? MessageDto.From(last) : null)).ToList();
    }

    public async Task<ChatDetailsDto> GetAsync(Guid chatId, Guid me, CancellationToken ct)
    {
        var row = await chats.GetForMemberAsync(chatId, me, ct);
        DateTime? caseUntil = null;
        if (row is null)
        {
            // A school admin who opened a moderation case reads the chat as its moderator until the case closes.
            caseUntil = await chats.OpenCaseUntilAsync(chatId, me, ct) ?? throw new ChatException(ChatError.ChatNotFound);
            row = await chats.GetForCaseAsync(chatId, me, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        }

        var chat = await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        // Others' read positions are pushed to every member of a chat this small anyway; bigger chats keep them private.
        long? othersRead = row.MemberCount <= MessageService.ReadReceiptsLimit ? await chats.OthersReadSeqAsync(chatId, me, ct) : null;
        var summary = ChatSummaryDto.From(row, await LastMessageAsync(row, ct));
        var pinned = await messages.PinnedAsync(chatId, ct) is { } p ? MessageDto.From(p) : null;
        if (pinned is { NamesReacters: true } && chat.ReadOnly && row.Role == "member")
        {
            pinned = pinned.NamingOnly(me); // a channel's readers are not shown to each other
        }

        // A case lets the admin moderate, not take part: sends need membership (the batch statement checks it).
        return new ChatDetailsDto(caseUntil is null ? summary : summary with { CanPost = false }, chat.Rules, othersRead, caseUntil, pinned);
    }

    /// <summary>The member's role in the chat, checked in the database; "chat not found" for anyone else.</summary>
    public async Task<string> RoleAsync(Guid chatId, Guid me, CancellationToken ct) =>
        await chats.RoleOfAsync(chatId, me, ct) ?? throw new ChatException(ChatError.ChatNotFound);

    /// <summary>
    /// The role of a member of the chat, whatever the chat's state or their restrictions there; an admin's moderation
    /// case gives none (it lets them read and moderate the chat, not carry its messages elsewhere): "chat not found".
    /// </summary>
    public async Task<string> MemberRoleAsync(Guid chatId, Guid me, CancellationToken ct) =>
        (await chats.ActingRoleOfAsync(chatId, me, ct)).Role ?? throw new ChatException(ChatError.ChatNotFound);

    /// <summary>
    /// The role of an owner or moderator of the chat as a member, for managing who is in it (adding people, invite
    /// links): a plain member, and an admin whose moderation case lets them moderate the chat without being in it, get
    /// <c>moderator_only</c> (a case must not turn into a lasting, unlogged place in the chat); anyone else
    /// <c>chat_not_found</c>.
    /// </summary>
    public async Task<string> ManagingRoleAsync(Guid chatId, Guid me, CancellationToken ct)
    {
        var role = (await chats.ActingRoleOfAsync(chatId, me, ct)).Role;
        if (role is null)
        {
            await RoleAsync(chatId, me, ct); // chat_not_found unless a case lets them see it
        }

        return role is "owner" or "moderator" ? role : throw new ChatException(ChatError.ModeratorOnly);
    }

    /// <summary>
    /// The role of someone who wants to act (post, react, vote, upload, call) in the chat: a member (an admin's
    /// moderation case gives none: it lets them moderate, not take part) of a chat that is not archived
    /// (<c>chat_archived</c>), who is not blocked or muted there. A blocked member sees why and until when.
    /// </summary>
    public Task<string> ActingRoleAsync(Guid chatId, Guid me, CancellationToken ct) => UnrestrictedRoleAsync(chatId, me, mutedToo: true, ct);

    /// <summary>
    /// The role of someone who wants to be in the chat's call (join, listen, watch, raise a hand): a member who is not
    /// blocked there. A muted member may attend — a mute limits writing — but not publish (<see cref="ActingRoleAsync"/>).
    /// </summary>
    public Task<string> AttendingRoleAsync(Guid chatId, Guid me, CancellationToken ct) => UnrestrictedRoleAsync(chatId, me, mutedToo: false, ct);

    /// <summary>
    /// An archived chat (its class was archived or graduated) keeps its history as it was: nobody is added to it, and
    /// its title, rules and roles stay (<c>chat_archived</c>); restoring the class opens it again.
    /// </summary>
    public static void NotArchived(ChatRow chat)
    {
        if (chat.ArchivedAt is not null)
        {
            throw new ChatException(ChatError.ChatArchived);
        }
    }

    private static string Iso(DateTime? utc) =>
        utc is { } t ? DateTime.SpecifyKind(t, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm'Z'", System.Globalization.CultureInfo.InvariantCulture) : "";

    private async Task<string> UnrestrictedRoleAsync(Guid chatId, Guid me, bool mutedToo, CancellationToken ct)
    {
        var (role, archived, restriction, until) = await chats.ActingRoleOfAsync(chatId, me, ct);
        if (role is null)
        {
            throw new ChatException(ChatError.ChatNotFound);
        }

        if (archived)
        {
            throw new ChatException(ChatError.ChatArchived);
        }

        return restriction switch
        {
            // The end as ISO 8601 UTC: clients show it in the reader's local time (as in call announcements).
            "block" => throw new ChatException(ChatError.MemberBlocked, detail: $"Вы заблокированы в этом чате до {Iso(until)}."),
            "mute" when mutedToo => throw new ChatException(ChatError.MemberMuted, detail: $"Модератор ограничил вам сообщения, реакции и голосования в этом чате до {Iso(until)}."),
            _ => role,
        };
    }

    /// <summary>
    /// The chat's members. A channel's reader gets only who writes there (its owners and moderators): the school
    /// channel's readers are every pupil and parent of the school, and the school's member list shows pupils and parents
    /// only their own classes' (SchoolService.MembersAsync); its owners and moderators see all its readers.
    /// </summary>
    public async Task<IReadOnlyList<ChatMemberDto>> MembersAsync(Guid chatId, Guid me, CancellationToken ct)
    {
        var role = await RoleAsync(chatId, me, ct);
        var chat = await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        var readerOfChannel = role == "member" && chat.Kind == "channel";
        var members = (await chats.ListMembersAsync(chatId, ct)).Where(m => !readerOfChannel || m.Role != "member").ToList();

        // Each member says whether I may write to them directly (the rules «Написать лично» and OpenDirectChat follow),
        // read for the listed members only; an admin reading the chat through a moderation case is a member of the
        // school too. A list of more than MaxMessageableListed (a whole school's channel) says it for nobody.
        var mine = members.Count <= MaxMessageableListed ? await memberships.GetAsync(chat.SchoolId, me, ct) : null;
        var safeMode = mine is null || ((await schools.GetAsync(chat.SchoolId, ct))?.PupilSafeMode ?? true);
        var roster = mine is null ? []
            : (await memberships.ListRosterAsync(chat.SchoolId, null, ct, members.Select(m => m.AccountId).ToList())).ToDictionary(r => r.AccountId);
        return members
            .Select(m => new ChatMemberDto(m.AccountId, m.DisplayName, m.AvatarUrl, m.Role, m.VerifiedTeacher,
                mine is not null && roster.TryGetValue(m.AccountId, out var r) && DirectChatPolicy.MayReach(mine, r.AsMembership(chat.SchoolId), safeMode)))
            .ToList();
    }

    public async Task<ChatSummaryDto> OpenDirectAsync(Guid schoolId, Guid me, Guid other, CancellationToken ct)
    {
        await access.ActiveMemberAsync(schoolId, me, ct);
        var key = PersonBlockStore.DirectKey(me, other);
        var (chatId, changes) = await database.InTransactionAsync(async s =>
        {
            // The pair, then the school for share: whatever is read below holds until commit. A change that narrows
            // either person's reach (an unlink, a move, a role ended: they lock the school) and closes this chat waits,
            // or is waited for — an open racing it cannot re-add them from what it read before.
            var existing = await chats.LockDirectAsync(s, schoolId, key, ct);
            var school = await schools.ShareLockAsync(s, schoolId, ct) ?? throw new ChatException(ChatError.SchoolNotFound);
            var mine = await memberships.GetAsync(s, schoolId, me, ct) ?? throw new ChatException(ChatError.SchoolNotFound);
            var theirs = await memberships.GetAsync(s, schoolId, other, ct) ?? throw new ChatException(ChatError.MemberNotFound);
            var blocked = await chats.IsBlockedByAsync(s, other, me, ct);
            // One who left the school (and so every chat of it) and came back finds the chat they had, with its history;
            // a person I blocked stays out of it.
            var missing = existing is null ? [] : (await chats.MissingMembersAsync(s, existing.Id, [me, other], ct)).ToList();
            if (missing.Contains(other) && await chats.IsBlockedByAsync(s, me, other, ct))
            {
                missing.Remove(other);
            }

            // A chat both are in is theirs (the change that narrows someone's reach closes it); a new one, or one to
            // come back to, needs the opener to reach the other now.
            if (existing is not null && !blocked && missing.Count == 0)
            {
                return (existing.Id, (IReadOnlyList<MembershipChange>)[]);
            }

            if (blocked || !DirectChatPolicy.MayReach(mine, theirs, school.PupilSafeMode))
            {
                throw new ChatException(ChatError.DirectNotAllowed);
            }

            if (existing is not null)
            {
                foreach (var id in missing)
                {
                    await chats.AddMemberAsync(s, existing.Id, id, "member", null, ct);
                }

                return (existing.Id, (IReadOnlyList<MembershipChange>)missing.Select(id => new MembershipChange(existing.Id, id, true)).ToList());
            }

            var chat = await chats.CreateAsync(s, schoolId, "direct", "Личный чат", "", false, null, me, key, ct);
            await chats.AddMemberAsync(s, chat.Id, me, "member", null, ct);
            await chats.AddMemberAsync(s, chat.Id, other, "member", null, ct);
            return (chat.Id, (IReadOnlyList<MembershipChange>)[new MembershipChange(chat.Id, me, true), new MembershipChange(chat.Id, other, true)]);
        }, ct);
        await live.ApplyMembershipAsync(changes);
        return await SummaryAsync(chatId, me, ct);
    }

    public async Task<ChatSummaryDto> CreateAsync(Guid me, CreateChatRequest request, CancellationToken ct)
    {
        var member = await access.ActiveMemberAsync(request.SchoolId, me, ct);
        var kind = request.Kind ?? "group";
        if (kind is not ("subject" or "group" or "channel"))
        {
            throw ChatException.Field("kind", "Тип чата: subject (предметный), group (группа) или channel (канал).");
        }

        if (!member.IsStaff || (kind == "channel" && !member.IsAdmin))
        {
            throw new ChatException(ChatError.ChatCreateNotAllowed);
        }

        var title = Text.Required(request.Title, "title", MaxTitle, "Укажите название чата (до 200 символов).");
        var rules = Text.Optional(request.Rules, "rules", MaxRules) ?? "";
        if (request.ClassId is { } classId && await schools.GetClassAsync(request.SchoolId, classId, ct) is null)
        {
            throw new ChatException(ChatError.ClassNotFound);
        }

        var (roles, audienceClasses) = await AudienceAsync(request, kind, ct);
        var school = await schools.GetAsync(request.SchoolId, ct) ?? throw new ChatException(ChatError.SchoolNotFound);
        var invited = (request.MemberIds ?? []).Distinct().Where(id => id != me).ToArray();
        if (invited.Length > 5000)
        {
            throw ChatException.Field("memberIds", "Не больше 5000 участников за раз.");
        }

        if (roles.Length > 0 && invited.Length > 0)
        {
            // A channel with an audience follows the roster, as the class chats do: whoever was named besides would be
            // taken out by the roster's next sync.
            throw new ChatException(ChatError.AddMemberNotAllowed, detail: "Читателей канала с аудиторией определяет школа: добавить участников вручную нельзя.");
        }

        var (chatId, changes) = await database.InTransactionAsync(async s =>
        {
            if (kind == "channel")
            {
                // A channel is an admin's, and one with an audience changes the roster: checked again under the school's
                // lock, so an admin removed while this waited creates no channel (that he would own).
                await access.AdminUnderLockAsync(s, request.SchoolId, me, ct);
            }

            var chat = await chats.CreateAsync(s, request.SchoolId, kind, title, rules, kind == "channel", request.ClassId, me, null, ct);
            await chats.AddMemberAsync(s, chat.Id, me, "owner", chat.RulesVersion, ct);
            var changes = new List<MembershipChange> { new(chat.Id, me, true) };
            changes.AddRange(await AddMembersAsync(s, chat, member, school.PupilSafeMode, invited, ct));
            if (roles.Length > 0)
            {
                await audiences.SetAsync(s, chat.Id, roles, audienceClasses, ct);
                changes.AddRange(await chats.SyncRosterAsync(s, request.SchoolId, ct));
            }

            await audit.AppendAsync(s, request.SchoolId, me, "chat.created", chat.Id, new { kind, title, members = invited.Length, audience = roles, classes = audienceClasses }, ct);
            return (chat.Id, (IReadOnlyList<MembershipChange>)changes);
        }, ct);
        await live.ApplyMembershipAsync(changes);
        return await SummaryAsync(chatId, me, ct);
    }

    /// <summary>A channel's audience (roles, classes of the school), checked; none for other chats.</summary>
    private async Task<(string[] Roles, Guid[] ClassIds)> AudienceAsync(CreateChatRequest request, string kind, CancellationToken ct)
    {
        if (request.Audience is not { } audience)
        {
            return ([], []);
        }

        if (kind != "channel")
        {
            throw ChatException.Field("audience", "Аудиторию можно задать только для канала.");
        }

        var roles = (audience.Roles ?? []).Distinct().ToArray();
        if (roles.Length == 0 || roles.Any(r => r is not ("student" or "parent" or "staff")))
        {
            throw ChatException.Field("audience", "Укажите, для кого канал: student (ученики), parent (родители), staff (сотрудники).");
        }

        var classIds = (audience.ClassIds ?? []).Distinct().ToArray();
        if (classIds.Length > 200)
        {
            throw ChatException.Field("audience", "Не больше 200 классов в одном канале.");
        }

        foreach (var classId in classIds)
        {
            if (await schools.GetClassAsync(request.SchoolId, classId, ct) is not { ArchivedAt: null })
            {
                throw new ChatException(ChatError.ClassNotFound);
            }
        }

        return (roles, classIds);
    }

    public async Task<int> AddMembersAsync(Guid chatId, Guid me, Guid[] accountIds, CancellationToken ct)
    {
        await ManagingRoleAsync(chatId, me, ct);
        var chat = await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        if (chat.Kind == "direct")
        {
            throw new ChatException(ChatError.ModeratorOnly);
        }

        NotArchived(chat);

        if (chat.SystemKey is not null)
        {
            // Class, parents', staff-room chats and channels follow the roster: nobody is put in by hand (who was could
            // neither leave nor be removed, and an adult in a class chat would reach pupils past safe mode).
            throw new ChatException(ChatError.AddMemberNotAllowed, detail: "Состав этого чата ведёт школа: добавить в него участника вручную нельзя.");
        }

        var member = await StaffInviterAsync(chat.SchoolId, me, ct);
        var school = await schools.GetAsync(chat.SchoolId, ct) ?? throw new ChatException(ChatError.SchoolNotFound);
        var changes = await database.InTransactionAsync(
            s => AddMembersAsync(s, chat, member, school.PupilSafeMode, accountIds.Distinct().ToArray(), ct), ct);
        await live.ApplyMembershipAsync(changes);
        return changes.Count;
    }

    /// <summary>
    /// Someone who brings people into a chat (adds them, makes a link): staff only, whatever their role in the chat. A
    /// pupil or parent made a moderator there moderates; letting adults into a chat with children is the school's call.
    /// </summary>
    public async Task<SchoolMembership> StaffInviterAsync(Guid schoolId, Guid me, CancellationToken ct)
    {
        var member = await access.ActiveMemberAsync(schoolId, me, ct);
        return member.IsStaff
            ? member
            : throw new ChatException(ChatError.AddMemberNotAllowed, detail: "Приглашать в чат могут только сотрудники школы — учителя и администраторы.");
    }

    /// <summary>
    /// Leaves a chat one is in by hand or by link (joining is voluntary, so is leaving). Not a chat the roster keeps
    /// (class, parents', staff room, the school's and the staff's channels, audience channels: <c>cannot_leave_chat</c>;
    /// the roster's next sync would bring the person back), and not by a chat's only owner while others are in it
    /// (<c>last_owner_cannot_leave</c>: the chat would be left with nobody to moderate it).
    /// </summary>
    public async Task LeaveAsync(Guid chatId, Guid me, CancellationToken ct)
    {
        var role = await RoleAsync(chatId, me, ct);
        var chat = await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        if (chat.SystemKey is not null)
        {
            throw new ChatException(ChatError.CannotLeaveChat);
        }

        await database.InTransactionAsync(async s =>
        {
            if (role == "owner" && chat.Kind != "direct")
            {
                var (otherOwners, members) = await chats.LockOwnersAsync(s, chatId, me, ct);
                if (members > 1 && otherOwners == 0)
                {
                    throw new ChatException(ChatError.LastOwnerCannotLeave);
                }
            }

            return await chats.RemoveMemberAsync(s, chatId, me, ct);
        }, ct);
        await live.ApplyMembershipAsync([new MembershipChange(chatId, me, false)]);
    }

    public async Task<ChatDetailsDto> UpdateAsync(Guid chatId, Guid me, UpdateChatRequest request, CancellationToken ct)
    {
        var role = await RoleAsync(chatId, me, ct);
        if (role == "member")
        {
            throw new ChatException(ChatError.ModeratorOnly);
        }

        var chat = await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        NotArchived(chat);
        var title = request.Title is null || (chat.SystemKey is not null && !chat.SystemKey.StartsWith("audience:", StringComparison.Ordinal)) ? chat.Title : Text.Required(request.Title, "title", MaxTitle, "Название чата — до 200 символов.");
        var rules = request.Rules is null ? chat.Rules : Text.Optional(request.Rules, "rules", MaxRules) ?? "";
        var slow = request.SlowModeSeconds ?? chat.SlowModeSeconds;
        if (slow is < 0 or > 86400)
        {
            throw ChatException.Field("slowModeSeconds", "Медленный режим — от 0 до 86400 секунд.");
        }

        var avatar = request.AvatarUrl is null ? chat.AvatarUrl : Text.AvatarPath(request.AvatarUrl, "avatarUrl");

        var updated = await database.InTransactionAsync(async s =>
        {
            var updated = await chats.UpdateAsync(s, chatId, title, rules, slow, avatar, ct);
            await audit.AppendAsync(s, chat.SchoolId, me, "chat.updated", chatId, new { title, slowModeSeconds = slow, rulesChanged = rules != chat.Rules }, ct);
            return updated ?? throw new ChatException(ChatError.ChatNotFound);
        }, ct);
        // A direct chat is titled by the peer's name on each side: its stored title is never shown, so it is never pushed.
        if (updated.Kind != "direct" && (updated.Title != chat.Title || updated.AvatarUrl != chat.AvatarUrl))
        {
            await push.ChatUpdatedAsync(ChatUpdatedDto.From(updated));
        }

        return await GetAsync(chatId, me, ct);
    }

    /// <summary>The chat's owner makes a member a moderator (who may also post in a channel) or an owner, or a member again.</summary>
    public async Task SetMemberRoleAsync(Guid chatId, Guid me, Guid accountId, string? role, CancellationToken ct)
    {
        if (await RoleAsync(chatId, me, ct) != "owner")
        {
            throw new ChatException(ChatError.ModeratorOnly);
        }

        if (role is not ("member" or "moderator" or "owner"))
        {
            throw ChatException.Field("role", "Роль в чате: member, moderator или owner.");
        }

        var chat = await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        NotArchived(chat);
        if (chat.Kind == "direct" || accountId == me)
        {
            throw ChatException.Field("accountId", "Нельзя изменить эту роль.");
        }

        await database.InTransactionAsync(async s =>
        {
            // In a roster chat the school's roles give owners and moderators (admins, the director, class teachers): a
            // hand-made change would outlive the school role it stands for. By hand, its owners only let an ordinary
            // member write (moderator) or take that back; they make nobody owner.
            if (chat.SystemKey is not null && (role == "owner" || await chats.HasRosterRoleAsync(s, chatId, accountId, ct)))
            {
                throw ChatException.Field("accountId", "Нельзя изменить эту роль: её даёт роль в школе.");
            }

            if (!await chats.SetRoleAsync(s, chatId, accountId, role, ct))
            {
                throw new ChatException(ChatError.MemberNotFound);
            }

            await audit.AppendAsync(s, chat.SchoolId, me, "chat.member_role", accountId, new { chatId, role }, ct);
            return true;
        }, ct);
        await push.RoleChangedAsync(chatId, accountId);
    }

    public async Task AcceptRulesAsync(Guid chatId, Guid me, int version, CancellationToken ct)
    {
        await RoleAsync(chatId, me, ct);
        var chat = await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        if (version != chat.RulesVersion)
        {
            throw ChatException.Field("version", "Правила чата изменились. Прочитайте новую редакцию.");
        }

        await chats.AcceptRulesAsync(chatId, me, version, ct);
    }

    public async Task SetPreferencesAsync(Guid chatId, Guid me, ChatPreferencesRequest request, CancellationToken ct)
    {
        if (!await chats.UpdateSettingsAsync(chatId, me, request.Pinned, request.MutedUntil?.UtcDateTime, request.Unmute == true, ct))
        {
            throw new ChatException(ChatError.ChatNotFound);
        }
    }

    public async Task SetPersonBlockAsync(Guid me, Guid other, bool block, CancellationToken ct)
    {
        if (me == other)
        {
            throw ChatException.Field("accountId", "Нельзя заблокировать себя.");
        }

        // One blocks people one could meet, that is, of a common school; anyone else is "not found", existing or not.
        // Unblocking is always allowed: it only removes a row.
        if (block && !await chats.ShareSchoolAsync(me, other, ct))
        {
            throw new ChatException(ChatError.MemberNotFound);
        }

        // The blocked person leaves our direct chats at once (and comes back on unblocking), live on every node.
        var changes = await database.InTransactionAsync(async s =>
        {
            var changed = new List<MembershipChange>(await personBlocks.SetAsync(s, me, other, block, ct));
            // Back in a direct chat, the school's rules decide as they would have if the two had been in it all along
            // (a classmate moved to another class under safe mode meanwhile): a chat they no longer allow either way
            // closes for both, rather than holding the one who was blocked alone with its history.
            foreach (var chatId in changed.Where(c => c.Added).Select(c => c.ChatId).Distinct().ToList())
            {
                if (await chats.GetAsync(chatId, ct) is { } chat)
                {
                    changed.AddRange(await chats.CloseUnreachableDirectChatsAsync(s, chat.SchoolId, other, ct));
                }
            }

            return (IReadOnlyList<MembershipChange>)changed;
        }, ct);
        await live.ApplyMembershipAsync(changes);
    }

    private async Task<IReadOnlyList<MembershipChange>> AddMembersAsync(DbScope s, ChatRow chat, SchoolMembership adder, bool safeMode, Guid[] accountIds, CancellationToken ct)
    {
        var changes = new List<MembershipChange>();
        foreach (var id in accountIds)
        {
            var target = await memberships.GetAsync(s, chat.SchoolId, id, ct) ?? throw new ChatException(ChatError.MemberNotFound);
            if (target.IsStudent && safeMode && !DirectChatPolicy.MayReachPupil(adder, target))
            {
                throw new ChatException(ChatError.AddMemberNotAllowed);
            }

            if (await chats.AddMemberAsync(s, chat.Id, id, "member", null, ct))
            {
                changes.Add(new MembershipChange(chat.Id, id, true));
            }
        }

        return changes;
    }

    private async Task<ChatSummaryDto> SummaryAsync(Guid chatId, Guid me, CancellationToken ct)
    {
        var row = await chats.GetForMemberAsync(chatId, me, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        return ChatSummaryDto.From(row, await LastMessageAsync(row, ct));
    }

    private async Task<MessageDto?> LastMessageAsync(MyChatRow row, CancellationToken ct)
    {
        if (row.LastSeq == 0)
        {
            return null;
        }

        var last = await messages.HistoryAsync(row.Id, null, 1, ct);
        return last.Count == 0 ? null : MessageDto.From(last[0]);
    }
}
