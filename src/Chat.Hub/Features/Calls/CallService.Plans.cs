using System.Globalization;
using Chat.Hub.Features.Chats;
using Chat.Hub.Infrastructure;
using Chat.Storage.Calls;

namespace Chat.Hub.Features.Calls;

/// <summary>
/// Plans a call in a chat. Kind: "call", "lesson" (lesson mode) or "broadcast". <paramref name="ClientId"/>: the
/// planner's dialog's id, the plan's id — «Запланировать» pressed again after a lost answer gets the plan made the first
/// time, not a second one with a second announcement and second reminders.
/// </summary>
public sealed record ScheduleCallRequest(Guid ChatId, string? Title, DateTimeOffset StartsAt, string? Kind, Guid? ClientId = null);

/// <summary>
/// A planned call. <see cref="OpensAt"/>: from then on anyone of the chat may join (JoinScheduledCall), a few minutes
/// before <see cref="StartsAt"/>. <see cref="CallId"/> once someone came.
/// </summary>
public sealed record CallPlanDto(
    Guid PlanId, Guid ChatId, Guid HostId, string Kind, string Title, DateTimeOffset StartsAt, DateTimeOffset OpensAt, bool Cancelled, Guid? CallId);

/// <summary>
/// Scheduled calls: a teacher plans a lesson at 10:00 in the class chat; the chat gets a message and a CallScheduled
/// event; from ten minutes before, the first person who comes opens the call with the teacher as its host, and
/// everyone else joins it.
/// </summary>
public sealed partial class CallService
{
    /// <summary>How long before the planned start people may come in.</summary>
    public static readonly TimeSpan EarlyJoin = TimeSpan.FromMinutes(10);

    private static readonly string[] PlanKinds = ["call", "lesson", "broadcast"];

    /// <summary>How long after its start a reminder is still worth showing to a page that opens (as the web client keeps it).</summary>
    public static readonly TimeSpan ReminderShownFor = TimeSpan.FromMinutes(15);

    /// <summary>
    /// The reminders already sent in my chats whose call has not begun (<see cref="CallPlanStore.RemindedForAsync"/>): a
    /// page opened after a reminder went out shows it too.
    /// </summary>
    public async Task<IReadOnlyList<CallReminderDto>> RemindersAsync(Guid me, CancellationToken ct) =>
        (await plans.RemindedForAsync(me, ReminderShownFor, ct))
            .Select(p => CallReminderDto.Of(p.Id, p.ChatId, p.HostId, p.Kind, p.Title, p.StartsAt, p.AtStart)).ToList();

    public async Task<CallPlanDto> ScheduleAsync(Guid me, ScheduleCallRequest request, CancellationToken ct)
    {
        var kind = request.Kind ?? "call";
        _ = await RequireMayStartAsync(me, request.ChatId, kind == "broadcast", ct);
        var title = (request.Title ?? "").Trim();
        var now = DateTimeOffset.UtcNow;
        var invalid = title.Length is 0 or > 200 || Text.HasForbiddenCharacters(title) ? ChatException.Field("title", "Название: от 1 до 200 символов, без служебных знаков.")
            : !PlanKinds.Contains(kind) ? ChatException.Field("kind", "Вид звонка: call, lesson или broadcast.")
            : request.StartsAt < now.AddMinutes(-1) || request.StartsAt > now.AddDays(366) ? ChatException.Field("startsAt", "Время начала: не в прошлом и не дальше чем через год.")
            : null;
        if (invalid is not null)
        {
            throw invalid;
        }

        var plan = await plans.InsertAsync(request.ClientId ?? Guid.CreateVersion7(), request.ChatId, me, kind, title, request.StartsAt.UtcDateTime, ct);
        if (plan is null)
        {
            // Made by an earlier attempt of the same dialog whose answer was lost: that plan (its announcement, whose
            // client id is the plan's, and its push go again below and double nothing). Someone else's id: refused.
            var made = await plans.GetAsync(request.ClientId!.Value, ct);
            plan = made is not null && made.ChatId == request.ChatId && made.HostId == me ? made : throw new ChatException(ChatError.Conflict);
        }

        var dto = ToPlanDto(plan);
        var what = kind switch { "lesson" => "урок", "broadcast" => "трансляция", _ => "звонок" };
        var text = string.Create(CultureInfo.InvariantCulture,
            $"Запланирован {what} «{title}» на {dto.StartsAt.UtcDateTime:yyyy-MM-dd'T'HH:mm'Z'}. Подключиться можно за {EarlyJoin.TotalMinutes:0} минут до начала.");
        try
        {
            // The announcement is an ordinary message of the planner (id = the plan's, so a retry never doubles it). The
            // time is ISO 8601 in UTC: the web client shows such times in the reader's local time.
            await messages.SendAsync(me, new SendMessageRequest(request.ChatId, plan.Id, text, null, null), ct);
        }
        catch (ChatException e)
        {
            // E.g. slow mode: the plan stands, clients still get CallScheduled.
            LogSfu(logger, e, plan.Id);
        }

        await TryPushAsync(plan.Id, () => hub.Clients.Group(Realtime.LiveConnections.ChatGroup(request.ChatId)).CallScheduled(dto));
        return dto;
    }

    public async Task<IReadOnlyList<CallPlanDto>> ScheduledAsync(Guid me, Guid chatId, CancellationToken ct)
    {
        await chatService.RoleAsync(chatId, me, ct);
        var list = await plans.UpcomingAsync(chatId, DateTime.UtcNow.AddHours(-6), ct);
        return list.Select(ToPlanDto).ToList();
    }

    /// <summary>The planner or a moderator of the chat cancels a plan; the chat is told.</summary>
    public async Task<CallPlanDto> CancelPlanAsync(Guid me, Guid planId, CancellationToken ct)
    {
        var plan = await RequirePlanAsync(me, planId, ct);
        if (plan.HostId != me && await chatService.RoleAsync(plan.ChatId, me, ct) == "member")
        {
            throw new ChatException(ChatError.CallHostOnly);
        }

        var cancelledNow = await plans.CancelAsync(planId, ct);
        var dto = ToPlanDto((await plans.GetAsync(planId, ct))!);
        if (cancelledNow)
        {
            // The announcement stays in the chat's history: the cancellation is said under it, by whoever cancelled
            // (once: a repeated cancel finds the plan cancelled already).
            var when = dto.StartsAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture);
            var text = plan.Kind switch
            {
                "lesson" => $"Отменён урок «{plan.Title}», запланированный на {when}.",
                "broadcast" => $"Отменена трансляция «{plan.Title}», запланированная на {when}.",
                _ => $"Отменён звонок «{plan.Title}», запланированный на {when}.",
            };
            try
            {
                await messages.SendAsync(me, new SendMessageRequest(plan.ChatId, Guid.CreateVersion7(), text, null, null), ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogSfu(logger, e, planId); // e.g. slow mode: the plan is cancelled all the same, clients get CallScheduled
            }
        }

        await TryPushAsync(planId, () => hub.Clients.Group(Realtime.LiveConnections.ChatGroup(plan.ChatId)).CallScheduled(dto));
        return dto;
    }

    /// <summary>Joins the planned call from <see cref="EarlyJoin"/> before its start; the first comer opens it (the planner hosts).</summary>
    public async Task<CallJoinDto> JoinPlannedAsync(Guid me, Guid planId, CancellationToken ct, string? connectionId = null, string? page = null)
    {
        Subscribe();
        var plan = await RequirePlanAsync(me, planId, ct);
        await chatService.AttendingRoleAsync(plan.ChatId, me, ct);
        var opensAt = DateTime.SpecifyKind(plan.StartsAt, DateTimeKind.Utc) - EarlyJoin;
        if (DateTime.UtcNow < opensAt)
        {
            throw new ChatException(ChatError.CallNotOpenYet,
                detail: string.Create(CultureInfo.InvariantCulture, $"Звонок ещё не начался. Подключиться можно с {opensAt:yyyy-MM-dd'T'HH:mm'Z'}."));
        }

        // Once its call has ended, or long after its start, a plan is opened again only by someone who may start a call
        // here anyway: a pupil's reload of the lesson's page after «Звонок завершён» must not open a new lesson hosted by
        // a teacher who is gone (with its announcement to the class and a lesson in the attendance that never was).
        var mayStart = await MayStartAsync(me, plan.ChatId, plan.Kind == "broadcast", ct);
        var late = DateTime.UtcNow > DateTime.SpecifyKind(plan.StartsAt, DateTimeKind.Utc) + LateOpening;
        CallRow? opened = null;
        var callId = await database.InTransactionAsync(async s =>
        {
            var locked = await plans.LockAsync(s, planId, ct) ?? throw new ChatException(ChatError.CallPlanNotFound);
            if (locked.CallId is { } linked && (await calls.GetAsync(linked, ct))?.EndedAt is null)
            {
                return linked;
            }

            var live = await calls.LiveInChatAsync(locked.ChatId, ct);
            if (live is null)
            {
                if ((locked.CallId is not null || late) && !mayStart)
                {
                    throw new ChatException(ChatError.CallNotFound);
                }

                // A plan of a plain call or lesson in a read-only channel (made before only broadcasts were allowed there)
                // opens nothing.
                BroadcastOnlyInChannels(await chats.GetAsync(locked.ChatId, ct), locked.Kind == "broadcast");

                var call = NewCall(locked.ChatId, locked.HostId, locked.Kind == "lesson", locked.Kind == "broadcast");
                if (await calls.TryInsertAsync(s, call, ct))
                {
                    opened = call;
                    live = call;
                }
                else
                {
                    live = await calls.LiveInChatAsync(locked.ChatId, ct) ?? throw new ChatException(ChatError.Conflict);
                }
            }

            await plans.LinkAsync(s, planId, live.Id, ct);
            return live.Id;
        }, ct);

        return opened is not null ? await OpenedAsync(me, opened, connectionId, ct, page) : await JoinAsync(me, callId, ct, connectionId, page);
    }

    /// <summary>How long after its start a plan still opens for anyone of its chat (then only for those who may start a call there).</summary>
    private static readonly TimeSpan LateOpening = TimeSpan.FromHours(6);

    /// <summary>Whether <paramref name="me"/> may start such a call in the chat (<see cref="RequireMayStartAsync"/>, without the refusal).</summary>
    private async Task<bool> MayStartAsync(Guid me, Guid chatId, bool broadcast, CancellationToken ct)
    {
        try
        {
            await RequireMayStartAsync(me, chatId, broadcast, ct);
            return true;
        }
        catch (ChatException)
        {
            return false;
        }
    }

    /// <summary>The plan, for a member of its chat (anyone else: chat_not_found); a cancelled plan is not found.</summary>
    private async Task<CallPlanRow> RequirePlanAsync(Guid me, Guid planId, CancellationToken ct)
    {
        var plan = await plans.GetAsync(planId, ct) ?? throw new ChatException(ChatError.CallPlanNotFound);
        await chatService.RoleAsync(plan.ChatId, me, ct);
        return plan.CancelledAt is null ? plan : throw new ChatException(ChatError.CallPlanNotFound);
    }

    private static CallPlanDto ToPlanDto(CallPlanRow p)
    {
        var starts = new DateTimeOffset(DateTime.SpecifyKind(p.StartsAt, DateTimeKind.Utc));
        return new CallPlanDto(p.Id, p.ChatId, p.HostId, p.Kind, p.Title, starts, starts - EarlyJoin, p.CancelledAt is not null, p.CallId);
    }
}
