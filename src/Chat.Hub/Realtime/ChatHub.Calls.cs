using Chat.Hub.Features.Calls;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Hub.Realtime;

/// <summary>
/// Call methods of the hub (docs/calls.md). Media goes browser ↔ Janus; the hub relays SDP and candidates after
/// validating them, and every method authorizes against the database.
/// </summary>
public sealed partial class ChatHub
{
    private CallService Calls { get; } = calls;

    /// <summary>
    /// The call page this connection belongs to: the <c>page</c> parameter of its URL (the call page makes one per tab and
    /// keeps it across the hub's reconnects and reloads), or null. A person's media requests in a call come only from
    /// their active page there, the one that joined last (docs/calls.md, "Two pages of one person"). A connection
    /// without a page is not held to that: its reconnect (a new connection id) cannot be told from a second page, and
    /// taking it for one cleared and kicked the person's own feeds on every reconnect.
    /// </summary>
    private string? CallPage =>
        Context.GetHttpContext()?.Request.Query["page"].ToString() is { Length: > 0 and <= 64 } page
        && page.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')
            ? "page:" + page
            : null;

    /// <summary>A media request, only from the caller's active page in the call (else <c>call_moved_to_another_page</c>).</summary>
    private async Task<T> FromActivePageAsync<T>(Guid callId, Func<Task<T>> request)
    {
        await RequireActivePageAsync(callId);
        return await request();
    }

    /// <inheritdoc cref="FromActivePageAsync{T}"/>
    private async Task FromActivePageAsync(Guid callId, Func<Task> request)
    {
        await RequireActivePageAsync(callId);
        await request();
    }

    /// <summary>A connection that names its page must be the call's active page of its person; one naming none is not checked.</summary>
    private Task RequireActivePageAsync(Guid callId) =>
        CallPage is { } page ? Calls.RequireActivePageAsync(Me, callId, page, Context.ConnectionAborted) : Task.CompletedTask;

    public Task<CallJoinDto> StartCall(Guid chatId, bool lessonMode) => Calls.StartAsync(Me, chatId, lessonMode, Context.ConnectionAborted, connectionId: Context.ConnectionId, page: CallPage);

    public Task<CallJoinDto> JoinCall(Guid callId) => Calls.JoinAsync(Me, callId, Context.ConnectionAborted, Context.ConnectionId, CallPage);

    /// <summary>
    /// A call page's automatic return after its hub reconnected: JoinCall, except that it does not take the call from
    /// another page of mine whose connection is open (<c>call_moved_to_another_page</c>; the page then offers «Продолжить здесь»).
    /// </summary>
    public Task<CallJoinDto> RejoinCall(Guid callId) => Calls.JoinAsync(Me, callId, Context.ConnectionAborted, Context.ConnectionId, CallPage, rejoin: true);

    public Task<CallDto> GetCall(Guid callId) => Calls.GetAsync(Me, callId, Context.ConnectionAborted);

    /// <summary>Fresh TURN credentials for someone in the call (the join's expire; a lesson has no time limit).</summary>
    public Task<IceServersDto> GetIceServers(Guid callId) => Calls.IceServersAsync(Me, callId, Context.ConnectionAborted);

    /// <summary>The names of everyone who is or was in the call (a guest's page has no chat members to name them by).</summary>
    public Task<IReadOnlyList<CallNameDto>> GetCallNames(Guid callId) => Calls.NamesAsync(Me, callId, Context.ConnectionAborted);

    /// <summary>The chat's live call, or null: for a member who opens the chat after the call started (CallStarted was missed).</summary>
    public Task<CallDto?> GetChatCall(Guid chatId) => Calls.ChatCallAsync(Me, chatId, Context.ConnectionAborted);

    public Task LeaveCall(Guid callId) => Calls.LeaveAsync(Me, callId, Context.ConnectionAborted);

    public Task EndCall(Guid callId) => Calls.EndAsync(Me, callId, Context.ConnectionAborted);

    [Limited(HubLimit.Media)]
    public Task<string> Publish(Guid callId, string sdpOffer) => FromActivePageAsync(callId, () => Calls.PublishAsync(Me, callId, sdpOffer, Context.ConnectionAborted, CallPage));

    /// <summary>An ICE restart of my camera's connection with the browser's new offer; returns Janus's answer (same feed).</summary>
    [Limited(HubLimit.Media)]
    public Task<string> RestartIce(Guid callId, string sdpOffer) => FromActivePageAsync(callId, () => Calls.RestartIceAsync(Me, callId, sdpOffer, Context.ConnectionAborted));

    /// <summary>An ICE restart of my subscription to a feed: Janus's new offer, to answer with <see cref="Answer"/>.</summary>
    [Limited(HubLimit.Media)]
    public Task<string> RestartSubscriptionIce(Guid callId, long feedId) => FromActivePageAsync(callId, () => Calls.RestartSubscriptionIceAsync(Me, callId, feedId, Context.ConnectionAborted));

    [Limited(HubLimit.Media)]
    public Task<string> Subscribe(Guid callId, long feedId) => FromActivePageAsync(callId, () => Calls.SubscribeAsync(Me, callId, feedId, Context.ConnectionAborted));

    /// <summary>Pauses (receive false) or resumes one stream of my subscription to a feed: video of a tile not shown.</summary>
    [Limited(HubLimit.Media)]
    public Task SetFeedStream(Guid callId, long feedId, string mid, bool receive) => FromActivePageAsync(callId, () => Calls.SetFeedStreamAsync(Me, callId, feedId, mid, receive, Context.ConnectionAborted));

    public Task Answer(Guid callId, long feedId, string sdpAnswer) => FromActivePageAsync(callId, () => Calls.AnswerAsync(Me, callId, feedId, sdpAnswer, Context.ConnectionAborted));

    public Task Trickle(TrickleRequest request) => FromActivePageAsync(request.CallId, () => Calls.TrickleAsync(Me, request, Context.ConnectionAborted));

    public Task<CallDto> SetMuted(Guid callId, bool audioMuted, bool videoMuted) => Calls.SetMutedAsync(Me, callId, audioMuted, videoMuted, Context.ConnectionAborted);

    public Task<CallDto> AllowToSpeak(Guid callId, Guid accountId, bool allowed) => Calls.AllowToSpeakAsync(Me, callId, accountId, allowed, Context.ConnectionAborted);

    public Task<CallDto> RaiseHand(Guid callId, bool raised) => Calls.RaiseHandAsync(Me, callId, raised, Context.ConnectionAborted);

    /// <summary>The host mutes one participant, or everyone else when <paramref name="accountId"/> is null.</summary>
    public Task<CallDto> MuteParticipant(Guid callId, Guid? accountId) => Calls.MuteAsync(Me, callId, accountId, Context.ConnectionAborted);

    public Task<CallDto> RemoveParticipant(Guid callId, Guid accountId) => Calls.RemoveParticipantAsync(Me, callId, accountId, Context.ConnectionAborted);

    /// <summary>Takes the host's place while the host is away; for whoever may start a call in the chat.</summary>
    public Task<CallDto> TakeOverCall(Guid callId) => Calls.TakeOverAsync(Me, callId, Context.ConnectionAborted);

    public Task<CallDto> LockCall(Guid callId, bool locked) => Calls.LockAsync(Me, callId, locked, Context.ConnectionAborted);

    /// <summary>Who came to the call, when and for how long, against the chat's members; for the host and the chat's moderators.</summary>
    public Task<CallAttendanceDto> GetCallAttendance(Guid callId) => Calls.AttendanceAsync(Me, callId, null, Context.ConnectionAborted);

    /// <summary>Publishes the caller's screen as a second feed (kind "screen"); returns Janus's answer.</summary>
    [Limited(HubLimit.Media)]
    public Task<string> PublishScreen(Guid callId, string sdpOffer) => FromActivePageAsync(callId, () => Calls.PublishScreenAsync(Me, callId, sdpOffer, Context.ConnectionAborted, CallPage));

    /// <summary>An ICE restart of my screen share's connection with the browser's new offer; returns Janus's answer (same feed).</summary>
    [Limited(HubLimit.Media)]
    public Task<string> RestartScreenIce(Guid callId, string sdpOffer) => FromActivePageAsync(callId, () => Calls.RestartScreenIceAsync(Me, callId, sdpOffer, Context.ConnectionAborted));

    /// <summary>Stops a screen share: one's own (accountId null) or, for the host, anyone's.</summary>
    public Task<CallDto> StopScreenShare(Guid callId, Guid? accountId) => Calls.StopScreenShareAsync(Me, callId, accountId, Context.ConnectionAborted);

    /// <summary>The host lets a pupil share the screen in a lesson, or takes that back (stopping a share under way).</summary>
    public Task<CallDto> AllowToShare(Guid callId, Guid accountId, bool allowed) => Calls.AllowToShareAsync(Me, callId, accountId, allowed, Context.ConnectionAborted);

    /// <summary>The host opens the call's waiting room to members of the school outside the chat, or closes it.</summary>
    public Task<CallDto> SetWaitingRoom(Guid callId, bool open) => Calls.SetWaitingRoomAsync(Me, callId, open, Context.ConnectionAborted);

    /// <summary>Someone of the school outside the chat asks to join; they wait until the host decides (CallGuestDecided).</summary>
    public Task<CallGuestDto> AskToJoinCall(Guid callId) => Calls.AskToJoinAsync(Me, callId, Context.ConnectionAborted);

    /// <summary>The host's view of the waiting room.</summary>
    public Task<IReadOnlyList<CallGuestDto>> GetCallWaitingRoom(Guid callId) => Calls.WaitingRoomAsync(Me, callId, Context.ConnectionAborted);

    /// <summary>The host admits (then they JoinCall) or rejects someone waiting.</summary>
    public Task<IReadOnlyList<CallGuestDto>> AdmitToCall(Guid callId, Guid accountId, bool admit) => Calls.AdmitAsync(Me, callId, accountId, admit, Context.ConnectionAborted);

    /// <summary>Starts a broadcast («трансляция») in a channel or group chat: the caller presents, everyone else only watches.</summary>
    public Task<CallJoinDto> StartBroadcast(Guid chatId) => Calls.StartAsync(Me, chatId, false, Context.ConnectionAborted, broadcast: true, connectionId: Context.ConnectionId, page: CallPage);

    /// <summary>The host of a broadcast makes someone a presenter or a viewer again.</summary>
    public Task<CallDto> SetPresenter(Guid callId, Guid accountId, bool presenter) => Calls.SetPresenterAsync(Me, callId, accountId, presenter, Context.ConnectionAborted);

    /// <summary>Plans a call, lesson or broadcast in a chat; the chat gets a message and CallScheduled.</summary>
    public Task<CallPlanDto> ScheduleCall(ScheduleCallRequest request) => Calls.ScheduleAsync(Me, request, Context.ConnectionAborted);

    /// <summary>The chat's planned calls (not cancelled, from six hours ago on).</summary>
    public Task<IReadOnlyList<CallPlanDto>> GetScheduledCalls(Guid chatId) => Calls.ScheduledAsync(Me, chatId, Context.ConnectionAborted);

    /// <summary>Reminders already sent in my chats whose call has not begun (for a page opened after they went out).</summary>
    public Task<IReadOnlyList<CallReminderDto>> GetCallReminders() => Calls.RemindersAsync(Me, Context.ConnectionAborted);

    public Task<CallPlanDto> CancelScheduledCall(Guid planId) => Calls.CancelPlanAsync(Me, planId, Context.ConnectionAborted);

    /// <summary>Joins a planned call from ten minutes before its start (the first comer opens it; the planner hosts).</summary>
    public Task<CallJoinDto> JoinScheduledCall(Guid planId) => Calls.JoinPlannedAsync(Me, planId, Context.ConnectionAborted, Context.ConnectionId, CallPage);
}
