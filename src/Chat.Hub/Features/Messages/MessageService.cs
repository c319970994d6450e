using System.Text.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Storage.Chats;
using Chat.Storage.Infrastructure;
using Chat.Storage.Messages;

namespace Chat.Hub.Features.Messages;

/// <summary>
/// Sending, changing and reading messages. A message is accepted only once committed; only then is it pushed to the
/// chat's group (and through Redis to other nodes). Clients that missed pushes catch up by seq.
/// </summary>
public sealed class MessageService(
    MessageStore messages,
    ChatStore chats,
    ChatService chatService,
    ChatDatabase database,
    ChatPush push,
    MessageBatcher batcher,
    Chat.Storage.Files.FileRecordStore fileRecords)
{
    public const int MaxTextLength = 4000;
    public const int MaxPage = 200;
    public const int MaxMentions = 50;

    /// <param name="me">The sender.</param>
    /// <param name="request">The message.</param>
    /// <param name="ct">Cancels waiting for room in the node's queue.</param>
    /// <param name="answerOnTheLoop">The hub's send: its answer is written by the batch loop (MessageBatcher.AppendAsync).</param>
    public async Task<MessageDto> SendAsync(Guid me, SendMessageRequest request, CancellationToken ct, bool answerOnTheLoop = false)
    {
        var text = (request.Text ?? "").Trim();
        var invalid = TextProblem(text)
            ?? (request.ClientId == Guid.Empty ? ChatException.Field("clientId", "Передайте идентификатор сообщения клиента (UUID).") : null);
        if (invalid is not null)
        {
            // Outsiders learn nothing, not even how we validate: membership first (only on this error path, off the hot path).
            await chatService.RoleAsync(request.ChatId, me, ct);
            throw invalid;
        }

        var mentions = (request.Mentions ?? []).Distinct().Take(MaxMentions).ToArray();
        return await BatchedAsync(new NewMessage(request.ChatId, me, request.ClientId, "text", text, request.ReplyToSeq, null, mentions), answerOnTheLoop, ct);
    }

    public async Task<MessageDto> ForwardAsync(Guid me, ForwardMessageRequest request, CancellationToken ct)
    {
        // Members only: an admin's moderation case reads a chat to moderate it, and does not copy its messages out.
        await chatService.MemberRoleAsync(request.FromChatId, me, ct);
        if (request.ClientId == Guid.Empty)
        {
            // Without it, a second forward to the same chat would be taken for a resend of the first and return it.
            throw ChatException.Field("clientId", "Передайте идентификатор сообщения клиента (UUID).");
        }

        var original = await messages.GetAsync(request.FromChatId, request.Seq, ct);
        if (original is null || original.IsDeleted || original.Kind is not ("text" or "files"))
        {
            throw new ChatException(ChatError.MessageNotFound);
        }

        var source = await chats.GetAsync(request.FromChatId, ct);
        // Each school is a closed space: a person in two schools does not carry one school's messages (with the names
        // of its members and chats) into the other.
        await chatService.RoleAsync(request.ToChatId, me, ct);
        if (source is null || (await chats.GetAsync(request.ToChatId, ct))?.SchoolId != source.SchoolId)
        {
            throw new ChatException(ChatError.ForwardOtherSchool);
        }

        // Whose words they are (senderId): when that person deletes their account, the copy stops naming them, and under a
        // school's «remove» policy goes with their own messages (AccountDeletionService).
        // A forward of a forward names where the words came from first (their author, chat and time), not the one who
        // passed them on.
        var forwardedFrom = original.ForwardedFrom
            ?? JsonSerializer.Serialize(new { senderName = original.SenderName, senderId = original.SenderId, chatTitle = source?.Kind == "direct" ? null : source?.Title, at = original.CreatedAt });
        if (original.Kind == "text")
        {
            return await AppendAsync(new NewMessage(request.ToChatId, me, request.ClientId, "text", original.Text, null, forwardedFrom, []), ct);
        }

        // Files (the director's timetable forwarded from the school channel to a class's parents): the same files, with
        // their caption; the forward's readers may download them as those of any message of their chat.
        var forwarded = await AppendAsync(new NewMessage(request.ToChatId, me, request.ClientId, "files", original.Text, null, forwardedFrom, []), async (s, seq) =>
        {
            int linked;
            try
            {
                linked = await fileRecords.CopyAttachmentsAsync(s, request.FromChatId, request.Seq, request.ToChatId, seq, ct);
            }
            catch (Npgsql.PostgresException e) when (s.MarkFailed() || e.SqlState == Npgsql.PostgresErrorCodes.ForeignKeyViolation)
            {
                linked = 0; // the cleanup removed the files (their message deleted long ago) at this very moment
            }

            if (linked == 0)
            {
                throw new ChatException(ChatError.FileNotFound);
            }
        }, ct);
        return forwarded.Kind == "files" ? forwarded : throw ChatException.Field("clientId", "Этот идентификатор уже использован для другого сообщения.");
    }

    /// <summary>Stores a message of any kind (polls and files use it too) and pushes it after commit.</summary>
    public Task<MessageDto> AppendAsync(NewMessage message, CancellationToken ct) => AppendAsync(message, null, ct);

    /// <summary>
    /// As <see cref="AppendAsync(NewMessage, CancellationToken)"/>, with what belongs to a new message (a poll, links to
    /// files) stored by <paramref name="attach"/> in the same transaction, so the push carries it.
    /// </summary>
    public async Task<MessageDto> AppendAsync(NewMessage message, Func<DbScope, long, Task>? attach, CancellationToken ct)
    {
        if (attach is null)
        {
            return await BatchedAsync(message, answerOnTheLoop: false, ct);
        }

        var stored = await messages.AppendAsync(message, attach, ct);
        if (stored is null)
        {
            throw await RefusalAsync(message, ct);
        }

        var dto = MessageDto.From(stored.Value.Message);
        if (stored.Value.Created)
        {
            await push.MessageAsync(dto);
        }
        else
        {
            // A resend: stored before, perhaps by a node that stopped before pushing it (MessageBatcher does the same).
            await push.AdvancedAsync(dto.ChatId, dto.Seq);
        }

        return dto;
    }

    /// <summary>A plain message through the node's group commit, which also pushes it (in seq order per chat).</summary>
    private async Task<MessageDto> BatchedAsync(NewMessage message, bool answerOnTheLoop, CancellationToken ct)
    {
        var batched = await batcher.AppendAsync(message, ct, answerOnTheLoop);
        if (batched is null)
        {
            // Off the batch loop first (with answerOnTheLoop this runs there): the refusal's diagnosis reads the database.
            await Task.Yield();
            throw await RefusalAsync(message, ct);
        }

        return batched.Value.Message;
    }

    /// <summary>What is wrong with a message's text (sent or edited; already trimmed), or null.</summary>
    private static ChatException? TextProblem(string text) =>
        text.Length == 0 ? ChatException.Field("text", "Сообщение не может быть пустым.")
        : text.Length > MaxTextLength ? ChatException.Field("text", $"Сообщение длиннее {MaxTextLength} символов.")
        : Text.HasForbiddenCharacters(text) ? ChatException.Field("text", "Сообщение содержит недопустимые символы.")
        : null;

    /// <summary>Why a message was refused, as the error to throw (the slow path, only after a refusal).</summary>
    private async Task<ChatException> RefusalAsync(NewMessage message, CancellationToken ct)
    {
        var (refusal, _) = await messages.DiagnoseAsync(message, ct);
        if (refusal == SendRefusal.Restricted)
        {
            await chatService.ActingRoleAsync(message.ChatId, message.SenderId, ct); // throws with why and until when
        }

        return new ChatException(refusal switch
        {
            SendRefusal.ReadOnly => ChatError.ChatReadOnly,
            SendRefusal.SlowMode => ChatError.SlowMode,
            SendRefusal.ReplyNotFound => ChatError.ReplyNotFound,
            SendRefusal.Archived => ChatError.ChatArchived,
            _ => ChatError.ChatNotFound,
        });
    }

    public async Task<MessageDto> EditAsync(Guid me, Guid chatId, long seq, string? newText, CancellationToken ct)
    {
        await chatService.ActingRoleAsync(chatId, me, ct); // first: outsiders learn nothing, not even how we validate
        var text = (newText ?? "").Trim();
        if (TextProblem(text) is { } invalid)
        {
            throw invalid;
        }

        var stored = await messages.GetAsync(chatId, seq, ct);
        if (stored?.Kind == "poll")
        {
            // Votes were cast for the question as it was.
            throw new ChatException(ChatError.PollNotEditable);
        }

        if (stored?.ForwardedFrom is not null && stored.SenderId == me)
        {
            // A forward shows someone else's words under their name («Переслано из … · директор»): edited, it would put
            // words in their mouth (forwarded_from never changes, so this needs no lock).
            throw new ChatException(ChatError.ForwardNotEditable);
        }

        var changeSeq = await database.InTransactionAsync(async s =>
        {
            var current = await messages.LockAsync(s, chatId, seq, ct) ?? throw new ChatException(ChatError.MessageNotFound);
            if (current.DeletedAt is not null)
            {
                throw new ChatException(ChatError.MessageDeleted);
            }

            if (current.SenderId != me)
            {
                throw new ChatException(ChatError.NotMessageAuthor);
            }

            if (current.Text == text)
            {
                return (long?)null;
            }

            await messages.EditAsync(s, chatId, seq, current.Text, text, null, ct); // an edit changes the text, not who is mentioned
            return await messages.AppendChangeAsync(s, chatId, seq, "edited", me, ct);
        }, ct);
        return await PushChangeAsync(chatId, seq, changeSeq, "edited");
    }

    /// <summary>Deletes one's own message. A moderator deleting someone else's message must cite a rule (ModerationService).</summary>
    public async Task<MessageDto> DeleteAsync(Guid me, Guid chatId, long seq, CancellationToken ct)
    {
        await chatService.ActingRoleAsync(chatId, me, ct);
        var changeSeq = await database.InTransactionAsync(async s =>
        {
            var current = await messages.LockAsync(s, chatId, seq, ct) ?? throw new ChatException(ChatError.MessageNotFound);
            if (current.DeletedAt is not null)
            {
                return (long?)null;
            }

            if (current.SenderId != me)
            {
                throw new ChatException(ChatError.NotMessageAuthor, detail: "Удалять чужие сообщения могут только модераторы, указав нарушенное правило.");
            }

            await messages.DeleteAsync(s, chatId, seq, me, ct);
            return await messages.AppendChangeAsync(s, chatId, seq, "deleted", me, ct);
        }, ct);
        return await PushChangeAsync(chatId, seq, changeSeq, "deleted");
    }

    /// <summary>
    /// Pins the message above the chat, or unpins it: one per chat (pinning another unpins the one before). The chat's
    /// owner and moderators may, and both people of a direct chat; not a member's restriction nor an archived chat. Each
    /// is a change of its message in the chat's sequence ('unpinned' of the one before, then 'pinned'), pushed and caught
    /// up like an edit; pinning what is pinned, or unpinning what is not, changes nothing.
    /// </summary>
    public async Task<MessageDto> PinAsync(Guid me, Guid chatId, long seq, bool pin, CancellationToken ct)
    {
        var role = await chatService.ActingRoleAsync(chatId, me, ct);
        var chat = await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        if (chat.Kind != "direct" && role is not ("owner" or "moderator"))
        {
            throw new ChatException(ChatError.PinNotAllowed);
        }

        // Both messages (this one and the one pinned before, whose 'unpinned' change touches it) are locked in seq order
        // before the chat's row, as every change of a message locks it before the chat: locked after the chat, the one
        // pinned before would deadlock with a reaction to it waiting for the chat. Pinned meanwhile by someone else:
        // read again.
        List<(long MessageSeq, long ChangeSeq, string Type)>? changes = null;
        for (var attempt = 0; changes is null; attempt++)
        {
            if (attempt == 3)
            {
                throw new ChatException(ChatError.Conflict);
            }

            changes = await database.InTransactionAsync(async s =>
            {
                var seen = await messages.PinnedSeqAsync(s, chatId, ct);
                var locked = await messages.LockManyAsync(s, chatId, seen is { } p && p != seq ? [p, seq] : [seq], ct);
                var current = locked.FirstOrDefault(m => m.Seq == seq);
                if (current.Seq != seq)
                {
                    throw new ChatException(ChatError.MessageNotFound);
                }

                var pinned = await messages.LockPinnedAsync(s, chatId, ct);
                if (pinned != seen)
                {
                    return null;
                }

                var made = new List<(long MessageSeq, long ChangeSeq, string Type)>();
                if (pin == (pinned == seq))
                {
                    return made;
                }

                if (pin && current.DeletedAt is not null)
                {
                    throw new ChatException(ChatError.MessageDeleted);
                }

                if (pinned is { } before)
                {
                    made.Add((before, await messages.AppendChangeAsync(s, chatId, before, "unpinned", me, ct), "unpinned"));
                }

                await messages.SetPinnedAsync(s, chatId, pin ? seq : null, ct);
                if (pin)
                {
                    made.Add((seq, await messages.AppendChangeAsync(s, chatId, seq, "pinned", me, ct), "pinned"));
                }

                return made;
            }, ct);
        }

        foreach (var (messageSeq, changeSeq, type) in changes.Where(c => c.MessageSeq != seq))
        {
            await PushChangeAsync(chatId, messageSeq, changeSeq, type);
        }

        var mine = changes.Find(c => c.MessageSeq == seq); // none when nothing changed
        return await PushChangeAsync(chatId, seq, mine.ChangeSeq == 0 ? null : mine.ChangeSeq, pin ? "pinned" : "unpinned");
    }

    public async Task<MessageDto> ReactAsync(Guid me, Guid chatId, long seq, string? emoji, bool add, CancellationToken ct)
    {
        // One emoji: a single grapheme (a skin tone, a flag or a family is one), and no letters or digits of any script.
        var value = emoji?.Trim() ?? "";
        if (value.Length is 0 or > 16 || value.Any(ch => char.IsWhiteSpace(ch) || char.IsLetterOrDigit(ch) || char.IsControl(ch))
            || new System.Globalization.StringInfo(value).LengthInTextElements != 1)
        {
            throw ChatException.Field("emoji", "Реакция — это один эмодзи.");
        }

        var role = await chatService.ActingRoleAsync(chatId, me, ct);
        var changeSeq = await database.InTransactionAsync(async s =>
        {
            var current = await messages.LockAsync(s, chatId, seq, ct) ?? throw new ChatException(ChatError.MessageNotFound);
            if (current.DeletedAt is not null)
            {
                throw new ChatException(ChatError.MessageDeleted);
            }

            // Re-adding a reaction one already has is a no-op (a client's retry), not a fourth reaction.
            if (add && await messages.CountOtherReactionKindsAsync(s, chatId, seq, me, value, ct) >= 3)
            {
                throw new ChatException(ChatError.TooManyReactions);
            }

            return await messages.SetReactionAsync(s, chatId, seq, me, value, add, ct)
                ? await messages.AppendChangeAsync(s, chatId, seq, "reactions", me, ct)
                : (long?)null;
        }, ct);
        var dto = await PushChangeAsync(chatId, seq, changeSeq, "reactions");
        if (!await ChannelReaderAsync(chatId, role, dto.NamesReacters, ct))
        {
            return dto;
        }

        // The channel's push named nobody: her other devices learn from this one which reactions are hers now.
        var mine = dto.NamingOnly(me);
        if (changeSeq is not null)
        {
            await push.MyReactionsAsync(me, mine);
        }

        return mine;
    }

    public async Task<IReadOnlyList<MessageDto>> HistoryAsync(Guid me, Guid chatId, long? beforeSeq, int? limit, CancellationToken ct)
    {
        var role = await chatService.RoleAsync(chatId, me, ct);
        var rows = await messages.HistoryAsync(chatId, beforeSeq, Math.Clamp(limit ?? 50, 1, MaxPage), ct);
        var list = rows.Select(MessageDto.From).ToList();
        return await ChannelReaderAsync(chatId, role, list.Any(m => m.NamesReacters), ct) ? list.Select(m => m.NamingOnly(me)).ToList() : list;
    }

    /// <summary>
    /// Whether the caller reads the chat as a channel's reader (a plain member of a read-only chat), to whom reactions
    /// name nobody else (MessageDto.NamingOnly). Asked only when there is someone to hide (<paramref name="needed"/>).
    /// </summary>
    private async Task<bool> ChannelReaderAsync(Guid chatId, string? role, bool needed, CancellationToken ct) =>
        needed && role == "member" && (await chats.GetAsync(chatId, ct))?.ReadOnly == true;

    /// <summary>Catch-up: everything in the chat's sequence after <paramref name="afterSeq"/>, paged.</summary>
    public async Task<ChatUpdatesDto> UpdatesAsync(Guid me, Guid chatId, long afterSeq, int? limit, CancellationToken ct)
    {
        // One round trip: access, the chat's last seq and the events, in one snapshot.
        var page = Math.Clamp(limit ?? MaxPage, 1, MaxPage);
        var (role, lastSeq, events) = await messages.UpdatesForAsync(chatId, me, Math.Max(0, afterSeq), page, ct);
        if (role is null)
        {
            throw new ChatException(ChatError.ChatNotFound);
        }

        var last = events.Count == 0 ? Math.Max(afterSeq, 0) : events[^1].Seq;
        var list = events.Select(e => ChatEventDto.From(chatId, e)).ToList();
        if (await ChannelReaderAsync(chatId, role, list.Any(e => e.Message.NamesReacters), ct))
        {
            list = list.Select(e => e with { Message = e.Message.NamingOnly(me) }).ToList();
        }

        return new ChatUpdatesDto(chatId, lastSeq, list, last < lastSeq && events.Count == page);
    }

    public async Task<long> MarkReadAsync(Guid me, Guid chatId, long seq, CancellationToken ct)
    {
        var stored = await chats.MarkReadAsync(chatId, me, seq, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        var chat = await chats.GetForMemberAsync(chatId, me, ct);
        // A channel's readers are not shown to each other (GetChatMembers): their read positions go to their own devices only.
        await push.ReadPositionAsync(new ReadPositionDto(chatId, me, stored), wholeChat: chat is not null && !chat.ReadOnly && chat.MemberCount <= ReadReceiptsLimit);

        return stored;
    }

    /// <summary>Chats up to this size show who read a message; bigger ones show a count.</summary>
    public const int ReadReceiptsLimit = 50;

    public async Task<ReadByDto> ReadByAsync(Guid me, Guid chatId, long seq, CancellationToken ct)
    {
        var role = await chatService.RoleAsync(chatId, me, ct);
        var members = await chats.ListMembersAsync(chatId, ct);
        // In a channel a reader learns only how many read, never who (its readers are private to its writers).
        var names = members.Count <= ReadReceiptsLimit && (role != "member" || (await chats.GetAsync(chatId, ct))?.ReadOnly != true);
        // Whoever joined after the message was written has it behind their read position without having seen it.
        var written = (await messages.GetAsync(chatId, seq, ct))?.CreatedAt ?? DateTime.MaxValue;
        var readers = members.Where(m => m.ReadSeq >= seq && m.AccountId != me && m.JoinedAt <= written).Select(m => m.AccountId).ToList();
        return new ReadByDto(seq, readers.Count, names ? readers : null);
    }

    public async Task<IReadOnlyList<string>> EditHistoryAsync(Guid me, Guid chatId, long seq, CancellationToken ct)
    {
        var role = await chatService.RoleAsync(chatId, me, ct);
        if (role == "member")
        {
            throw new ChatException(ChatError.ModeratorOnly);
        }

        return (await messages.EditHistoryAsync(chatId, seq, ct)).Select(e => e.OldText).ToList();
    }

    public const int SearchPage = 50;

    public async Task<IReadOnlyList<MessageDto>> SearchAsync(Guid me, Guid? schoolId, string? query, CancellationToken ct)
    {
        var found = (await messages.SearchAsync(me, schoolId, SearchQuery(query), SearchPage, ct)).Select(MessageDto.From).ToList();
        return (await HideChannelReactersAsync(me, found.Select(m => new SearchHitDto(m, [])).ToList(), ct)).Select(h => h.Message).ToList();
    }

    /// <summary>A page of hits in my chats, or in one chat I may read (outsiders: <c>chat_not_found</c>, before the query is looked at).</summary>
    public async Task<SearchPageDto> SearchPageAsync(Guid me, SearchRequest request, CancellationToken ct)
    {
        if (request.ChatId is { } chatId)
        {
            await chatService.RoleAsync(chatId, me, ct);
        }

        var q = SearchQuery(request.Query);
        var limit = Math.Clamp(request.Limit ?? SearchPage, 1, SearchPage);
        var before = request.Before is { } b ? new SearchPosition(b.CreatedAt.ToUniversalTime(), b.ChatId, b.Seq) : null;
        var rows = await messages.SearchPageAsync(new SearchFilter(me, request.SchoolId, request.ChatId, before), q, limit + 1, withWords: true, ct);
        var hits = rows.Take(limit).Select(r => new SearchHitDto(MessageDto.From(r.Message), r.Words)).ToList();
        hits = await HideChannelReactersAsync(me, hits, ct);

        var last = hits.Count > 0 ? hits[^1].Message : null;
        return new SearchPageDto(hits, rows.Count > limit && last is not null ? new SearchCursor(last.CreatedAt, last.ChatId, last.Seq) : null);
    }

    /// <summary>In a channel I only read, the hits' reactions name nobody but me (asked only for hits whose reactions name anyone).</summary>
    private async Task<List<SearchHitDto>> HideChannelReactersAsync(Guid me, List<SearchHitDto> hits, CancellationToken ct)
    {
        foreach (var chatId in hits.Where(h => h.Message.NamesReacters).Select(h => h.Message.ChatId).Distinct().ToList())
        {
            if (await ChannelReaderAsync(chatId, await chatService.RoleAsync(chatId, me, ct), needed: true, ct))
            {
                hits = hits.Select(h => h.Message.ChatId == chatId ? h with { Message = h.Message.NamingOnly(me) } : h).ToList();
            }
        }

        return hits;
    }

    private static string SearchQuery(string? query)
    {
        var q = query?.Trim() ?? "";
        return q.Length is < 2 or > 200 || Text.HasForbiddenCharacters(q) ? throw new ChatException(ChatError.SearchQueryInvalid) : q;
    }

    /// <summary>Pushes a change already committed (used by moderation too).</summary>
    public Task<MessageDto> PushCommittedChangeAsync(Guid chatId, long seq, long? changeSeq, string type) =>
        PushChangeAsync(chatId, seq, changeSeq, type);

    /// <summary>
    /// Reads the message after its change committed and pushes the change. No cancellation: the change is stored, and
    /// the chat's members must get it even if the connection of the person who made it closed meanwhile.
    /// </summary>
    /// <remarks>
    /// A change stored but never pushed (the read after the commit failed: the database went away; or the node stopped
    /// before the push) would stay unseen by the chat's open pages, and the caller's retry finds nothing left to change:
    /// so a failed read still nudges the chat (<c>ChatAdvanced</c>, which needs no read), and a change that finds its work
    /// done nudges it up to the message's last change — pages that have it ignore the nudge, the others catch up.
    /// </remarks>
    private async Task<MessageDto> PushChangeAsync(Guid chatId, long seq, long? changeSeq, string type)
    {
        MessageRow? row;
        try
        {
            row = await messages.GetAsync(chatId, seq, CancellationToken.None);
        }
        catch (Exception e) when (changeSeq is not null && e is not OperationCanceledException)
        {
            await push.AdvancedAsync(chatId, changeSeq.Value);
            throw;
        }

        var dto = MessageDto.From(row ?? throw new ChatException(ChatError.MessageNotFound));
        if (changeSeq is { } changed)
        {
            // To a whole channel its reactions name nobody: its readers are not shown to each other (its writers read
            // the names again with the history).
            var pushed = dto.NamesReacters && (await chats.GetAsync(chatId, CancellationToken.None))?.ReadOnly == true ? dto.NamingOnly(null) : dto;
            await push.ChangeAsync(new ChatEventDto(chatId, changed, type, pushed));
        }
        else if (dto.Version > dto.Seq)
        {
            await push.AdvancedAsync(chatId, dto.Version);
        }

        return dto;
    }
}
