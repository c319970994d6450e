using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Files;
using Chat.Hub.Features.Messages;
using Chat.Hub.Features.Polls;
using Chat.Hub.Infrastructure;
using Chat.Storage.Accounts;
using Chat.Storage.Chats;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace Chat.Hub.Realtime;

/// <summary>What the server pushes to a connected client (docs/hub-protocol.md).</summary>
public interface IChatClient
{
    Task MessageReceived(MessageDto message);

    /// <summary>
    /// Several new messages of one chat, in seq order: what one group commit stored for the chat. One invocation per
    /// chat and batch instead of one per message (docs/hub-protocol.md).
    /// </summary>
    Task MessagesReceived(MessageDto[] messages);

    /// <summary>
    /// The chat has events up to <paramref name="seq"/>: a client that has less catches up (GetUpdates). Sent when a
    /// resend finds its message stored already — stored by a node that may have stopped before pushing it, so members
    /// who never got it learn of it now instead of at their next reconnect or the chat's next message.
    /// </summary>
    Task ChatAdvanced(Guid chatId, long seq);

    Task MessageChanged(ChatEventDto change);

    /// <summary>
    /// To a channel's reader (all her devices) after she reacted: the message with her own reactions named. The channel's
    /// <c>MessageChanged</c> names nobody, so without it her other devices could not tell that she took a reaction back.
    /// </summary>
    Task MyReactions(MessageDto message);

    Task ChatMembershipChanged(Guid chatId, bool added);

    /// <summary>A chat's title, avatar or archived state changed (to its members; each derives its own canPost).</summary>
    Task ChatUpdated(ChatUpdatedDto chat);

    Task ReadPosition(ReadPositionDto position);

    /// <summary>
    /// A join request of the school came or was decided: to those who may decide it (its admins, the class teachers of
    /// its class), whose «Управление школой» / «Приглашения» count the requests waiting.
    /// </summary>
    Task JoinRequestsChanged(Guid schoolId);

    Task Typing(TypingDto typing);

    Task SessionEnded(string reason);

    Task RestrictionChanged(Features.Moderation.RestrictionDto restriction);

    Task PollUpdated(PollUpdateDto update);

    Task CallStarted(Features.Calls.CallDto call);

    Task CallEnded(Guid callId);

    Task ParticipantJoined(Guid callId, Features.Calls.CallParticipantDto participant);

    Task ParticipantLeft(Guid callId, Guid accountId);

    Task CallStateChanged(Features.Calls.CallDto call);

    /// <summary>The call's media server restarted: publish and subscribe again (the call itself goes on).</summary>
    Task SfuRestarted(Guid callId);

    /// <summary>
    /// To this connection only: another page of mine (a tab, a device) joined the call and is my active page there now;
    /// this page stops its media and may take the call back by joining again (docs/calls.md, "Two pages of one person").
    /// </summary>
    Task CallMovedToAnotherPage(Guid callId);

    /// <summary>A call was planned in the chat, or its plan was cancelled (Cancelled = true).</summary>
    Task CallScheduled(Features.Calls.CallPlanDto plan);

    /// <summary>A scheduled call starts soon (the lead time before) or now (AtStart); once per plan and reminder, from one node.</summary>
    Task CallReminder(Features.Calls.CallReminderDto reminder);

    /// <summary>How many viewers a broadcast has now (viewers are not announced one by one).</summary>
    Task BroadcastViewers(Guid callId, int viewers);

    /// <summary>To the host: someone from the school outside the chat asks to join (the waiting room).</summary>
    Task CallGuestWaiting(Guid callId, Features.Calls.CallGuestDto guest);

    /// <summary>To the person waiting: the host admitted them (call JoinCall now) or not.</summary>
    Task CallGuestDecided(Guid callId, bool admitted);
}

/// <summary>
/// The one real-time hub. Thin: it authorizes (through the feature services, against the database), validates and
/// delegates; errors become <see cref="HubException"/>s with a stable code in <see cref="ChatHubFilter"/>.
/// </summary>
[Authorize]
public sealed partial class ChatHub(
    ConnectionRegistry registry,
    ChatStore chats,
    ChatService chatService,
    MessageService messageService,
    PresenceTracker presence,
    ChatPush push,
    Features.Moderation.ModerationService moderation,
    Features.Statistics.StatisticsService statistics,
    HubLimits limits,
    LiveConnections live,
    Features.Calls.CallService calls) : Hub<IChatClient>
{
    private Features.Moderation.ModerationService Moderation { get; } = moderation;

    private Guid Me => Context.User!.AccountId();

    public override async Task OnConnectedAsync()
    {
        var me = Me;
        if (!limits.TryOpenConnection(registry, Context, me, Context.User!.SessionId()))
        {
            // Closes the connection with this error as the reason, and tells the client not to reconnect.
            throw new HubException($"{ChatError.TooManyConnections.Code}: {ChatError.TooManyConnections.Message}");
        }

        try
        {
            // The chats were read with the session check of this very request (AuthSetup), so connecting costs one
            // query. If a membership change was applied on this node meanwhile, they are read again (now that the
            // connection is registered, later changes reach it through LiveConnections). The item is taken out so
            // that the request's HttpContext, which lives as long as the connection, does not keep it.
            var http = Context.GetHttpContext();
            var known = http?.Items[AuthSetup.ConnectInfoKey] as ConnectInfo;
            http?.Items.Remove(AuthSetup.ConnectInfoKey);
            var epoch = live.MembershipEpoch;
            IReadOnlyCollection<Guid> chatIds = known is not null && known.Epoch == epoch
                ? known.ChatIds
                : await chats.ChatIdsOfAsync(me, Context.ConnectionAborted);

            await presence.ConnectedAsync(me);
            await statistics.TouchAsync(me, Context.ConnectionAborted);
            foreach (var chatId in chatIds)
            {
                await Groups.AddToGroupAsync(Context.ConnectionId, LiveConnections.ChatGroup(chatId), Context.ConnectionAborted);
            }

            // A change applied while the groups were joined (its removal may have run before this loop added the chat
            // back): the chats are read again and the groups put right, a few times at most under a stream of changes.
            for (var again = 0; again < 3 && live.MembershipEpoch != epoch; again++)
            {
                epoch = live.MembershipEpoch;
                var now = await chats.ChatIdsOfAsync(me, Context.ConnectionAborted);
                foreach (var gone in chatIds.Except(now))
                {
                    await Groups.RemoveFromGroupAsync(Context.ConnectionId, LiveConnections.ChatGroup(gone), Context.ConnectionAborted);
                }

                foreach (var added in now.Except(chatIds))
                {
                    await Groups.AddToGroupAsync(Context.ConnectionId, LiveConnections.ChatGroup(added), Context.ConnectionAborted);
                }

                chatIds = now;
            }
        }
        catch
        {
            // A connection that fails here never counts as open (it would hold one of the person's places until restart).
            registry.Remove(me, Context.ConnectionId);
            throw;
        }

        await base.OnConnectedAsync();
    }

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        registry.Remove(Me, Context.ConnectionId);
        await presence.DisconnectedAsync(Me);
        await Calls.ConnectionClosedAsync(Context.ConnectionId); // a call page that vanished: CallService.Presence.cs
        await base.OnDisconnectedAsync(exception);
    }

    public DateTimeOffset Ping() => DateTimeOffset.UtcNow;

    public Task<IReadOnlyList<ChatSummaryDto>> GetChats(Guid? schoolId) => chatService.ListMineAsync(Me, schoolId, Context.ConnectionAborted);

    public Task<ChatDetailsDto> GetChat(Guid chatId) => chatService.GetAsync(chatId, Me, Context.ConnectionAborted);

    public Task<IReadOnlyList<ChatMemberDto>> GetChatMembers(Guid chatId) => chatService.MembersAsync(chatId, Me, Context.ConnectionAborted);

    [Limited(HubLimit.Send), Pipelined]
    public Task<MessageDto> SendMessage(SendMessageRequest request) => messageService.SendAsync(Me, request, Context.ConnectionAborted, answerOnTheLoop: true);

    [Limited(HubLimit.Send)]
    public Task<MessageDto> ForwardMessage(ForwardMessageRequest request) => messageService.ForwardAsync(Me, request, Context.ConnectionAborted);

    [Limited(HubLimit.Send)]
    public Task<MessageDto> EditMessage(Guid chatId, long seq, string text) => messageService.EditAsync(Me, chatId, seq, text, Context.ConnectionAborted);

    public Task<MessageDto> DeleteMessage(Guid chatId, long seq) => messageService.DeleteAsync(Me, chatId, seq, Context.ConnectionAborted);

    [Limited(HubLimit.Send)]
    public Task<MessageDto> React(Guid chatId, long seq, string emoji, bool add) => messageService.ReactAsync(Me, chatId, seq, emoji, add, Context.ConnectionAborted);

    [Limited(HubLimit.Send)]
    public Task<MessageDto> PinMessage(Guid chatId, long seq, bool pin) => messageService.PinAsync(Me, chatId, seq, pin, Context.ConnectionAborted);

    public Task<IReadOnlyList<MessageDto>> GetHistory(Guid chatId, long? beforeSeq, int? limit) =>
        messageService.HistoryAsync(Me, chatId, beforeSeq, limit, Context.ConnectionAborted);

    public Task<ChatUpdatesDto> GetUpdates(Guid chatId, long afterSeq, int? limit) =>
        messageService.UpdatesAsync(Me, chatId, afterSeq, limit, Context.ConnectionAborted);

    public Task<long> MarkRead(Guid chatId, long seq) => messageService.MarkReadAsync(Me, chatId, seq, Context.ConnectionAborted);

    public Task<ReadByDto> GetReadBy(Guid chatId, long seq) => messageService.ReadByAsync(Me, chatId, seq, Context.ConnectionAborted);

    public Task<IReadOnlyList<string>> GetEditHistory(Guid chatId, long seq) => messageService.EditHistoryAsync(Me, chatId, seq, Context.ConnectionAborted);

    public Task<IReadOnlyList<MessageDto>> SearchMessages(string query, Guid? schoolId) =>
        messageService.SearchAsync(Me, schoolId, query, Context.ConnectionAborted);

    /// <summary>Search with paging, in all my chats or in one chat, with the matched words of each hit.</summary>
    public Task<SearchPageDto> SearchMessagesPage(SearchRequest request) =>
        messageService.SearchPageAsync(Me, request, Context.ConnectionAborted);

    /// <summary>Tells the chat that this person is typing; at most once every few seconds per connection.</summary>
    public async Task Typing(Guid chatId)
    {
        if (!limits.TryTyping(Context.ConnectionId, chatId))
        {
            return;
        }

        // The name is read here rather than kept per connection (idle memory; and it may have changed since). Someone
        // who may not write there now (blocked, muted, a reader of a channel, an archived chat) is not shown typing.
        var (member, name) = await chats.TypingNameAsync(chatId, Me, Context.ConnectionAborted);
        if (!member)
        {
            throw new ChatException(ChatError.ChatNotFound);
        }

        if (name is not null)
        {
            await push.TypingAsync(new TypingDto(chatId, Me, name), Context.ConnectionId);
        }
    }

    /// <summary>Which of these people are online; only people who share a chat with me are answered for.</summary>
    public async Task<IReadOnlyList<Guid>> GetPresence(Guid[] accountIds)
    {
        if (accountIds.Length > 500)
        {
            throw ChatException.Field("accountIds", "Не больше 500 человек за раз.");
        }

        var contacts = await chats.ContactsAmongAsync(Me, accountIds, Context.ConnectionAborted);
        return await presence.OnlineAsync(contacts);
    }

    public Task<ChatSummaryDto> OpenDirectChat(Guid schoolId, Guid accountId) =>
        chatService.OpenDirectAsync(schoolId, Me, accountId, Context.ConnectionAborted);

    public Task<ChatSummaryDto> CreateChat(CreateChatRequest request) => chatService.CreateAsync(Me, request, Context.ConnectionAborted);

    public Task<int> AddChatMembers(Guid chatId, Guid[] accountIds) => chatService.AddMembersAsync(chatId, Me, accountIds, Context.ConnectionAborted);

    public Task LeaveChat(Guid chatId) => chatService.LeaveAsync(chatId, Me, Context.ConnectionAborted);

    public Task<ChatDetailsDto> UpdateChat(Guid chatId, UpdateChatRequest request) => chatService.UpdateAsync(chatId, Me, request, Context.ConnectionAborted);

    public Task SetChatMemberRole(Guid chatId, Guid accountId, string role) => chatService.SetMemberRoleAsync(chatId, Me, accountId, role, Context.ConnectionAborted);

    public Task AcceptChatRules(Guid chatId, int version) => chatService.AcceptRulesAsync(chatId, Me, version, Context.ConnectionAborted);

    public Task SetChatPreferences(Guid chatId, ChatPreferencesRequest request) => chatService.SetPreferencesAsync(chatId, Me, request, Context.ConnectionAborted);

    public Task BlockPerson(Guid accountId, bool block) => chatService.SetPersonBlockAsync(Me, accountId, block, Context.ConnectionAborted);

    // Polls and files (docs/files-and-polls.md); their services come in as method parameters from DI.
    [Limited(HubLimit.Send)]
    public Task<MessageDto> CreatePoll(CreatePollRequest request, PollService polls) => polls.CreateAsync(Me, request, Context.ConnectionAborted);

    public Task<PollDto> GetPoll(Guid chatId, long seq, PollService polls) => polls.GetAsync(Me, chatId, seq, Context.ConnectionAborted);

    [Limited(HubLimit.Send)]
    public Task<PollDto> Vote(Guid chatId, long seq, int[] optionIds, PollService polls) => polls.VoteAsync(Me, chatId, seq, optionIds, Context.ConnectionAborted);

    [Limited(HubLimit.Send)]
    public Task<PollDto> RetractVote(Guid chatId, long seq, PollService polls) => polls.RetractAsync(Me, chatId, seq, Context.ConnectionAborted);

    public Task<PollDto> ClosePoll(Guid chatId, long seq, PollService polls) => polls.CloseAsync(Me, chatId, seq, Context.ConnectionAborted);

    [Limited(HubLimit.Send)]
    public Task<MessageDto> SendFiles(SendFilesRequest request, FileService files) => files.SendAsync(Me, request, Context.ConnectionAborted);

    public Task<IReadOnlyList<ChatFileDto>> GetChatFiles(Guid chatId, string? kind, long? beforeSeq, int? limit, FileService files) =>
        files.ChatFilesAsync(Me, chatId, kind, beforeSeq, limit, Context.ConnectionAborted);
}
