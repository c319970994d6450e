using System.Collections.Concurrent;
using Chat.Hub.Features.Chats;
using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Signaling.Calls;
using Chat.Signaling.Sdp;
using Chat.Signaling.Sfu;
using Chat.Signaling.Turn;
using Chat.Storage.Calls;
using Chat.Storage.Chats;
using Chat.Storage.Infrastructure;
using Microsoft.AspNetCore.SignalR;
using StackExchange.Redis;

namespace Chat.Hub.Features.Calls;

/// <summary>
/// Calls in chats. Every operation authorizes against the database (chat membership through <see cref="ChatService"/>),
/// then changes the call's state under a row lock in PostgreSQL (so any node, and a restarted node, sees the same
/// call), then talks to the call's Janus instance. Calls are not tied to a hub connection or its access token: a
/// participant who reconnects with a new token calls JoinCall again and carries on.
/// </summary>
public sealed partial class CallService(
    ChatDatabase database,
    CallStore calls,
    CallAttendanceStore attendance,
    CallGuestStore guests,
    CallPlanStore plans,
    Messages.MessageService messages,
    ChatStore chats,
    ChatService chatService,
    JanusPool janus,
    TurnCredentials turn,
    IHubContext<ChatHub, IChatClient> hub,
    ILogger<CallService> logger,
    IConnectionMultiplexer? redis = null,
    IHostApplicationLifetime? lifetime = null) : IChatAccessWatcher
{
    // Janus handles are per node (CallService.Nodes.cs): (call, account) -> publisher handle; (call, account, feed) -> subscriber handle.
    private readonly ConcurrentDictionary<(Guid Call, Guid Account), long> publishers = new();
    private readonly ConcurrentDictionary<(Guid Call, Guid Account), long> screenPublishers = new();
    private readonly ConcurrentDictionary<(Guid Call, Guid Account, long Feed), long> subscribers = new();
    private readonly ConcurrentDictionary<string, long> adminHandles = new();

    // Rooms being made on this node, per call (EnsureRoomAsync): one making at a time, shared by whoever asks meanwhile.
    private readonly Dictionary<Guid, Task<CallRow>> roomsInMaking = [];
    private int subscribed;

    public async Task<CallJoinDto> StartAsync(Guid me, Guid chatId, bool lessonMode, CancellationToken ct, bool broadcast = false, string? connectionId = null, string? page = null)
    {
        Subscribe();
        var chat = await RequireMayStartAsync(me, chatId, broadcast, ct);
        var existing = await calls.LiveInChatAsync(chatId, ct);
        if (existing is not null)
        {
            return await JoinAsync(me, existing.Id, ct, connectionId, page);
        }

        var call = NewCall(chatId, me, lessonMode && chat.Kind != "direct" && !broadcast, broadcast);
        var created = await database.InTransactionAsync(s => calls.TryInsertAsync(s, call, ct), ct);
        if (!created)
        {
            // Someone started one at the same moment: join theirs.
            existing = await calls.LiveInChatAsync(chatId, ct) ?? throw new ChatException(ChatError.Conflict);
            return await JoinAsync(me, existing.Id, ct, connectionId, page);
        }

        return await OpenedAsync(me, call, connectionId, ct, page);
    }

    /// <summary>
    /// Who may start a call in the chat: either person of a direct chat; elsewhere its moderators and verified teachers
    /// (in a read-only channel only its writers, and only a broadcast).
    /// </summary>
    private async Task<ChatRow> RequireMayStartAsync(Guid me, Guid chatId, bool broadcast, CancellationToken ct)
    {
        var role = await chatService.ActingRoleAsync(chatId, me, ct);
        var chat = await chats.GetAsync(chatId, ct) ?? throw new ChatException(ChatError.ChatNotFound);
        if (role == "member" && !await chats.MemberMayStartCallsAsync(chatId, me, ct))
        {
            throw new ChatException(ChatError.CallStartNotAllowed);
        }

        if (broadcast && chat.Kind == "direct")
        {
            throw new ChatException(ChatError.BroadcastNotAllowed);
        }

        BroadcastOnlyInChannels(chat, broadcast);
        return chat;
    }

    /// <summary>
    /// A channel's readers are not shown to each other, and safe mode keeps strangers from calling a pupil: in a read-only
    /// channel its writers present and everyone else only watches (<c>channel_broadcast_only</c> for anything else).
    /// </summary>
    private static void BroadcastOnlyInChannels(ChatRow? chat, bool broadcast)
    {
        if (!broadcast && chat?.ReadOnly == true)
        {
            throw new ChatException(ChatError.ChannelBroadcastOnly);
        }
    }

    private static CallRow NewCall(Guid chatId, Guid hostId, bool lessonMode, bool broadcast) =>
        new(Guid.CreateVersion7(), chatId, hostId, lessonMode, false, null, null, null, default, null, Kind: broadcast ? "broadcast" : "call");

    /// <summary>
    /// A call was just inserted: give it a room, let <paramref name="me"/> in and tell the chat. A media server that does
    /// not answer now does not stop the call: the room is made by the first Publish or Subscribe once it does
    /// (<see cref="SfuAsync"/>), and the page retries those meanwhile, as after a Janus restart. (Before, the start
    /// answered media_unavailable and left the inserted call live with nobody in it: the chat showed a call of no one,
    /// reminders were held back for it, and a second try joined it without CallStarted ever reaching the class.)
    /// </summary>
    private async Task<CallJoinDto> OpenedAsync(Guid me, CallRow call, string? connectionId, CancellationToken ct, string? page = null)
    {
        if (janus.Enabled)
        {
            try
            {
                await EnsureRoomAsync(call.Id, ct);
            }
            catch (ChatException e) when (e.Error == ChatError.MediaUnavailable)
            {
                LogStartedWithoutRoom(logger, call.Id);
            }
        }

        var joined = await JoinAsync(me, call.Id, ct, connectionId, page);
        await PushAsync(call.ChatId, call.Id, c => c.CallStarted(joined.Call));
        return joined;
    }

    /// <summary>
    /// Joins (or rejoins) the call. <paramref name="connectionId"/>: the hub connection it is done from, whose close
    /// later takes the person out unless they come back in time (CallService.Presence.cs); none for other callers.
    /// <paramref name="page"/>: the call page that connection belongs to (kept across its reconnects; none: the
    /// connection is the page). The page that joins becomes the person's only active page in the call
    /// (<see cref="RequireActivePageAsync"/>): if another page of theirs was, that page is told
    /// (<c>CallMovedToAnotherPage</c>) and the camera and screen feeds it published leave the call — it stops them. A
    /// <paramref name="rejoin"/> (a page's automatic return after its hub reconnected) does not take the call from
    /// another page whose connection is open: <c>call_moved_to_another_page</c>.
    /// </summary>
    public async Task<CallJoinDto> JoinAsync(Guid me, Guid callId, CancellationToken ct, string? connectionId = null, string? page = null, bool rejoin = false)
    {
        Subscribe();
        var row = await calls.GetAsync(callId, ct);
        if (row is null || row.EndedAt is not null)
        {
            throw new ChatException(ChatError.CallNotFound);
        }

        var role = await RoleForCallAsync(row, me, CallAccess.Attend, ct);
        // Someone the sweep took out (their page was away too long: CallService.Presence.cs) comes back even into a
        // call locked meanwhile: they were in it, not new. (For a returning participant this only lifts the lock.)
        var moderator = role is not ("member" or Guest) || await calls.WasSweptAsync(callId, me, ct);
        // A guest the host admitted by name from the waiting room comes in past the lock (the host let exactly him in),
        // under the lesson's rules all the same.
        var admitted = role == Guest;
        // No page (a client that names none): no active-page logic for it, as its reconnects cannot be told from a
        // second page; its join leaves the recorded active page as it was (wiped, a web page joining next would not be
        // told apart from the one before it, and the two would fight over the person's media again).
        page = connectionId is null ? null : page;
        var joinedBefore = connectionId is not null && joinedBy.TryGetValue(connectionId, out var before) && before == (callId, me);
        Joining(connectionId, callId, me);
        var wasIn = false;
        var pageChanged = false;
        string[] otherPages = [];
        (long? Camera, long? Screen) oldFeeds = default;
        // A broadcast's joins touch only the joiner's row (no participant limit), so they run side by side: an assembly
        // of a thousand opening the broadcast at nine does not queue behind one lock.
        CallDto dto;
        try
        {
            dto = (await MutateIfAsync(callId, [me], page is null ? null : async s =>
            {
                // Under the call's lock: which page of mine was active before this join.
                var (active, live, connections) = await calls.ActivePageAsync(s, callId, me, ct);
                pageChanged = active is not null && active != page;
                otherPages = [];
                if (pageChanged)
                {
                    if (rejoin && live)
                    {
                        throw new ChatException(ChatError.CallMovedToAnotherPage);
                    }

                    // Those pages lose the call: their connections no longer keep me in it (dropped below, in this
                    // transaction), so when the active page closes while an older one stays open I am gone.
                    var entry = ConnectionEntry(connectionId!);
                    otherPages = connections.Where(c => c != entry).ToArray();
                }

                return true;
            }, state =>
            {
                wasIn = state.Find(me) is { Present: true };
                if (wasIn && pageChanged)
                {
                    // The page that published these stops them (it is told below); nobody is to subscribe to them.
                    oldFeeds = FeedsOf(state, me);
                    state.SetFeed(me, null);
                    state.StopScreen(me, me);
                }

                return state.Join(me, moderator, admitted);
            }, ct, connectionId is null ? null : s => calls.MarkConnectedAsync(s, callId, me, ConnectionEntry(connectionId), ct, page, otherPages), shared: row.Kind == "broadcast"))!;
        }
        catch (ChatException e) when (e.Error == ChatError.CallMovedToAnotherPage && connectionId is not null && !joinedBefore)
        {
            // This connection did not join: its close has nothing to record.
            joinedBy.TryRemove(KeyValuePair.Create(connectionId, (callId, me)));
            throw;
        }

        await JoinedAsync(connectionId, callId, me, ct);
        if (pageChanged)
        {
            // The old page's Janus handles on this node are not this page's (it builds its media anew: MediaHere false
            // below): taken off the node's maps now, so that none of this page's requests reaches them, and detached
            // in the background. Those on other nodes go with the drop below.
            _ = DropHandlesAsync(callId, me, CancellationToken.None);
            await MovedToAnotherPageAsync(callId, me, otherPages, oldFeeds);
        }

        await PushJoinedOrLeftAsync(dto, me, joined: true);
        var ice = IceServersFor(me);
        var mediaHere = !pageChanged && HoldsMediaOf(callId, me);
        if (wasIn && !mediaHere && connectionId is not null)
        {
            LeftOverOnOtherNodes(callId, me);
        }

        // Whoever could have started the call may take the place of a host who is away (TakeOverAsync): the page offers it.
        var mayHost = role is not ("member" or Guest) || (role == "member" && await chats.MemberMayStartCallsAsync(row.ChatId, me, ct));
        return new CallJoinDto(dto, ice.IceServers, ice.ExpireAt, mediaHere, mayHost);
    }

    /// <summary>
    /// Another page of the person took the call (<see cref="JoinAsync"/>): the hub connections of their other pages are
    /// told (<c>CallMovedToAnotherPage</c>; they stop their media and offer «Продолжить здесь»), and the feeds those pages
    /// published leave the room (in the background), in case a page does not hear it. Failures are logged: the join stands.
    /// </summary>
    private async Task MovedToAnotherPageAsync(Guid callId, Guid me, string[] otherPages, (long? Camera, long? Screen) oldFeeds)
    {
        try
        {
            // Entries are node/connection; SignalR (with the Redis backplane, on any node) knows connections by id. A
            // page that closed meanwhile simply hears nothing.
            var ids = otherPages.Select(e => e[(e.IndexOf('/', StringComparison.Ordinal) + 1)..]).ToList();
            await hub.Clients.Clients(ids).CallMovedToAnotherPage(callId);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSfu(logger, e, callId);
        }

        // In the background, as the drop to other nodes: a Janus that does not answer would hold the join up to 10 s
        // a feed (the feeds are out of the call's state already; a kick that fails is logged).
        _ = Task.Run(() => KickFeedsAsync(callId, oldFeeds));
    }

    /// <summary>
    /// Media requests (publishing, subscribing, answering, trickling, ICE restarts, pausing streams) come only from the
    /// person's active page in the call, the one that joined last (<see cref="JoinAsync"/>): one camera and one set of
    /// subscriptions per person live on the server, and a second page's requests would replace the first's, each
    /// page's recovery breaking the other's media. Any other page of theirs hears <c>call_moved_to_another_page</c>.
    /// No page recorded (a join not made from a hub connection): no check.
    /// </summary>
    public async Task RequireActivePageAsync(Guid me, Guid callId, string page, CancellationToken ct) =>
        RequireActive(await calls.ActivePageAsync(callId, me, ct), page);

    /// <summary>
    /// <see cref="RequireActivePageAsync"/> again, under the call's lock, before a feed published from <paramref name="page"/>
    /// is stored (none: a connection that names no page, no check). Returns true or throws.
    /// </summary>
    private async Task<bool> RequireStillActivePageAsync(DbScope s, Guid callId, Guid me, string? page, CancellationToken ct)
    {
        if (page is not null)
        {
            RequireActive((await calls.ActivePageAsync(s, callId, me, ct)).Page, page);
        }

        return true;
    }

    /// <summary>The person's active page is <paramref name="active"/> (none recorded: any page may go on).</summary>
    private static void RequireActive(string? active, string page)
    {
        if (active is not null && active != page)
        {
            throw new ChatException(ChatError.CallMovedToAnotherPage);
        }
    }

    /// <summary>
    /// A page rejoined through this node while present in the call, and this node holds none of its media: the page
    /// builds it all again here (<see cref="CallJoinDto.MediaHere"/>), so whatever Janus handles another node still
    /// holds of the person in this call (the node the page was on before its connection moved) are left over: that
    /// node is told to detach them, and with its camera handle goes the stale feed from the room. Not awaited: a
    /// rejoin does not wait on Redis (a lost drop is caught by that node's handle check, which finds the person in the
    /// call through no connection of its own: <see cref="ForgetLeftOverHandlesAsync"/>). A second device of the same
    /// account in the same call is one participant: its media on the other node goes too (that page sees its
    /// connections fail and makes them again, as when Janus drops a handle).
    /// </summary>
    private void LeftOverOnOtherNodes(Guid callId, Guid me) => _ = PublishDropAsync(new HandleDrop(nodeId, callId, me));

    /// <summary>Whether this node holds any Janus handle of the person in the call: camera, screen or a subscription.</summary>
    private bool HoldsMediaOf(Guid callId, Guid me) =>
        publishers.ContainsKey((callId, me)) || screenPublishers.ContainsKey((callId, me))
        || subscribers.Keys.Any(k => k.Call == callId && k.Account == me);

    /// <summary>
    /// New TURN credentials for someone in the call, before the ones of their join expire (a lesson has no time limit;
    /// the page renews them and builds failed connections with them). Only for a participant who is in the call now.
    /// </summary>
    public async Task<IceServersDto> IceServersAsync(Guid me, Guid callId, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, callId, ct);
        var (state, _) = await LoadAsync(row, me, ct);
        Translate(() => state.RequirePresent(me));
        return IceServersFor(me);
    }

    private IceServersDto IceServersFor(Guid me)
    {
        var server = turn.For(me);
        return server is null
            ? new IceServersDto([], null)
            : new IceServersDto([new IceServerDto(server.Urls, server.Username, server.Credential)], server.ExpiresAt);
    }

    public async Task<CallDto> GetAsync(Guid me, Guid callId, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, callId, ct, CallAccess.Read);
        var (state, _) = await LoadAsync(row, me, ct);
        return ToDto(state);
    }

    /// <summary>The chat's live call, or null; for members who may attend it (as JoinCall: not blocked), anyone else: chat_not_found.</summary>
    public async Task<CallDto?> ChatCallAsync(Guid me, Guid chatId, CancellationToken ct)
    {
        await chatService.AttendingRoleAsync(chatId, me, ct);
        var live = await calls.LiveInChatAsync(chatId, ct);
        if (live is null)
        {
            return null;
        }

        var (state, _) = await LoadAsync(live, me, ct);
        return ToDto(state);
    }

    public async Task LeaveAsync(Guid me, Guid callId, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, callId, allowNonMember: true, ct: ct);
        if (await chats.RoleOfAsync(row.ChatId, me, ct) is null
            && await calls.ParticipantAsync(callId, me, ct) is not { Present: true })
        {
            // Someone who left the chat may still hang up; anyone else learns nothing about the call.
            throw new ChatException(ChatError.ChatNotFound);
        }

        // The page closes its connections, but handles of mine may live on another node (I reconnected elsewhere, or
        // a second device): they go too, so nobody keeps receiving a call they are no longer seen in.
        (long? Camera, long? Screen) feeds = default;
        var dto = await MutateAsync(callId, [me], state =>
        {
            feeds = FeedsOf(state, me);
            state.Leave(me);
        }, ct);
        await LeftAsync(dto, me, feeds, ct);
    }

    /// <summary>
    /// After someone left (hung up, removed by the host, lost access, or gone with their page): out of the media on every
    /// node, the chat told, the call ended if they were the last.
    /// </summary>
    private async Task LeftAsync(CallDto dto, Guid accountId, (long? Camera, long? Screen) feeds, CancellationToken ct)
    {
        await TakeOutOfMediaAsync(dto.CallId, accountId, feeds);
        await PushJoinedOrLeftAsync(dto, accountId, joined: false);
        if (dto.Ended)
        {
            await EndedAsync(dto, ct);
        }
    }

    public async Task EndAsync(Guid me, Guid callId, CancellationToken ct)
    {
        await RequireMemberAsync(me, callId, ct);
        var dto = await MutateAsync(callId, [me], state => state.End(me), ct);
        await EndedAsync(dto, ct);
    }

    /// <summary>
    /// Ends every live call of the school, as its host would: the operator suspended it, and whoever is in a lesson must
    /// not go on seeing and hearing it (their media would flow through Janus for as long as they stayed).
    /// </summary>
    public async Task EndSchoolCallsAsync(Guid schoolId)
    {
        // No cancellation: the school is suspended already, its calls must end even if the operator's page is gone.
        foreach (var call in await calls.LiveInSchoolAsync(schoolId, CancellationToken.None))
        {
            try
            {
                var dto = await MutateAsync(call.Id, [], state => state.Close(), CancellationToken.None);
                await EndedAsync(dto, CancellationToken.None);
            }
            catch (ChatException)
            {
                // It ended meanwhile.
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // One call that could not be ended (the database or Janus away) does not keep the others going; the
                // school's suspension already refuses everything in it, and its media rooms are swept with the call.
                LogSfu(logger, e, call.Id);
            }
        }
    }

    /// <summary>
    /// My own microphone and camera. Turned on again after the host muted me (a parents' meeting: the host mutes all,
    /// each may speak again), the SFU forwards my audio again; turned off, it stops forwarding it whatever the browser does.
    /// Only a change of the microphone is told to the SFU (the page also calls this for its camera alone). Anything on is
    /// publishing: a member muted in the chat turns nothing on (<c>member_muted</c>), only off.
    /// </summary>
    public async Task<CallDto> SetMutedAsync(Guid me, Guid callId, bool audioMuted, bool videoMuted, CancellationToken ct)
    {
        var microphoneChanged = false;
        var dto = await ChangeAsync(me, callId, s =>
        {
            microphoneChanged = s.RequirePresent(me).AudioMuted != audioMuted;
            s.SetMuted(me, audioMuted, videoMuted);
        }, ct, access: audioMuted && videoMuted ? CallAccess.Attend : CallAccess.Publish);
        if (microphoneChanged)
        {
            await ForceMuteAsync(callId, me, ct, mute: audioMuted);
        }

        return dto;
    }

    public Task<CallDto> RaiseHandAsync(Guid me, Guid callId, bool raised, CancellationToken ct) =>
        ChangeAsync(me, callId, s => s.RaiseHand(me, raised), ct);

    /// <summary>
    /// The host lets someone speak in a lesson, or takes the word back: then their camera feed leaves the call (as a
    /// presenter's made a viewer again) — kicked out of the room, its handle detached here — and the chat gets the state
    /// without it. (Before, the feed stayed listed after their page closed it, and pages that joined later tried to
    /// subscribe to a feed Janus no longer had.)
    /// </summary>
    public async Task<CallDto> AllowToSpeakAsync(Guid me, Guid callId, Guid accountId, bool allowed, CancellationToken ct)
    {
        long? stopped = null;
        var dto = await ChangeAsync(me, callId, s => stopped = s.AllowToSpeak(me, accountId, allowed), ct, accountId);
        await StopCameraInSfuAsync(callId, accountId, stopped, ct);
        return dto;
    }

    public async Task<CallDto> MuteAsync(Guid me, Guid callId, Guid? accountId, CancellationToken ct)
    {
        IReadOnlyList<Guid> muted = [];
        var dto = await ChangeAsync(me, callId, s =>
        {
            if (accountId is { } one)
            {
                s.Mute(me, one);
                muted = [one];
            }
            else
            {
                muted = s.MuteAll(me);
            }
        }, ct, accountId);
        foreach (var id in muted)
        {
            await ForceMuteAsync(callId, id, ct);
        }

        return dto;
    }

    /// <summary>
    /// The host takes someone out of the call for good (<c>removed_from_call</c> on rejoining): their feeds leave the
    /// room and their handles are dropped on every node, whatever their browser does. A guest admitted from the waiting
    /// room is turned away as well (as <c>AdmitToCall(false)</c> does): no more of the call's events, and nothing of it
    /// to read (<c>call_guest_rejected</c>) — who is in the lesson, pupils included, is not his to know any more.
    /// </summary>
    public async Task<CallDto> RemoveParticipantAsync(Guid me, Guid callId, Guid accountId, CancellationToken ct)
    {
        (long? Camera, long? Screen) feeds = default;
        var dto = await ChangeAsync(me, callId, s =>
        {
            feeds = FeedsOf(s, accountId);
            s.Remove(me, accountId);
        }, ct, accountId);
        await LeftAsync(dto, accountId, feeds, ct);
        // After the pushes above, which the guest still got: his page learns from them that he is out.
        if (await guests.GetAsync(callId, accountId, CancellationToken.None) is { Status: "admitted" })
        {
            await guests.DecideAsync(callId, accountId, admit: false, me, CancellationToken.None);
        }

        return dto;
    }

    public Task<CallDto> LockAsync(Guid me, Guid callId, bool locked, CancellationToken ct) =>
        ChangeAsync(me, callId, s => s.Lock(me, locked), ct);

    /// <summary>
    /// Someone in the call who could have started it (a moderator of the chat, a verified teacher there) takes the place
    /// of a host who is away (<see cref="CallState.TakeOver"/>); the chat is told.
    /// </summary>
    public async Task<CallDto> TakeOverAsync(Guid me, Guid callId, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, callId, ct);
        await RequireMayStartAsync(me, row.ChatId, row.Kind == "broadcast", ct);
        var dto = await MutateAsync(callId, [me, row.HostId], s => s.TakeOver(me), ct, s => calls.SetHostAsync(s, callId, me, ct));
        await PushAsync(dto.ChatId, dto.CallId, c => c.CallStateChanged(dto));
        return dto;
    }

    /// <summary>
    /// Someone who may send this camera offer in the call: a member who acts (not blocked), present, not a broadcast
    /// viewer, allowed to speak if the offer sends anything (lesson mode); returns the call's row and the sending media.
    /// </summary>
    private async Task<(CallRow Row, List<MediaDescription> Sending)> RequirePublisherAsync(Guid me, Guid callId, string sdpOffer, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, callId, ct, CallAccess.Publish);
        var offer = Validate(sdpOffer, SdpPurpose.PublishOffer);
        var (state, _) = await LoadAsync(row, me, ct);
        Translate(() => state.RequirePresent(me));
        Translate(() => state.RequireNotViewer(me));
        var sending = offer.Media.Where(m => !m.IsRejected && m.Direction is MediaDirection.SendOnly or MediaDirection.SendRecv).ToList();
        if (sending.Count > 0 && !state.MayPublish(me))
        {
            throw new ChatException(ChatError.SpeakNotAllowed);
        }

        return (row, sending);
    }

    /// <summary>
    /// Publishes the caller's camera and microphone: validates the offer, checks lesson mode, relays to Janus.
    /// <paramref name="page"/>: the caller's page (<see cref="RequireActivePageAsync"/>), checked again under the call's
    /// lock before the feed is stored, with the permission to speak: a publish under way when another page took the
    /// call, or the word was taken back, is refused and its handle detached rather than its feed listed.
    /// </summary>
    public async Task<string> PublishAsync(Guid me, Guid callId, string sdpOffer, CancellationToken ct, string? page = null)
    {
        var (row, sending) = await RequirePublisherAsync(me, callId, sdpOffer, ct);

        var (client, sfuRow) = await SfuAsync(row, ct);
        var handle = await SfuCallAsync(() => client.AttachAsync(ct));
        if (publishers.TryRemove((callId, me), out var old))
        {
            await DetachQuietlyAsync(client, old);
        }

        publishers[(callId, me)] = handle;
        var (feed, answer) = await SfuCallAsync(() => client.PublishAsync(handle, sfuRow.SfuRoom!.Value, sfuRow.SfuSecret!, me.ToString("N"), sdpOffer,
            sending.Any(m => m.Kind == "audio"), sending.Any(m => m.Kind == "video"), ct));
        CallDto dto;
        try
        {
            dto = (await MutateIfAsync(callId, [me], s => RequireStillActivePageAsync(s, callId, me, page, ct), s =>
            {
                s.RequireNotViewer(me);
                if (sending.Count > 0 && !s.MayPublish(me))
                {
                    throw new ChatException(ChatError.SpeakNotAllowed);
                }

                s.SetFeed(me, feed);
                return true;
            }, ct))!;
        }
        catch (ChatException)
        {
            // The feed is not the call's: out of the room with its handle (unless something took the handle already).
            if (publishers.TryRemove(KeyValuePair.Create((callId, me), handle)))
            {
                await DetachQuietlyAsync(client, handle);
            }

            throw;
        }

        if (dto.Participants.FirstOrDefault(p => p.AccountId == me)?.AudioMuted == true)
        {
            // A new feed (a reconnect, a restart of the media server) of someone muted stays muted: the mute is the
            // person's, not the old feed's.
            await ForceMuteAsync(callId, me, ct);
        }

        await PushAsync(dto.ChatId, dto.CallId, c => c.CallStateChanged(dto));
        return answer;
    }

    /// <summary>
    /// An ICE restart of my camera's connection (the network changed under it): the new offer goes to the same Janus
    /// handle, so the feed and everyone's subscriptions to it stay; returns Janus's answer.
    /// </summary>
    public async Task<string> RestartIceAsync(Guid me, Guid callId, string sdpOffer, CancellationToken ct)
    {
        var (row, _) = await RequirePublisherAsync(me, callId, sdpOffer, ct);

        var handle = publishers.TryGetValue((callId, me), out var h) ? h : throw new ChatException(ChatError.FeedNotFound);
        var (client, _) = await SfuAsync(row, ct);
        return await SfuCallAsync(() => client.RenegotiatePublisherAsync(handle, sdpOffer, ct));
    }

    /// <summary>
    /// An ICE restart of my subscription to a feed (my network changed): Janus's new offer, answered with
    /// <see cref="AnswerAsync"/> as at first; the subscription stays.
    /// </summary>
    public async Task<string> RestartSubscriptionIceAsync(Guid me, Guid callId, long feedId, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, callId, ct);
        var (client, handle) = await MySubscriptionAsync(row, me, feedId, ct);
        return await SfuCallAsync(() => client.RestartSubscriptionAsync(handle, ct));
    }

    /// <summary>My subscription to a feed of the call (its row read already), while I am in the call: its Janus client and handle.</summary>
    private async Task<(JanusClient Client, long Handle)> MySubscriptionAsync(CallRow row, Guid me, long feedId, CancellationToken ct)
    {
        var (state, _) = await LoadAsync(row, me, ct);
        Translate(() => state.RequirePresent(me));
        var handle = subscribers.TryGetValue((row.Id, me, feedId), out var h) ? h : throw new ChatException(ChatError.FeedNotFound);
        var (client, _) = await SfuAsync(row, ct);
        return (client, handle);
    }

    /// <summary>Subscribes to a participant's feed; returns Janus's offer for the browser to answer with <see cref="AnswerAsync"/>.</summary>
    public async Task<string> SubscribeAsync(Guid me, Guid callId, long feedId, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, callId, ct);
        var (state, _) = await LoadAsync(row, me, ct);
        Translate(() => state.RequirePresent(me));
        if (!state.Present.Any(p => p.FeedId == feedId || p.ScreenFeedId == feedId))
        {
            throw new ChatException(ChatError.FeedNotFound);
        }

        var (client, sfuRow) = await SfuAsync(row, ct);
        var handle = await SfuCallAsync(() => client.AttachAsync(ct));
        if (subscribers.TryRemove((callId, me, feedId), out var old))
        {
            await DetachQuietlyAsync(client, old);
        }

        subscribers[(callId, me, feedId)] = handle;
        return await SfuCallAsync(() => client.SubscribeAsync(handle, sfuRow.SfuRoom!.Value, sfuRow.SfuSecret!, feedId, ct));
    }

    /// <summary>
    /// Pauses or resumes one stream of my subscription to a feed (a gallery page receives video only for the tiles it
    /// shows; sound of everyone). Only my own subscriptions, while I am in the call.
    /// </summary>
    public async Task SetFeedStreamAsync(Guid me, Guid callId, long feedId, string mid, bool receive, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, callId, ct); // outsiders learn nothing, not even how we validate
        if (string.IsNullOrEmpty(mid) || mid.Length > 16 || !mid.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw ChatException.Field("mid", "Укажите поток подписки (mid из предложения медиасервера).");
        }

        var (client, handle) = await MySubscriptionAsync(row, me, feedId, ct);
        // A mid the subscription does not have: VideoRoom answers "no such feed" (428), so the caller hears
        // feed_not_found and the page subscribes anew, which gives it the subscription's mids as they are now.
        await SfuCallAsync(() => client.ConfigureSubscriptionAsync(handle, mid, receive, ct));
    }

    public async Task AnswerAsync(Guid me, Guid callId, long feedId, string sdpAnswer, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, callId, ct);
        Validate(sdpAnswer, SdpPurpose.SubscribeAnswer);
        var handle = subscribers.TryGetValue((callId, me, feedId), out var h) ? h : throw new ChatException(ChatError.FeedNotFound);
        var (client, sfuRow) = await SfuAsync(row, ct);
        await SfuCallAsync(() => client.StartAsync(handle, sfuRow.SfuRoom!.Value, sdpAnswer, ct));
    }

    public async Task TrickleAsync(Guid me, TrickleRequest request, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, request.CallId, ct);
        var end = string.IsNullOrEmpty(request.Candidate);
        if (!end)
        {
            try
            {
                IceCandidate.Parse(request.Candidate);
            }
            catch (SdpException e)
            {
                throw new ChatException(ChatError.MediaInvalid, detail: $"{ChatError.MediaInvalid.Message} ({e.Code})");
            }

            if (request.SdpMid is { } mid && (mid.Length > 32 || mid.Any(c => c is < '!' or > '~')))
            {
                throw new ChatException(ChatError.MediaInvalid);
            }

            if (request.SdpMLineIndex is < 0 or >= 8)
            {
                throw new ChatException(ChatError.MediaInvalid);
            }
        }

        var handle = request.FeedId is { } feed
            ? subscribers.TryGetValue((request.CallId, me, feed), out var s) ? s : throw new ChatException(ChatError.FeedNotFound)
            : request.Screen
                ? screenPublishers.TryGetValue((request.CallId, me), out var sp) ? sp : throw new ChatException(ChatError.NotInCall)
                : publishers.TryGetValue((request.CallId, me), out var p) ? p : throw new ChatException(ChatError.NotInCall);
        var (client, _) = await SfuAsync(row, ct);
        await SfuCallAsync(() => client.TrickleAsync(handle, end ? null : request.Candidate, request.SdpMid, request.SdpMLineIndex, ct));
    }

    private static SessionDescription Validate(string sdp, SdpPurpose purpose)
    {
        try
        {
            return SdpValidator.ParseAndValidate(sdp, purpose);
        }
        catch (SdpException e)
        {
            throw new ChatException(ChatError.MediaInvalid, detail: $"{ChatError.MediaInvalid.Message} ({e.Code})");
        }
    }

    /// <summary>What a call method needs of the caller in the call's chat.</summary>
    private enum CallAccess
    {
        /// <summary>Any member (reading the call's state).</summary>
        Read,

        /// <summary>Not blocked: being in the call, receiving, raising a hand, host controls (a muted member may attend).</summary>
        Attend,

        /// <summary>Neither blocked nor muted: publishing camera, sound or screen.</summary>
        Publish,
    }

    private async Task<CallRow> RequireMemberAsync(Guid me, Guid callId, CancellationToken ct, CallAccess access = CallAccess.Attend, bool allowNonMember = false)
    {
        var row = await calls.GetAsync(callId, ct);
        if (row is null || row.EndedAt is not null)
        {
            throw new ChatException(ChatError.CallNotFound);
        }

        if (!allowNonMember)
        {
            // A pupil of another class, or anyone outside the chat, learns nothing: chat_not_found.
            _ = await RoleForCallAsync(row, me, access, ct);
        }

        return row;
    }

    /// <summary>
    /// The caller's role in the call's chat, or <see cref="Guest"/> for someone of the same school whom the host
    /// admitted from the waiting room. Anyone else: chat_not_found (a waiting or rejected guest hears so).
    /// </summary>
    private async Task<string> RoleForCallAsync(CallRow row, Guid me, CallAccess access, CancellationToken ct)
    {
        try
        {
            return access switch
            {
                CallAccess.Publish => await chatService.ActingRoleAsync(row.ChatId, me, ct),
                CallAccess.Attend => await chatService.AttendingRoleAsync(row.ChatId, me, ct),
                _ => await chatService.RoleAsync(row.ChatId, me, ct),
            };
        }
        catch (ChatException e) when (e.Error == ChatError.ChatNotFound)
        {
            var guest = await guests.GetAsync(row.Id, me, ct);
            if (guest is null || !await guests.InSchoolOfCallAsync(row.Id, me, ct))
            {
                throw;
            }

            return guest.Status switch
            {
                "admitted" => Guest,
                "waiting" => throw new ChatException(ChatError.CallGuestWaiting),
                _ => throw new ChatException(ChatError.CallGuestRejected),
            };
        }
    }

    /// <summary>A change by <paramref name="me"/> (to <paramref name="target"/>, if it concerns someone else), pushed to the chat.</summary>
    private async Task<CallDto> ChangeAsync(Guid me, Guid callId, Action<CallState> change, CancellationToken ct, Guid? target = null, CallAccess access = CallAccess.Attend)
    {
        await RequireMemberAsync(me, callId, ct, access);
        var dto = await MutateAsync(callId, target is { } t ? [me, t] : [me], s =>
        {
            change(s);
            return 0;
        }, ct);
        await PushAsync(dto.ChatId, dto.CallId, c => c.CallStateChanged(dto));
        return dto;
    }

    private Task<CallDto> MutateAsync(Guid callId, Guid[] focus, Action<CallState> change, CancellationToken ct, Func<DbScope, Task>? alongside = null) =>
        MutateAsync(callId, focus, s =>
        {
            change(s);
            return 0;
        }, ct, alongside);

    private async Task<CallDto> MutateAsync<T>(
        Guid callId, Guid[] focus, Func<CallState, T> change, CancellationToken ct, Func<DbScope, Task>? alongside = null, bool shared = false) =>
        (await MutateIfAsync(callId, focus, onlyIf: null, change, ct, alongside, shared))!;

    /// <summary>
    /// One change of the call under its row lock: <paramref name="onlyIf"/> (checked under the lock) false leaves it
    /// as it is and returns null; <paramref name="alongside"/> runs in the same transaction after the change is saved.
    /// <paramref name="focus"/>: the people the change concerns — in a broadcast only they, and whoever is more than a
    /// viewer, are read (<see cref="CallStore.LockAsync"/>); the change must not touch anyone else. <paramref name="shared"/>:
    /// under a share lock, for a change of the focus's own rows only that leaves the call's flags as they are.
    /// </summary>
    private Task<CallDto?> MutateIfAsync<T>(
        Guid callId, Guid[] focus, Func<DbScope, Task<bool>>? onlyIf, Func<CallState, T> change, CancellationToken ct,
        Func<DbScope, Task>? alongside = null, bool shared = false) =>
        database.InTransactionAsync<CallDto?>(async s =>
        {
            var loaded = await calls.LockAsync(s, callId, focus, ct, shared);
            if (loaded is null || loaded.Value.Call.EndedAt is not null)
            {
                throw new ChatException(ChatError.CallNotFound);
            }

            if (onlyIf is not null && !await onlyIf(s))
            {
                return null;
            }

            var state = Build(loaded.Value.Call, loaded.Value.Participants, loaded.Value.OtherViewers);
            Translate(() => change(state));
            // Only the participants this change touched are written: a broadcast may have thousands of viewers.
            var unchanged = loaded.Value.Participants.ToHashSet();
            await calls.SaveAsync(s, callId, state.Locked, state.Ended, RowsOf(state).Where(r => !unchanged.Contains(r)), ct, state.WaitingRoom);
            if (alongside is not null)
            {
                await alongside(s);
            }

            return ToDto(state);
        }, ct);

    /// <summary>The call's state as <paramref name="me"/> needs it (in a broadcast: me, and whoever is more than a viewer).</summary>
    private async Task<(CallState State, CallRow Row)> LoadAsync(CallRow row, Guid? me, CancellationToken ct)
    {
        var (participants, others) = await calls.ParticipantsAsync(row, me is { } m ? [m] : [], ct);
        return (Build(row, participants, others), row);
    }

    private static CallState Build(CallRow row, IReadOnlyList<CallParticipantRow> participants, int otherViewers)
    {
        var state = new CallState(row.Id, row.ChatId, row.HostId, row.LessonMode, row.Kind == "broadcast", row.Starter);
        state.RestoreFlags(row.Locked, row.EndedAt is not null, row.WaitingRoom);
        state.RestoreOtherViewers(otherViewers);
        foreach (var p in participants)
        {
            state.Restore(p.AccountId, p.Present, p.Removed, p.AudioMuted, p.VideoMuted, p.SpeakAllowed, p.HandRaised, p.FeedId, p.ShareAllowed, p.ScreenFeedId);
        }

        return state;
    }

    private static IEnumerable<CallParticipantRow> RowsOf(CallState state) =>
        state.Participants.Select(p => new CallParticipantRow(
            state.Id, p.AccountId, p.Present, p.Removed, p.AudioMuted, p.VideoMuted, p.SpeakAllowed, p.HandRaised, p.FeedId, p.ShareAllowed, p.ScreenFeedId));

    private static CallDto ToDto(CallState s) => new(
        s.Id, s.ChatId, s.HostId, s.LessonMode, s.Locked, s.Ended,
        s.Present.Where(p => !s.Broadcast || s.IsPresenter(p)).Select(p => new CallParticipantDto(p.AccountId, p.IsHost, p.AudioMuted, p.VideoMuted, p.SpeakAllowed, p.HandRaised, p.FeedId, p.ShareAllowed, p.ScreenFeedId)).ToList(),
        s.WaitingRoom, s.Broadcast ? "broadcast" : "call", s.ViewerCount, s.StarterId);

    /// <summary>
    /// Tells the chat who joined or left. In a broadcast a viewer is not announced one by one (thousands would flood
    /// everyone): the chat gets the viewer count instead.
    /// </summary>
    private Task PushJoinedOrLeftAsync(CallDto dto, Guid accountId, bool joined)
    {
        var participant = dto.Participants.FirstOrDefault(p => p.AccountId == accountId);
        if (dto.Kind == "broadcast" && (participant is null || !joined))
        {
            return joined || participant is null
                ? ViewersChangedAsync(dto)
                : PushAsync(dto.ChatId, dto.CallId, c => c.ParticipantLeft(dto.CallId, accountId));
        }

        return joined
            ? PushAsync(dto.ChatId, dto.CallId, c => c.ParticipantJoined(dto.CallId, participant!))
            : PushAsync(dto.ChatId, dto.CallId, c => c.ParticipantLeft(dto.CallId, accountId));
    }

    private static void Translate(Action action)
    {
        try
        {
            action();
        }
        catch (CallException e)
        {
            throw new ChatException(e.Code switch
            {
                "call_ended" => ChatError.CallNotFound,
                "call_locked" => ChatError.CallLocked,
                "call_full" => ChatError.CallFull,
                "host_only" => ChatError.CallHostOnly,
                "speak_not_allowed" => ChatError.SpeakNotAllowed,
                "share_not_allowed" => ChatError.ShareNotAllowed,
                "screen_busy" => ChatError.ScreenBusy,
                "viewer_cannot_publish" => ChatError.ViewerCannotPublish,
                "participant_removed" => ChatError.RemovedFromCall,
                "participant_gone" => ChatError.ParticipantGone,
                "host_present" => ChatError.CallHostPresent,
                "starter_protected" => ChatError.CallStarterProtected,
                _ => ChatError.NotInCall,
            });
        }
    }

    private static T Translate<T>(Func<T> func)
    {
        var result = default(T)!;
        Translate(() => { result = func(); });
        return result;
    }

    /// <summary>
    /// Gives the call a VideoRoom room unless it has one, on the least loaded instance. One making at a time per call on
    /// this node: whoever asks meanwhile (everyone re-publishing after a Janus restart) waits for that one, and gives up
    /// waiting with their own request, not the making. Janus is talked to with no transaction open and no lock of the
    /// call held (<see cref="MakeRoomAsync"/>), so a Janus that does not answer keeps nobody else of the call waiting.
    /// Before, the room was made under the call's row lock: with a hung Janus every publishing page's retry queued behind
    /// it (each holding a database connection) for a connect without a timeout and a 10 s request, and every join, leave
    /// and mute of the call waited behind them.
    /// </summary>
    private async Task<CallRow> EnsureRoomAsync(Guid callId, CancellationToken ct)
    {
        Task<CallRow> making;
        lock (roomsInMaking)
        {
            if (!roomsInMaking.TryGetValue(callId, out making!))
            {
                making = MakeRoomAsync(callId, lifetime?.ApplicationStopping ?? CancellationToken.None);
                roomsInMaking[callId] = making;
                _ = making.ContinueWith(
                    _ =>
                    {
                        lock (roomsInMaking)
                        {
                            roomsInMaking.Remove(callId);
                        }
                    },
                    CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }

        return await making.WaitAsync(ct);
    }

    /// <summary>
    /// Makes the call's room on Janus, then stores it in a short transaction of its own, only if the call still has
    /// none and is live: of two nodes making one at once, the first to store it wins and the other destroys its own.
    /// </summary>
    private async Task<CallRow> MakeRoomAsync(Guid callId, CancellationToken ct)
    {
        await Task.Yield(); // not under the caller's lock of roomsInMaking
        var row = await calls.GetAsync(callId, ct);
        if (row is null || row.EndedAt is not null)
        {
            throw new ChatException(ChatError.CallNotFound);
        }

        if (row.SfuUrl is not null && row.SfuRoom is not null)
        {
            return row;
        }

        var url = janus.Place(await calls.LiveCallsPerSfuAsync(ct));
        var (room, secret) = JanusPool.NewRoom();
        var client = await SfuCallAsync(() => janus.ClientAsync(url, ct));
        var admin = await AdminHandleAsync(client, url, ct);
        await SfuCallAsync(() => client.CreateRoomAsync(admin, room, secret, CallState.MaxParticipants + 1, ct));
        if (client.IsLost)
        {
            // The instance went away while the room was being made (its restart's recovery may already have run): a
            // room stored now would be one nobody could join. The caller retries, as while Janus is down.
            throw new ChatException(ChatError.MediaUnavailable);
        }

        var stored = await database.InTransactionAsync(s => calls.TrySetSfuAsync(s, callId, url, room, secret, ct), ct);
        if (stored)
        {
            return row with { SfuUrl = url, SfuRoom = room, SfuSecret = secret };
        }

        // Another node stored a room first, or the call ended meanwhile: ours is not needed.
        try
        {
            await client.DestroyRoomAsync(admin, room, secret, ct);
        }
        catch (JanusException e)
        {
            LogSfu(logger, e, callId);
        }

        row = await calls.GetAsync(callId, ct);
        return row is { EndedAt: null, SfuUrl: not null, SfuRoom: not null } ? row : throw new ChatException(ChatError.CallNotFound);
    }

    private async Task<(JanusClient Client, CallRow Row)> SfuAsync(CallRow row, CancellationToken ct)
    {
        if (!janus.Enabled)
        {
            throw new ChatException(ChatError.MediaUnavailable);
        }

        if (row.SfuUrl is null || row.SfuRoom is null)
        {
            row = await EnsureRoomAsync(row.Id, ct);
        }

        var client = await SfuCallAsync(() => janus.ClientAsync(row.SfuUrl!, ct));
        return (client, row);
    }

    private async Task<long> AdminHandleAsync(JanusClient client, string url, CancellationToken ct)
    {
        var key = url + "#" + client.SessionId;
        if (adminHandles.TryGetValue(key, out var handle))
        {
            return handle;
        }

        handle = await SfuCallAsync(() => client.AttachAsync(ct));
        adminHandles[key] = handle;
        return handle;
    }

    private async Task ForceMuteAsync(Guid callId, Guid accountId, CancellationToken ct, bool mute = true)
    {
        // The SFU stops (or, unmuted, resumes) forwarding the participant's audio whatever their browser does.
        var row = await calls.GetAsync(callId, ct);
        var feed = (await calls.ParticipantAsync(callId, accountId, ct))?.FeedId;
        if (row?.SfuUrl is null || row.SfuRoom is null || feed is null || !janus.Enabled)
        {
            return;
        }

        try
        {
            var client = await janus.ClientAsync(row.SfuUrl, ct);
            var admin = await AdminHandleAsync(client, row.SfuUrl, ct);
            // Chromium puts audio first (mid 0); a publisher that sent video only simply has no mid 0 to mute.
            await client.ModerateAsync(admin, row.SfuRoom.Value, row.SfuSecret!, feed.Value, "0", mute, ct);
        }
        catch (Exception e) when (e is JanusException or ChatException)
        {
            LogSfu(logger, e, callId);
        }
    }

    /// <summary>
    /// The call has ended: everyone hears it, and its media goes on every node — this node's handles of the call are
    /// detached, the other nodes are told to detach theirs (a Janus session lives as long as its node, so a handle not
    /// detached stays attached for the rest of the school day), and the room is destroyed.
    /// </summary>
    private async Task EndedAsync(CallDto dto, CancellationToken ct)
    {
        await PushAsync(dto.ChatId, dto.CallId, c => c.CallEnded(dto.CallId));
        // Whoever still waits in the waiting room is not in the chat's group: without this they would wait for a lesson
        // that is over.
        await TellGuestsAsync(dto.CallId, ct => guests.WaitingAsync(dto.CallId, ct), c => c.CallEnded(dto.CallId));
        viewerPushes.TryRemove(dto.CallId, out _);

        // Not the caller's token: the end is stored, so the cleanup goes on even if the caller hung up meanwhile.
        await DropHandlesAsync(dto.CallId, accountId: null, CancellationToken.None);
        await PublishDropAsync(new HandleDrop(nodeId, dto.CallId, AccountId: null));

        var row = await calls.GetAsync(dto.CallId, ct);
        if (row?.SfuUrl is null || row.SfuRoom is null || !janus.Enabled)
        {
            return;
        }

        try
        {
            var client = await janus.ClientAsync(row.SfuUrl, ct);
            var admin = await AdminHandleAsync(client, row.SfuUrl, ct);
            await client.DestroyRoomAsync(admin, row.SfuRoom.Value, row.SfuSecret!, ct);
        }
        catch (Exception e) when (e is JanusException or ChatException)
        {
            LogSfu(logger, e, dto.CallId);
        }
    }

    /// <summary>
    /// Detaches the handles this node holds in the call: one person's, or everyone's (<paramref name="accountId"/> null);
    /// with <paramref name="onlyThese"/>, only those of these handles still held (a handle attached since stays).
    /// </summary>
    private async Task DropHandlesAsync(Guid callId, Guid? accountId, CancellationToken ct, IReadOnlySet<long>? onlyThese = null)
    {
        var handles = new List<long>();
        void Take<TKey>(ConcurrentDictionary<TKey, long> map, TKey key)
            where TKey : notnull
        {
            if (onlyThese is null ? map.TryRemove(key, out var h)
                : map.TryGetValue(key, out h) && onlyThese.Contains(h) && map.TryRemove(KeyValuePair.Create(key, h)))
            {
                handles.Add(h);
            }
        }

        foreach (var map in new[] { publishers, screenPublishers })
        {
            foreach (var key in map.Keys.Where(k => k.Call == callId && (accountId is null || k.Account == accountId)))
            {
                Take(map, key);
            }
        }

        foreach (var key in subscribers.Keys.Where(k => k.Call == callId && (accountId is null || k.Account == accountId)))
        {
            Take(subscribers, key);
        }

        if (handles.Count == 0 || !janus.Enabled)
        {
            return;
        }

        try
        {
            var row = await calls.GetAsync(callId, ct);
            if (row?.SfuUrl is null)
            {
                return;
            }

            // A lesson's end is every pupil's camera and every subscription (~900 handles for 30 people): a few at a
            // time over the node's one Janus connection, not one round trip after another.
            var client = await janus.ClientAsync(row.SfuUrl, ct);
            await Parallel.ForEachAsync(handles, new ParallelOptions { MaxDegreeOfParallelism = 8 }, (h, _) => new ValueTask(DetachQuietlyAsync(client, h)));
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // The person (or the call) is out in the database already; a handle left behind dies with this node's session.
            LogSfu(logger, e, callId);
        }
    }

    private async Task DetachQuietlyAsync(JanusClient client, long handle)
    {
        try
        {
            await client.DetachAsync(handle, CancellationToken.None);
        }
        catch (JanusException e)
        {
            LogSfu(logger, e, Guid.Empty);
        }
    }

    /// <summary>
    /// A media server request on the person's behalf: a refusal becomes what it means for them (<see cref="SfuError"/>),
    /// in plain Russian; Janus's own code and words go to the log (support reads them there, not the person).
    /// </summary>
    private async Task<T> SfuCallAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception e) when (SfuError(e) is { } error)
        {
            // A feed gone or a renegotiation out of step is the everyday flow of a call (Debug); a refusal mapped to "the
            // media server's trouble" from a code not known to mean an outage is worth a look (Warning).
            if (e is JanusException { Code: not (0 or 458) } j && error.Error == ChatError.MediaUnavailable)
            {
                LogSfuRefusedUnexpectedly(logger, j.Code, j.Message);
            }
            else
            {
                LogSfuRefused(logger, e is JanusException k ? k.Code : null, e.Message, error.Error.Code);
            }

            throw error;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Media server request refused (Janus code {JanusCode}: {JanusMessage}); the person gets {Code}")]
    private static partial void LogSfuRefused(ILogger logger, int? janusCode, string janusMessage, string code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Media server refused a request with Janus code {JanusCode} ({JanusMessage}); the person was told the media server is unavailable")]
    private static partial void LogSfuRefusedUnexpectedly(ILogger logger, int janusCode, string janusMessage);

    /// <summary>What a failed media server request means for the person (never an internal error), or null if it is not one.</summary>
    internal static ChatException? SfuError(Exception e) => e switch
    {
        JanusException { Code: 0 or 458 } or System.Net.WebSockets.WebSocketException => new ChatException(ChatError.MediaUnavailable),

        // VideoRoom "no such feed" (the publisher's connection is not up yet, or is gone), "join first" or "not
        // published" (a handle not, or no longer, in the room), core "no such handle" (Janus dropped it): the feed or
        // subscription is not there; the page subscribes or publishes anew.
        JanusException { Code: 428 or 424 or 435 or 459 } => new ChatException(ChatError.FeedNotFound),

        // Core "unknown SDP type", "invalid SDP", "no such stream for a candidate", "an answer to no offer" (e.g. an
        // answer sent twice after a reconnect), "wrong WebRTC state"; VideoRoom "invalid SDP type", "invalid SDP": what
        // the browser sent does not fit what Janus expects now. The page negotiates anew.
        JanusException { Code: 464 or 465 or 466 or 469 or 471 or 431 or 437 } => new ChatException(ChatError.MediaInvalid),

        // Anything else Janus refuses is the media server's trouble, not the person's: retryable.
        JanusException => new ChatException(ChatError.MediaUnavailable),
        _ => null,
    };

    private async Task SfuCallAsync(Func<Task> call) =>
        await SfuCallAsync(async () =>
        {
            await call();
            return 0;
        });

    /// <summary>
    /// After a Janus instance lost our session (it restarted), every live call on it gets a fresh room and its
    /// participants are told to publish and subscribe again (SfuRestarted); feeds are cleared.
    /// </summary>
    private void Subscribe()
    {
        if (Interlocked.Exchange(ref subscribed, 1) == 0)
        {
            janus.InstanceRestarted += url => _ = Task.Run(() => RecoverAsync(url));
        }
    }

    /// <summary>Called once at startup (<see cref="CallNodeListener"/>) and on the first call so restarts are noticed.</summary>
    public void EnsureSubscribed() => Subscribe();

    internal async Task RecoverAsync(string url)
    {
        try
        {
            foreach (var key in adminHandles.Keys.Where(k => k.StartsWith(url + "#", StringComparison.Ordinal)))
            {
                adminHandles.TryRemove(key, out _);
            }

            foreach (var row in await calls.LiveOnSfuAsync(url, CancellationToken.None))
            {
                foreach (var key in publishers.Keys.Where(k => k.Call == row.Id).Concat(screenPublishers.Keys.Where(k => k.Call == row.Id)))
                {
                    publishers.TryRemove(key, out _);
                    screenPublishers.TryRemove(key, out _);
                }

                foreach (var key in subscribers.Keys.Where(k => k.Call == row.Id))
                {
                    subscribers.TryRemove(key, out _);
                }

                // The room is gone with the instance. Forget it (only the node that wins this conditional update goes
                // on, so participants hear of it once); the next Publish or Subscribe makes a new room, possibly on
                // another instance, once Janus answers again. Nothing here needs Janus to be back already.
                var dto = await database.InTransactionAsync(async s =>
                {
                    // The call's lock first, as every change takes it (then the row): taking the row first here could
                    // deadlock with a broadcast's join that holds the lock and waits for the row.
                    var loaded = await calls.LockAsync(s, row.Id, [], CancellationToken.None);
                    if (loaded is null || row.SfuRoom is not { } room || !await calls.ForgetRoomAsync(s, row.Id, room, CancellationToken.None))
                    {
                        return null;
                    }

                    // Everyone with a feed is read (more than a viewer), so every feed goes.
                    var state = Build(loaded.Value.Call, loaded.Value.Participants, loaded.Value.OtherViewers);
                    foreach (var p in state.Present.ToList())
                    {
                        state.SetFeed(p.AccountId, null);
                        state.StopScreen(p.AccountId, p.AccountId);
                    }

                    await calls.SaveAsync(s, row.Id, state.Locked, state.Ended, RowsOf(state), CancellationToken.None);
                    return ToDto(state);
                }, CancellationToken.None);
                if (dto is null)
                {
                    continue;
                }

                LogRestart(logger, row.Id, url);
                await PushAsync(row.ChatId, row.Id, c => c.SfuRestarted(row.Id));
                await PushAsync(row.ChatId, row.Id, c => c.CallStateChanged(dto));
            }
        }
        catch (Exception e)
        {
            LogSfu(logger, e, Guid.Empty);
        }
    }

    /// <summary>Tells the chat's live connections, and the guests admitted from the waiting room (who are not in the chat).</summary>
    private async Task PushAsync(Guid chatId, Guid callId, Func<IChatClient, Task> push)
    {
        try
        {
            await push(hub.Clients.Group(LiveConnections.ChatGroup(chatId)));
            var admitted = await guests.AdmittedAsync(callId, CancellationToken.None);
            if (admitted.Count > 0)
            {
                await push(hub.Clients.Users(admitted.Select(g => g.ToString()).ToList()));
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogSfu(logger, e, chatId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Call {CallId}: its Janus instance {Url} restarted; participants told to publish again")]
    private static partial void LogRestart(ILogger logger, Guid callId, string url);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Call {CallId} started while its media server was unavailable; its room will be made by the first publish or subscription")]
    private static partial void LogStartedWithoutRoom(ILogger logger, Guid callId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Call {CallId}: SFU or push step failed")]
    private static partial void LogSfu(ILogger logger, Exception exception, Guid callId);
}
