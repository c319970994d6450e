using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;

namespace Chat.Hub.Features.Calls;

/// <summary>A request to join through the waiting room: "waiting", "admitted", "rejected", or "member" (just call JoinCall).</summary>
public sealed record CallGuestDto(Guid CallId, Guid AccountId, string? DisplayName, string Status, DateTimeOffset? AskedAt);

/// <summary>
/// The waiting room: the host of a group call opens it to members of the same school outside the chat (a guest
/// teacher at a parent meeting, a psychologist at a lesson). They ask (<see cref="AskToJoinAsync"/>) and wait; the host
/// sees the queue and admits or rejects each; an admitted guest joins like a pupil (lesson rules apply) and gets the
/// call's events. Members of the chat always join directly. Nobody outside the school can ask: closed space.
/// </summary>
public sealed partial class CallService
{
    /// <summary>The role string for an admitted guest (never a chat role).</summary>
    private const string Guest = "guest";

    public async Task<CallDto> SetWaitingRoomAsync(Guid me, Guid callId, bool open, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, callId, ct);
        var chat = await chats.GetAsync(row.ChatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        if (me == row.HostId && chat.Kind == "direct")
        {
            // A person-to-person call has no waiting room: strangers must not reach a pupil this way (safe mode).
            throw new ChatException(ChatError.WaitingRoomNotAllowed);
        }

        var dto = await ChangeAsync(me, callId, s => s.SetWaitingRoom(me, open), ct);
        if (!open)
        {
            // Closed with people still waiting: they are not let in, and their requests go (they knock again if it opens
            // again), so the host's queue never shows someone who is no longer there.
            await TellGuestsAsync(callId, ct => guests.DropWaitingAsync(callId, ct), c => c.CallGuestDecided(callId, false));
        }

        return dto;
    }

    /// <summary>Asks to join a call of one's school from outside its chat; the host is told. Chat members get "member".</summary>
    public async Task<CallGuestDto> AskToJoinAsync(Guid me, Guid callId, CancellationToken ct)
    {
        var row = await calls.GetAsync(callId, ct);
        if (row is null || row.EndedAt is not null)
        {
            throw new ChatException(ChatError.CallNotFound);
        }

        if (await chats.RoleOfAsync(row.ChatId, me, ct) is not null)
        {
            return new CallGuestDto(callId, me, null, "member", null);
        }

        // Outside the school: nothing to learn here.
        if (!await guests.InSchoolOfCallAsync(callId, me, ct))
        {
            throw new ChatException(ChatError.ChatNotFound);
        }

        // A decision taken stands whether or not the room is still open: a guest let in whose connection broke while the
        // host closed the room asks again after the reconnect, and comes in.
        if (await guests.GetAsync(callId, me, ct) is { Status: not "waiting" } decided)
        {
            return ToGuestDto(decided);
        }

        // The room is closed (or closes, or the call ends, while this asks): nothing to learn here.
        var guest = row.WaitingRoom ? await guests.AskAsync(callId, me, ct) : null;
        if (guest is null)
        {
            throw new ChatException((await calls.GetAsync(callId, ct))?.EndedAt is null ? ChatError.ChatNotFound : ChatError.CallNotFound);
        }

        var dto = ToGuestDto(guest);
        if (guest.Status == "waiting")
        {
            await TryPushAsync(callId, () => hub.Clients.User(row.HostId.ToString()).CallGuestWaiting(callId, dto));
        }

        return dto;
    }

    /// <summary>The waiting room's queue and decisions, for the host.</summary>
    public async Task<IReadOnlyList<CallGuestDto>> WaitingRoomAsync(Guid me, Guid callId, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, callId, ct);
        RequireHost(row, me);
        return (await guests.ListAsync(callId, ct)).Select(ToGuestDto).ToList();
    }

    /// <summary>The host admits or rejects someone who asked; they are told at once.</summary>
    public async Task<IReadOnlyList<CallGuestDto>> AdmitAsync(Guid me, Guid callId, Guid accountId, bool admit, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, callId, ct);
        RequireHost(row, me);
        if (!await guests.DecideAsync(callId, accountId, admit, me, ct))
        {
            throw new ChatException(ChatError.CallGuestNotFound);
        }

        await TryPushAsync(callId, () => hub.Clients.User(accountId.ToString()).CallGuestDecided(callId, admit));
        if (!admit && await calls.ParticipantAsync(callId, accountId, ct) is { Present: true })
        {
            // Admitted earlier and now turned away: out of the call, like a removal.
            await RemoveParticipantAsync(me, callId, accountId, ct);
        }

        return (await guests.ListAsync(callId, ct)).Select(ToGuestDto).ToList();
    }

    private static void RequireHost(Storage.Calls.CallRow row, Guid me)
    {
        if (row.HostId != me)
        {
            throw new ChatException(ChatError.CallHostOnly);
        }
    }

    private static CallGuestDto ToGuestDto(Storage.Calls.CallGuestRow g) =>
        new(g.CallId, g.AccountId, g.DisplayName, g.Status, new DateTimeOffset(DateTime.SpecifyKind(g.AskedAt, DateTimeKind.Utc)));

    /// <summary>Tells people of the waiting room (they are in none of the chat's groups); <paramref name="who"/> names them.</summary>
    private Task TellGuestsAsync(Guid callId, Func<CancellationToken, Task<IReadOnlyList<Guid>>> who, Func<IChatClient, Task> push) =>
        TryPushAsync(callId, async () =>
        {
            var waiting = await who(CancellationToken.None);
            if (waiting.Count > 0)
            {
                await push(hub.Clients.Users(waiting.Select(g => g.ToString()).ToList()));
            }
        });

    private async Task TryPushAsync(Guid callId, Func<Task> push)
    {
        try
        {
            await push();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSfu(logger, e, callId);
        }
    }
}
