using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Messages;
using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Storage.Infrastructure;
using Chat.Storage.Messages;
using Chat.Storage.Polls;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Features.Polls;

/// <summary>
/// Polls: a poll is a message of kind <c>poll</c> in the chat's sequence; votes are ballots (one per person, by the
/// database's primary key); closing, early or on time, is a <c>poll_closed</c> change in the sequence. Every call checks
/// the caller's membership in the database; someone outside the chat gets "chat not found".
/// </summary>
public sealed class PollService(
    PollStore polls,
    MessageStore messages,
    MessageService messageService,
    ChatService chatService,
    ChatDatabase database,
    BallotKeys keys,
    PollPush pollPush,
    IOptions<PollOptions> options,
    TimeProvider clock)
{
    public const int MaxQuestion = 300;
    public const int MaxOptionText = 100;
    public const int MinOptions = 2;
    public const int MaxOptions = 12;

    /// <summary>Creates a poll as a new message; the caller must be allowed to post in the chat. A resend with the same client id returns the stored poll.</summary>
    public async Task<MessageDto> CreateAsync(Guid me, CreatePollRequest request, CancellationToken ct)
    {
        await chatService.ActingRoleAsync(request.ChatId, me, ct); // who may act here, before anything is said about the input
        if (request.ClientId == Guid.Empty)
        {
            throw ChatException.Field("clientId", "Передайте идентификатор сообщения клиента (UUID).");
        }

        var question = Text.Required(request.Question, "question", MaxQuestion, $"Вопрос опроса — от 1 до {MaxQuestion} символов.");
        var texts = (request.Options ?? []).Select(o => o?.Trim() ?? "").ToArray();
        if (texts.Length is < MinOptions or > MaxOptions)
        {
            throw ChatException.Field("options", $"В опросе должно быть от {MinOptions} до {MaxOptions} вариантов ответа.");
        }

        if (texts.Any(t => t.Length is 0 or > MaxOptionText || t.Any(char.IsControl)))
        {
            throw ChatException.Field("options", $"Каждый вариант ответа — от 1 до {MaxOptionText} символов.");
        }

        if (texts.Distinct(StringComparer.OrdinalIgnoreCase).Count() != texts.Length)
        {
            throw ChatException.Field("options", "Варианты ответа не должны повторяться.");
        }

        short? correct = null;
        if (request.Quiz)
        {
            if (request.Multiple)
            {
                throw ChatException.Field("multiple", "В викторине можно выбрать только один ответ.");
            }

            if (request.CorrectOptionId is not { } id || id < 0 || id >= texts.Length)
            {
                throw ChatException.Field("correctOptionId", "Отметьте правильный ответ викторины.");
            }

            correct = (short)id;
        }
        else if (request.CorrectOptionId is not null)
        {
            throw ChatException.Field("correctOptionId", "Правильный ответ указывают только в викторине.");
        }

        DateTime? closesAt = null;
        if (request.ClosesAt is { } at)
        {
            var now = clock.GetUtcNow();
            if (at <= now)
            {
                throw ChatException.Field("closesAt", "Время завершения опроса должно быть в будущем.");
            }

            if (at > now.AddDays(options.Value.MaxOpenDays))
            {
                throw ChatException.Field("closesAt", $"Опрос можно запланировать не больше чем на {options.Value.MaxOpenDays} дней.");
            }

            closesAt = at.UtcDateTime;
        }

        var poll = new NewPoll(question, texts, request.Multiple, request.Anonymous, request.Quiz, correct, closesAt);
        var message = await messageService.AppendAsync(
            new NewMessage(request.ChatId, me, request.ClientId, "poll", question, request.ReplyToSeq, null, []),
            (s, seq) => polls.InsertAsync(s, request.ChatId, seq, poll, ct),
            ct);
        if (message.Kind != "poll")
        {
            // The client id was used for another kind of message.
            throw ChatException.Field("clientId", "Этот идентификатор уже использован для другого сообщения.");
        }

        return message with { Poll = await ViewAsync(me, request.ChatId, message.Seq, message.Poll, ct) };
    }

    /// <summary>The poll as the caller sees it: with their ballot and, when they may know it, the right answer.</summary>
    public async Task<PollDto> GetAsync(Guid me, Guid chatId, long seq, CancellationToken ct)
    {
        await chatService.RoleAsync(chatId, me, ct);
        var row = await messages.GetAsync(chatId, seq, ct);
        if (row is null || row.Kind != "poll" || row.IsDeleted)
        {
            throw new ChatException(ChatError.PollNotFound);
        }

        return await ViewAsync(me, chatId, seq, MessageDto.From(row).Poll, ct);
    }

    /// <summary>Casts or changes the caller's vote while the poll is open.</summary>
    public async Task<PollDto> VoteAsync(Guid me, Guid chatId, long seq, int[]? optionIds, CancellationToken ct)
    {
        await chatService.ActingRoleAsync(chatId, me, ct); // a member blocked in the chat does not vote
        var chosen = (optionIds ?? []).Distinct().Order().ToArray();
        if (chosen.Length == 0)
        {
            throw ChatException.Field("optionIds", "Выберите вариант ответа.");
        }

        if (chosen.Length > MaxOptions || chosen.Any(o => o is < 0 or >= MaxOptions))
        {
            throw ChatException.Field("optionIds", "Такого варианта ответа нет.");
        }

        var options = chosen.Select(o => (short)o).ToArray();
        if (!await polls.VoteAsync(chatId, seq, me, keys.VoterKey(chatId, seq, me), options, ct))
        {
            var poll = await DiagnoseAsync(me, chatId, seq, ct);
            if (poll.Quiz && await polls.BallotAsync(chatId, seq, keys.VoterKey(chatId, seq, me), ct) is not null)
            {
                throw new ChatException(ChatError.QuizAnswerFinal);
            }

            if (!poll.Multiple && options.Length > 1)
            {
                throw ChatException.Field("optionIds", "В этом опросе можно выбрать только один вариант.");
            }

            throw ChatException.Field("optionIds", "Такого варианта ответа нет.");
        }

        pollPush.Schedule(chatId, seq);
        return await GetAsync(me, chatId, seq, ct);
    }

    /// <summary>Takes the caller's vote back while the poll is open (nothing happens if they had not voted).</summary>
    public async Task<PollDto> RetractAsync(Guid me, Guid chatId, long seq, CancellationToken ct)
    {
        await chatService.ActingRoleAsync(chatId, me, ct);
        var result = await polls.RetractAsync(chatId, seq, me, keys.VoterKey(chatId, seq, me), ct);
        if (result is null)
        {
            var poll = await DiagnoseAsync(me, chatId, seq, ct);
            throw new ChatException(poll.Quiz ? ChatError.QuizAnswerFinal : ChatError.PollClosed);
        }

        if (result == true)
        {
            pollPush.Schedule(chatId, seq);
        }

        return await GetAsync(me, chatId, seq, ct);
    }

    /// <summary>Closes the poll early: its author, or a moderator or owner of the chat. Closing a closed poll changes nothing.</summary>
    public async Task<PollDto> CloseAsync(Guid me, Guid chatId, long seq, CancellationToken ct)
    {
        var role = await chatService.RoleAsync(chatId, me, ct);
        var changeSeq = await database.InTransactionAsync(async s =>
        {
            // The message first, as every change of a message does: one lock order, no deadlocks.
            var message = await messages.LockAsync(s, chatId, seq, ct);
            var poll = await polls.GetAsync(chatId, seq, ct);
            if (message is null || message.Value.DeletedAt is not null || poll is null)
            {
                throw new ChatException(ChatError.PollNotFound);
            }

            if (message.Value.SenderId != me && role == "member")
            {
                throw new ChatException(ChatError.PollCloseNotAllowed);
            }

            return await polls.CloseAsync(s, chatId, seq, me, onlyIfDue: false, ct)
                ? await messages.AppendChangeAsync(s, chatId, seq, "poll_closed", me, ct)
                : (long?)null;
        }, ct);
        if (changeSeq is { } changed)
        {
            await PushClosedAsync(chatId, seq, changed);
        }

        return await GetAsync(me, chatId, seq, ct);
    }

    /// <summary>
    /// Closes the polls whose time has come. Runs on every node; the conditional update closes each poll exactly once,
    /// in the same transaction as its <c>poll_closed</c> change. Returns how many this call closed.
    /// </summary>
    public async Task<int> CloseDueAsync(CancellationToken ct)
    {
        var closed = 0;
        foreach (var (chatId, seq) in await polls.DueAsync(100, ct))
        {
            var changeSeq = await database.InTransactionAsync(async s =>
            {
                var message = await messages.LockAsync(s, chatId, seq, ct);
                if (message is null || message.Value.DeletedAt is not null)
                {
                    return (long?)null;
                }

                return await polls.CloseAsync(s, chatId, seq, null, onlyIfDue: true, ct)
                    ? await messages.AppendChangeAsync(s, chatId, seq, "poll_closed", null, ct)
                    : null;
            }, ct);
            if (changeSeq is { } changed)
            {
                closed++;
                await PushClosedAsync(chatId, seq, changed);
            }
        }

        return closed;
    }

    /// <summary>
    /// Pushes a stored close: not cancelled with the caller's connection (the teacher's phone dropping right after the
    /// commit, the node stopping) — the close is stored and a retry finds nothing to close — and when the message cannot be
    /// read back, a nudge that needs no read (<c>ChatAdvanced</c>): members catch the close up.
    /// </summary>
    private async Task PushClosedAsync(Guid chatId, long seq, long changeSeq)
    {
        // The change's push as every change of a message has it (a channel's reactions naming nobody, the nudge when the
        // message cannot be read back), then the results.
        await messageService.PushCommittedChangeAsync(chatId, seq, changeSeq, "poll_closed");
        await pollPush.PushNowAsync(chatId, seq, CancellationToken.None);
    }

    /// <summary>Why a vote was refused: not a member (chat not found), no such poll, or the poll is closed.</summary>
    private async Task<PollRow> DiagnoseAsync(Guid me, Guid chatId, long seq, CancellationToken ct)
    {
        await chatService.RoleAsync(chatId, me, ct);
        var poll = await polls.GetAsync(chatId, seq, ct);
        if (poll is null || poll.MessageDeleted)
        {
            throw new ChatException(ChatError.PollNotFound);
        }

        if (!poll.IsOpen(clock.GetUtcNow().UtcDateTime))
        {
            throw new ChatException(ChatError.PollClosed);
        }

        return poll;
    }

    private async Task<PollDto> ViewAsync(Guid me, Guid chatId, long seq, PollDto? shared, CancellationToken ct)
    {
        var poll = await polls.GetAsync(chatId, seq, ct);
        if (shared is null || poll is null)
        {
            throw new ChatException(ChatError.PollNotFound);
        }

        var ballot = await polls.BallotAsync(chatId, seq, keys.VoterKey(chatId, seq, me), ct);
        var mine = ballot?.Select(o => (int)o).ToArray();
        int? correct = poll.CorrectOption;
        var mayKnow = poll.Quiz && (poll.ClosedAt is not null || mine is not null || poll.AuthorId == me);
        return shared with
        {
            CorrectOptionId = mayKnow ? correct : null,
            MyOptionIds = mine ?? [],
            AnsweredCorrectly = poll.Quiz && mine is not null ? mine.Length == 1 && mine[0] == correct : null,
        };
    }
}
