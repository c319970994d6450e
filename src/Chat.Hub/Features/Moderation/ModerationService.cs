using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Messages;
using Chat.Hub.Features.Schools;
using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Storage.Audit;
using Chat.Storage.Chats;
using Chat.Storage.Infrastructure;
using Chat.Storage.Messages;
using Chat.Storage.Moderation;

namespace Chat.Hub.Features.Moderation;

/// <summary>
/// Moderation by the school's rules (regulations: the chat's teacher moderates; deletes negative or excess content;
/// reminds of the rules; may block a member who broke the rules more than three times, for up to one month; may
/// unblock early; may not remove or block for reasons unrelated to the rules). Every action cites a rule and is written
/// to the append-only audit log with a snapshot of the message concerned.
/// </summary>
public sealed class ModerationService(
    ModerationStore moderation,
    ChatStore chats,
    MessageStore messages,
    ChatService chatService,
    MessageService messageService,
    SchoolAccess access,
    ChatDatabase database,
    AuditLog audit,
    LiveConnections live,
    ChatPush push,
    TimeProvider clock)
{
    public const int BlockAfterViolations = 3;

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    public async Task<IReadOnlyList<RuleDto>> RulesAsync(Guid schoolId, Guid me, CancellationToken ct)
    {
        await access.ActiveMemberAsync(schoolId, me, ct);
        return (await moderation.ListRulesAsync(schoolId, ct)).Select(RuleDto.From).ToList();
    }

    public async Task<RuleDto> PutRuleAsync(Guid schoolId, Guid me, PutRuleBody body, CancellationToken ct)
    {
        return await database.InTransactionAsync(async s =>
        {
            await access.AdminAsync(s, schoolId, me, ct);
            var text = Text.Required(body.Text, "text", 1000, "Текст правила — от 1 до 1000 символов.");
            if (body.Number is not { } number || number is < 1 or > 100)
            {
                throw ChatException.Field("number", "Номер правила — от 1 до 100.");
            }

            var rule = await moderation.PutRuleAsync(s, schoolId, number, text, ct);
            await audit.AppendAsync(s, schoolId, me, "rule.saved", rule.Id, new { number, text }, ct);
            return RuleDto.From(rule);
        }, ct);
    }

    public async Task ArchiveRuleAsync(Guid schoolId, Guid ruleId, Guid me, CancellationToken ct)
    {
        await database.InTransactionAsync(async s =>
        {
            await access.AdminAsync(s, schoolId, me, ct);
            if (!await moderation.ArchiveRuleAsync(s, schoolId, ruleId, ct))
            {
                throw new ChatException(ChatError.RuleNotFound);
            }

            await audit.AppendAsync(s, schoolId, me, "rule.archived", ruleId, null, ct);
            return true;
        }, ct);
    }

    /// <summary>A moderator deletes a message (anyone's) citing the rule it broke.</summary>
    public async Task<MessageDto> DeleteMessageAsync(Guid me, Guid chatId, long seq, Guid ruleId, CancellationToken ct)
    {
        var (chat, rule) = await ModeratorAsync(chatId, me, ruleId, ct);
        var original = await messages.GetAsync(chatId, seq, ct) ?? throw new ChatException(ChatError.MessageNotFound);
        var changeSeq = await database.InTransactionAsync(s => DeleteInAsync(s, chat, rule, original, me, ct), ct);
        return await messageService.PushCommittedChangeAsync(chatId, seq, changeSeq, "deleted");
    }

    /// <summary>Deletes the message by the rule, with its audit entry; null when it was deleted already (nothing to push).</summary>
    private async Task<long?> DeleteInAsync(DbScope s, ChatRow chat, SchoolRule rule, MessageRow original, Guid me, CancellationToken ct)
    {
        var (chatId, seq) = (original.ChatId, original.Seq);
        var current = await messages.LockAsync(s, chatId, seq, ct) ?? throw new ChatException(ChatError.MessageNotFound);
        if (current.DeletedAt is not null)
        {
            return null;
        }

        await messages.DeleteAsync(s, chatId, seq, me, ct, rule.Id);
        await audit.AppendAsync(s, chat.SchoolId, me, "moderation.message_deleted", original.SenderId,
            new { chatId, seq, rule = rule.Number, ruleText = rule.Text, snapshot = original.Text, sentAt = original.CreatedAt }, ct);
        return await messages.AppendChangeAsync(s, chatId, seq, "deleted", me, ct);
    }

    public async Task<ViolationCountDto> RecordViolationAsync(Guid me, ViolationRequest request, CancellationToken ct)
    {
        var (chat, rule) = await ModeratorAsync(request.ChatId, me, request.RuleId, ct);
        await TargetMemberAsync(request.ChatId, request.AccountId, ct);
        var note = Text.Optional(request.Note, "note", 1000);
        string? snapshot = null;
        if (request.MessageSeq is { } seq)
        {
            var message = await messages.GetAsync(request.ChatId, seq, ct);
            if (message is null || message.SenderId != request.AccountId)
            {
                throw new ChatException(ChatError.MessageNotFound);
            }

            snapshot = message.Text;
        }

        var count = await database.InTransactionAsync(s => RecordViolationInAsync(s, chat, rule, request, snapshot, note, me, ct), ct);
        return new ViolationCountDto(request.ChatId, request.AccountId, count, count > BlockAfterViolations);
    }

    /// <summary>Records the violation with its audit entry; returns the member's count of violations in the chat.</summary>
    private async Task<int> RecordViolationInAsync(DbScope s, ChatRow chat, SchoolRule rule, ViolationRequest request, string? snapshot, string? note, Guid me, CancellationToken ct)
    {
        var (recorded, count) = await moderation.RecordViolationAsync(s, request.ChatId, request.AccountId, rule.Id, request.MessageSeq, me, note, ct, request.ClientId);
        if (recorded)
        {
            // One message is one violation: another report of it, or a retry, changes nothing and logs nothing.
            await audit.AppendAsync(s, chat.SchoolId, me, "moderation.violation", request.AccountId,
                new { chatId = request.ChatId, rule = rule.Number, ruleText = rule.Text, request.MessageSeq, snapshot, note, count }, ct);
        }

        return count;
    }

    public async Task<ViolationCountDto> ViolationsAsync(Guid me, Guid chatId, Guid accountId, CancellationToken ct)
    {
        if (await chatService.RoleAsync(chatId, me, ct) == "member" && accountId != me)
        {
            throw new ChatException(ChatError.ModeratorOnly);
        }

        var count = await moderation.CountViolationsAsync(chatId, accountId, ct);
        return new ViolationCountDto(chatId, accountId, count, count > BlockAfterViolations);
    }

    /// <summary>The chat's members with violations there, for its moderators (what «О чате» shows under each name).</summary>
    public async Task<IReadOnlyList<ViolationCountDto>> ChatViolationsAsync(Guid me, Guid chatId, CancellationToken ct)
    {
        if (await chatService.RoleAsync(chatId, me, ct) == "member")
        {
            throw new ChatException(ChatError.ModeratorOnly);
        }

        return (await moderation.ViolationCountsAsync(chatId, ct))
            .Select(v => new ViolationCountDto(chatId, v.AccountId, v.Count, v.Count > BlockAfterViolations)).ToList();
    }

    /// <summary>Blocks a member who broke the rules more than three times, for at most one month, with an end date.</summary>
    public async Task<RestrictionDto> BlockAsync(Guid me, BlockRequest request, CancellationToken ct)
    {
        var (chat, rule) = await ModeratorAsync(request.ChatId, me, request.RuleId, ct);
        await TargetMemberAsync(request.ChatId, request.AccountId, ct);
        var reason = Text.Optional(request.Reason, "reason", 1000) ?? rule.Text;
        var until = request.Until.UtcDateTime;
        var now = Now;
        if (until <= now || until > now.AddMonths(1))
        {
            throw new ChatException(ChatError.BlockTooLong);
        }

        var restriction = await database.InTransactionAsync(async s =>
        {
            var count = await moderation.CountViolationsAsync(s, request.ChatId, request.AccountId, ct);
            if (count <= BlockAfterViolations)
            {
                throw new ChatException(ChatError.BlockNeedsViolations, detail: $"Зафиксировано нарушений: {count}. Блокировка возможна после четвёртого.");
            }

            var restriction = await moderation.RestrictAsync(s, request.ChatId, request.AccountId, "block", rule.Id, reason, me, now, until, ct);
            await audit.AppendAsync(s, chat.SchoolId, me, "moderation.blocked", request.AccountId,
                new { chatId = request.ChatId, rule = rule.Number, ruleText = rule.Text, reason, until, violations = count }, ct);
            return restriction;
        }, ct);
        var dto = RestrictionDto.From(restriction);
        await push.RestrictionAsync(dto);
        await live.AccessLostAsync([(request.ChatId, request.AccountId)]);
        return dto;
    }

    public async Task<RestrictionDto> MuteAsync(Guid me, MuteRequest request, CancellationToken ct)
    {
        var (chat, rule) = await ModeratorAsync(request.ChatId, me, request.RuleId, ct);
        await TargetMemberAsync(request.ChatId, request.AccountId, ct);
        if (request.Minutes is < 1 or > 24 * 60)
        {
            throw new ChatException(ChatError.MuteTooLong);
        }

        var reason = Text.Optional(request.Reason, "reason", 1000) ?? rule.Text;
        var now = Now;
        var restriction = await database.InTransactionAsync(async s =>
        {
            var restriction = await moderation.RestrictAsync(s, request.ChatId, request.AccountId, "mute", rule.Id, reason, me, now, now.AddMinutes(request.Minutes), ct);
            await audit.AppendAsync(s, chat.SchoolId, me, "moderation.muted", request.AccountId,
                new { chatId = request.ChatId, rule = rule.Number, ruleText = rule.Text, reason, request.Minutes }, ct);
            return restriction;
        }, ct);
        var dto = RestrictionDto.From(restriction);
        await push.RestrictionAsync(dto);
        // In the chat's live call a muted member stays and receives, but speaks and shows nothing.
        await live.PublishingLostAsync([(request.ChatId, request.AccountId)]);
        return dto;
    }

    /// <summary>Ends a block (or mute) early.</summary>
    public async Task<RestrictionDto> LiftAsync(Guid me, Guid chatId, Guid accountId, string kind, CancellationToken ct)
    {
        if (await chatService.RoleAsync(chatId, me, ct) == "member")
        {
            throw new ChatException(ChatError.ModeratorOnly);
        }

        var chat = await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        var lifted = await database.InTransactionAsync(async s =>
        {
            var lifted = await moderation.LiftAsync(s, chatId, accountId, kind, me, ct) ?? throw new ChatException(ChatError.NotRestricted);
            await audit.AppendAsync(s, chat.SchoolId, me, kind == "block" ? "moderation.unblocked" : "moderation.unmuted", accountId, new { chatId }, ct);
            return lifted;
        }, ct);
        var dto = RestrictionDto.From(lifted);
        await push.RestrictionAsync(dto);
        return dto;
    }

    /// <summary>Removes a member from a hand-managed chat for breaking a rule (roster chats follow the roster: block instead).</summary>
    public async Task RemoveMemberAsync(Guid me, RemoveMemberRequest request, CancellationToken ct)
    {
        var (chat, rule) = await ModeratorAsync(request.ChatId, me, request.RuleId, ct);
        await TargetMemberAsync(request.ChatId, request.AccountId, ct);
        if (chat.SystemKey is not null)
        {
            throw new ChatException(ChatError.RosterMemberRemoval);
        }

        var reason = Text.Optional(request.Reason, "reason", 1000) ?? rule.Text;
        await database.InTransactionAsync(async s =>
        {
            await chats.RemoveMemberAsync(s, request.ChatId, request.AccountId, ct);
            await audit.AppendAsync(s, chat.SchoolId, me, "moderation.removed", request.AccountId,
                new { chatId = request.ChatId, rule = rule.Number, ruleText = rule.Text, reason }, ct);
            return true;
        }, ct);
        await live.ApplyMembershipAsync([new MembershipChange(request.ChatId, request.AccountId, false)]);
    }

    /// <summary>Reminds the chat of its rules with a system message.</summary>
    public async Task<MessageDto> RemindRulesAsync(Guid me, Guid chatId, Guid clientId, CancellationToken ct)
    {
        if (await chatService.RoleAsync(chatId, me, ct) == "member")
        {
            throw new ChatException(ChatError.ModeratorOnly);
        }

        if (clientId == Guid.Empty)
        {
            throw ChatException.Field("clientId", "Передайте идентификатор сообщения клиента (UUID).");
        }

        var chat = await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        ChatService.NotArchived(chat);
        var rules = await moderation.ListRulesAsync(chat.SchoolId, ct);
        var text = "Напоминаем правила общения в чате."
            + (string.IsNullOrWhiteSpace(chat.Rules) ? "" : "\n" + chat.Rules)
            + "\n" + string.Join("\n", rules.Select(r => $"{r.Number}. {r.Text}"));
        await database.InTransactionAsync(async s =>
        {
            await audit.AppendAsync(s, chat.SchoolId, me, "moderation.rules_reminded", chatId, null, ct);
            return true;
        }, ct);
        return await messageService.AppendAsync(new NewMessage(chatId, me, clientId, "system", Text.Cut(text, MessageService.MaxTextLength), null, null, []), ct);
    }

    /// <summary>"Пожаловаться": any member reports a message, citing a rule; the report waits for the chat's moderators.</summary>
    public async Task<Guid> ReportAsync(Guid me, ReportRequest request, CancellationToken ct)
    {
        await chatService.RoleAsync(request.ChatId, me, ct);
        var chat = await chats.GetAsync(request.ChatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        var rule = await moderation.GetRuleAsync(chat.SchoolId, request.RuleId, ct) ?? throw new ChatException(ChatError.RuleNotFound);
        var message = await messages.GetAsync(request.ChatId, request.Seq, ct);
        if (message is null || message.IsDeleted)
        {
            throw new ChatException(ChatError.MessageNotFound);
        }

        var comment = Text.Optional(request.Comment, "comment", 1000);
        return await database.InTransactionAsync(async s =>
        {
            var id = await moderation.ReportAsync(s, request.ChatId, request.Seq, me, rule.Id, comment, ct);
            await audit.AppendAsync(s, chat.SchoolId, me, "moderation.reported", message.SenderId,
                new { chatId = request.ChatId, request.Seq, rule = rule.Number, comment, snapshot = message.Text }, ct);
            return id;
        }, ct);
    }

    public async Task<IReadOnlyList<ReportDto>> ReportsAsync(Guid me, Guid chatId, string? status, CancellationToken ct)
    {
        if (await chatService.RoleAsync(chatId, me, ct) == "member")
        {
            throw new ChatException(ChatError.ModeratorOnly);
        }

        return (await moderation.ListReportsAsync(chatId, status ?? "open", ct)).Select(ReportDto.From).ToList();
    }

    /// <summary>Resolves a report: delete the message (with the report's rule), warn (a recorded violation), or dismiss.</summary>
    public async Task<ReportDto> ResolveReportAsync(Guid me, Guid chatId, Guid reportId, string resolution, CancellationToken ct)
    {
        if (await chatService.RoleAsync(chatId, me, ct) == "member")
        {
            throw new ChatException(ChatError.ModeratorOnly);
        }

        if (resolution is not ("deleted" or "warned" or "dismissed"))
        {
            throw ChatException.Field("resolution", "Решение: deleted (удалить), warned (предупреждение) или dismissed (отклонить).");
        }

        var report = (await moderation.ListReportsAsync(chatId, null, ct)).FirstOrDefault(r => r.Id == reportId) ?? throw new ChatException(ChatError.ReportNotFound);
        if (report.Status != "open")
        {
            throw new ChatException(ChatError.ReportResolved);
        }

        // What the decision does is checked before anything is written (the moderator's right and the rule; for a
        // warning, that the sender is still a plain member), then the decision, what it does and its audit entry are
        // one transaction: of two moderators deciding at once, one decides and the other is told it is decided, and a
        // failure or a crash half-way leaves the report open with nothing done, never resolved with nothing done.
        var acts = resolution == "deleted" || (resolution == "warned" && report.SenderId is not null);
        var (chat, rule) = acts
            ? await ModeratorAsync(chatId, me, report.RuleId, ct)
            : (await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound), (SchoolRule?)null);
        var original = acts ? await messages.GetAsync(chatId, report.MessageSeq, ct) : null;
        ViolationRequest? violation = null;
        if (resolution == "deleted" && original is null)
        {
            throw new ChatException(ChatError.MessageNotFound);
        }

        if (resolution == "warned" && report.SenderId is { } sender)
        {
            await TargetMemberAsync(chatId, sender, ct);
            violation = new ViolationRequest(chatId, sender, report.RuleId, report.MessageSeq, "По жалобе участника");
        }

        var changeSeq = await database.InTransactionAsync(async s =>
        {
            await moderation.LockReportsOfMessageAsync(s, chatId, report.MessageSeq, ct);
            var locked = await moderation.LockReportAsync(s, reportId, ct) ?? throw new ChatException(ChatError.ReportNotFound);
            if (locked.Status != "open")
            {
                throw new ChatException(ChatError.ReportResolved);
            }

            var resolved = await moderation.ResolveReportAsync(s, locked, resolution, me, ct);
            long? change = null;
            if (resolution == "deleted")
            {
                change = await DeleteInAsync(s, chat, rule!, original!, me, ct);
            }
            else if (violation is not null)
            {
                await RecordViolationInAsync(s, chat, rule!, violation, original?.Text, violation.Note, me, ct);
            }

            await audit.AppendAsync(s, chat.SchoolId, me, "moderation.report_resolved", reportId,
                new { chatId, resolution, otherReportsOfTheMessage = resolved.Count - 1 }, ct);
            return change;
        }, ct);
        if (resolution == "deleted")
        {
            await messageService.PushCommittedChangeAsync(chatId, report.MessageSeq, changeSeq, "deleted");
        }

        return ReportDto.From((await moderation.ListReportsAsync(chatId, null, ct)).First(r => r.Id == reportId));
    }

    /// <summary>
    /// An admin opens a logged moderation case on a chat of their school: for 24 hours they act there as a moderator.
    /// This is the only way an admin reads or moderates a chat they are not a member of.
    /// </summary>
    public async Task<OpenCaseDto> OpenCaseAsync(Guid me, Guid schoolId, Guid chatId, string? reason, CancellationToken ct)
    {
        await access.AdminAsync(schoolId, me, ct);
        var chat = await chats.GetAsync(chatId, ct);
        if (chat is null || chat.SchoolId != schoolId)
        {
            throw new ChatException(ChatError.ChatNotFound);
        }

        var why = Text.Optional(reason, "reason", 1000) ?? throw new ChatException(ChatError.ReasonRequired);
        var closesAt = Now.AddHours(24);
        await database.InTransactionAsync(async s =>
        {
            await access.AdminAsync(s, schoolId, me, ct);
            await moderation.OpenCaseAsync(s, schoolId, chatId, me, why, closesAt, ct);
            await audit.AppendAsync(s, schoolId, me, "moderation.case_opened", chatId, new { reason = why, title = chat.Title, closesAt }, ct);
            return true;
        }, ct);
        return new OpenCaseDto(chatId, closesAt);
    }

    /// <summary>The school's chats (not direct ones) for its admin to open a case on, with the admin's role and open case in each.</summary>
    public async Task<IReadOnlyList<SchoolChatDto>> SchoolChatsAsync(Guid me, Guid schoolId, CancellationToken ct)
    {
        await access.AdminAsync(schoolId, me, ct);
        return (await moderation.ListSchoolChatsAsync(schoolId, me, ct)).Select(SchoolChatDto.From).ToList();
    }

    public async Task<RestrictionDto?> MyRestrictionAsync(Guid me, Guid chatId, CancellationToken ct)
    {
        await chatService.RoleAsync(chatId, me, ct);
        var active = await moderation.ActiveAsync(chatId, me, ct);
        return active is null ? null : RestrictionDto.From(active);
    }

    public async Task<IReadOnlyList<RestrictionDto>> RestrictionsAsync(Guid me, Guid chatId, CancellationToken ct)
    {
        if (await chatService.RoleAsync(chatId, me, ct) == "member")
        {
            throw new ChatException(ChatError.ModeratorOnly);
        }

        return (await moderation.ListActiveAsync(chatId, ct)).Select(RestrictionDto.From).ToList();
    }

    private async Task<(ChatRow Chat, SchoolRule Rule)> ModeratorAsync(Guid chatId, Guid me, Guid ruleId, CancellationToken ct)
    {
        if (await chatService.RoleAsync(chatId, me, ct) == "member")
        {
            throw new ChatException(ChatError.ModeratorOnly);
        }

        if (ruleId == Guid.Empty)
        {
            throw new ChatException(ChatError.RuleRequired);
        }

        var chat = await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        var rule = await moderation.GetRuleAsync(chat.SchoolId, ruleId, ct) ?? throw new ChatException(ChatError.RuleNotFound);
        return (chat, rule);
    }

    private async Task TargetMemberAsync(Guid chatId, Guid accountId, CancellationToken ct)
    {
        var role = await chats.RoleOfAsync(chatId, accountId, ct) ?? throw new ChatException(ChatError.MemberNotFound);
        if (role != "member")
        {
            throw new ChatException(ChatError.CannotModerateModerator);
        }
    }
}
