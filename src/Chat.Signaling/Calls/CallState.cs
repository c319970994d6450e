namespace Chat.Signaling.Calls;

/// <summary>Why a call operation was refused; the code is stable and maps to a user-facing error in the hub.</summary>
public sealed class CallException(string code, string detail) : Exception($"{code}: {detail}")
{
    /// <summary>call_ended, call_locked, not_in_call, host_only, speak_not_allowed, share_not_allowed, screen_busy, participant_removed, call_full.</summary>
    public string Code { get; } = code;
}

/// <summary>One participant of a call as the state machine sees it.</summary>
public sealed class CallParticipant(Guid accountId, bool isHost, bool mayPublishAudio, bool mayPublishVideo)
{
    public Guid AccountId { get; } = accountId;

    public bool IsHost { get; internal set; } = isHost;

    /// <summary>Present in the call now (false after leaving or being removed).</summary>
    public bool Present { get; internal set; } = true;

    public bool Removed { get; internal set; }

    /// <summary>The microphone is muted (by the participant or by the host).</summary>
    public bool AudioMuted { get; internal set; } = !mayPublishAudio;

    /// <summary>The camera is off.</summary>
    public bool VideoMuted { get; internal set; } = !mayPublishVideo;

    /// <summary>In lesson mode a pupil may unmute only when the host allowed it; always true outside lesson mode and for the host.</summary>
    public bool SpeakAllowed { get; internal set; } = mayPublishAudio;

    public bool HandRaised { get; internal set; }

    /// <summary>The SFU feed (Janus publisher id) while the participant publishes.</summary>
    public long? FeedId { get; internal set; }

    /// <summary>May share the screen: always outside lesson mode and for the host; a pupil in a lesson when the host allows.</summary>
    public bool ShareAllowed { get; internal set; } = mayPublishVideo;

    /// <summary>The second published stream (feed kind "screen") while the participant shares their screen.</summary>
    public long? ScreenFeedId { get; internal set; }
}

/// <summary>
/// The state of one call in one chat. Pure and synchronous: every operation checks who acts, changes the state
/// or throws <see cref="CallException"/>. Persistence and the SFU are the caller's business. No timer ends a call:
/// it ends when the host ends it or the last participant leaves.
/// </summary>
public sealed class CallState
{
    public const int MaxParticipants = 128;

    private readonly Dictionary<Guid, CallParticipant> participants = [];

    public CallState(Guid id, Guid chatId, Guid hostId, bool lessonMode, bool broadcast = false, Guid? starterId = null)
    {
        Id = id;
        ChatId = chatId;
        HostId = hostId;
        StarterId = starterId ?? hostId;
        LessonMode = lessonMode;
        Broadcast = broadcast;
    }

    /// <summary>
    /// A broadcast («трансляция»): only presenters (the host and whom the host makes one) publish; everyone else, chat
    /// moderators included, joins as a viewer who can never publish. No participant limit in the state: viewers only
    /// subscribe, so the SFU's bandwidth is the limit.
    /// </summary>
    public bool Broadcast { get; }

    /// <summary>Presenters of a broadcast (or everyone allowed to speak in a call).</summary>
    public bool IsPresenter(CallParticipant p) => p.IsHost || p.SpeakAllowed;

    public Guid Id { get; }

    public Guid ChatId { get; }

    public Guid HostId { get; private set; }

    /// <summary>Who started the call: takes the host's place back at any time, and no stand-in removes or silences them.</summary>
    public Guid StarterId { get; }

    /// <summary>Pupils join muted with the camera off and may unmute only when the host allows.</summary>
    public bool LessonMode { get; }

    public bool Locked { get; private set; }

    /// <summary>Members of the school outside the chat may ask to join; the host admits them one by one.</summary>
    public bool WaitingRoom { get; private set; }

    public bool Ended { get; private set; }

    public IReadOnlyCollection<CallParticipant> Participants => participants.Values;

    public IEnumerable<CallParticipant> Present => participants.Values.Where(p => p.Present);

    public CallParticipant? Find(Guid accountId) => participants.GetValueOrDefault(accountId);

    /// <summary>Viewers of a broadcast present now (everyone but presenters).</summary>
    public int ViewerCount => Broadcast ? participants.Values.Count(p => p.Present && !IsPresenter(p)) + OtherViewers : 0;

    /// <summary>
    /// Present viewers of a broadcast that are not in this state: a change reads only the people it concerns and those
    /// who are more than a viewer (thousands of viewers are not read for each join), and counts the rest. They are
    /// viewers only (no feed, no raised hand, not allowed to speak), so no operation but the call's end changes them.
    /// </summary>
    public int OtherViewers { get; private set; }

    /// <summary>Restores the count of present viewers left out of this state (storage read them as a count).</summary>
    public void RestoreOtherViewers(int count) => OtherViewers = count;

    /// <summary>Restores a participant from storage (no checks).</summary>
    public CallParticipant Restore(
        Guid accountId, bool present, bool removed, bool audioMuted, bool videoMuted, bool speakAllowed, bool handRaised, long? feedId,
        bool shareAllowed = true, long? screenFeedId = null)
    {
        var p = new CallParticipant(accountId, accountId == HostId, true, true)
        {
            Present = present, Removed = removed, AudioMuted = audioMuted, VideoMuted = videoMuted,
            SpeakAllowed = speakAllowed, HandRaised = handRaised, FeedId = feedId, ShareAllowed = shareAllowed, ScreenFeedId = screenFeedId,
        };
        participants[accountId] = p;
        return p;
    }

    public void RestoreFlags(bool locked, bool ended, bool waitingRoom = false)
    {
        Locked = locked;
        WaitingRoom = waitingRoom;
        Ended = ended;
    }

    /// <summary>
    /// Joins (or rejoins) an account. <paramref name="moderator"/> marks the host and anyone else the chat lets
    /// moderate (teachers): they are never restricted by lesson mode or the lock. <paramref name="admitted"/>: someone
    /// the host let in by name (a guest from the waiting room) — the lock does not hold back their first entry, lesson
    /// mode restricts them as anyone.
    /// </summary>
    public CallParticipant Join(Guid accountId, bool moderator = false, bool admitted = false)
    {
        EnsureOpen();
        var isHost = accountId == HostId;
        var privileged = isHost || moderator;
        if (participants.TryGetValue(accountId, out var existing))
        {
            if (existing.Removed)
            {
                throw new CallException("participant_removed", "the host removed this participant");
            }

            if (!existing.Present && Locked && !privileged)
            {
                throw new CallException("call_locked", "the call is locked");
            }

            existing.Present = true;
            return existing;
        }

        if (Locked && !privileged && !admitted)
        {
            throw new CallException("call_locked", "the call is locked");
        }

        if (!Broadcast && participants.Count(p => p.Value.Present) >= MaxParticipants)
        {
            throw new CallException("call_full", "the call is full");
        }

        var restricted = Broadcast ? !isHost : LessonMode && !privileged;
        var participant = new CallParticipant(accountId, isHost, !restricted, !restricted);
        participants[accountId] = participant;
        return participant;
    }

    /// <summary>Leaves; returns true when that ended the call (the last participant left).</summary>
    public bool Leave(Guid accountId)
    {
        var p = Require(accountId);
        p.Present = false;
        p.HandRaised = false;
        p.FeedId = null;
        p.ScreenFeedId = null;
        if (OtherViewers == 0 && !participants.Values.Any(x => x.Present))
        {
            Ended = true;
        }

        return Ended;
    }

    public void End(Guid actor)
    {
        EnsureOpen();
        RequireHost(actor);
        Close();
    }

    /// <summary>Ends the call with no host's say: the platform does (the operator suspended the school).</summary>
    public void Close()
    {
        EnsureOpen();
        Ended = true;
        OtherViewers = 0; // storage takes them out with the end
        foreach (var p in participants.Values)
        {
            p.Present = false;
            p.FeedId = null;
            p.ScreenFeedId = null;
        }
    }

    /// <summary>A participant mutes or unmutes themself. Unmuting audio in lesson mode needs the host's permission.</summary>
    public void SetMuted(Guid actor, bool audioMuted, bool videoMuted)
    {
        var p = RequirePresent(actor);
        if ((!audioMuted && !p.SpeakAllowed) || (!videoMuted && !p.SpeakAllowed))
        {
            throw new CallException("speak_not_allowed", "the host has not allowed this participant to speak");
        }

        p.AudioMuted = audioMuted;
        p.VideoMuted = videoMuted;
    }

    /// <summary>
    /// A moderator of the chat muted the participant (a mute limits writing, and sound and video in its call are that
    /// too): microphone and camera off and their camera and screen feeds out of the call, whoever the host is. They stay
    /// in the call and receive. Returns the feeds they had (the caller ends them in the SFU).
    /// </summary>
    public (long? Camera, long? Screen) Silence(Guid accountId)
    {
        var p = RequirePresent(accountId);
        var feeds = (p.FeedId, p.ScreenFeedId);
        p.AudioMuted = true;
        p.VideoMuted = true;
        p.FeedId = null;
        p.ScreenFeedId = null;
        return feeds;
    }

    /// <summary>True when the participant may send audio (used to accept or refuse a publish offer with audio).</summary>
    public bool MayPublish(Guid accountId) => RequirePresent(accountId).SpeakAllowed;

    /// <summary>In a broadcast a viewer gets no publisher at all, whatever the offer says.</summary>
    public void RequireNotViewer(Guid accountId)
    {
        var p = RequirePresent(accountId);
        if (Broadcast && !IsPresenter(p))
        {
            throw new CallException("viewer_cannot_publish", "viewers of a broadcast only watch");
        }
    }

    /// <summary>The host makes a participant of a broadcast a presenter (speaks, shows video and screen) or a viewer again.</summary>
    /// <returns>The camera and screen feeds a demoted presenter had (the caller ends them in the SFU).</returns>
    public (long? Camera, long? Screen) SetPresenter(Guid actor, Guid target, bool presenter)
    {
        var camera = AllowToSpeak(actor, target, presenter);
        var screen = AllowToShare(actor, target, presenter);
        return (camera, screen);
    }

    public void RaiseHand(Guid actor, bool raised)
    {
        RequirePresent(actor).HandRaised = raised;
    }

    /// <summary>
    /// The host lets a participant speak (and show video) or takes that back; taking it back also mutes and takes their
    /// camera feed out of the call (their page closes it: a feed still listed would be subscribed to by pages that join
    /// later, and fail).
    /// </summary>
    /// <returns>The camera feed the participant had when the word was taken back (the caller ends it in the SFU), else null.</returns>
    public long? AllowToSpeak(Guid actor, Guid target, bool allowed)
    {
        RequireHost(actor);
        var p = RequireTarget(target);
        if (!allowed)
        {
            RequireNotStarter(actor, target);
        }

        p.SpeakAllowed = allowed || p.IsHost;
        if (allowed)
        {
            p.HandRaised = false;
        }
        else if (!p.IsHost)
        {
            p.AudioMuted = true;
            p.VideoMuted = true;
            var camera = p.FeedId;
            p.FeedId = null;
            return camera;
        }

        return null;
    }

    /// <summary>The host mutes one participant's microphone.</summary>
    public void Mute(Guid actor, Guid target)
    {
        RequireHost(actor);
        RequireTarget(target).AudioMuted = true;
    }

    /// <summary>The host mutes everyone else; returns who was muted.</summary>
    public IReadOnlyList<Guid> MuteAll(Guid actor)
    {
        RequireHost(actor);
        var muted = new List<Guid>();
        foreach (var p in participants.Values.Where(p => p.Present && !p.IsHost && !p.AudioMuted))
        {
            p.AudioMuted = true;
            muted.Add(p.AccountId);
        }

        return muted;
    }

    /// <summary>The host removes a participant, who cannot rejoin this call.</summary>
    public void Remove(Guid actor, Guid target)
    {
        RequireHost(actor);
        if (target == HostId)
        {
            throw new CallException("host_only", "the host cannot remove themself");
        }

        RequireNotStarter(actor, target);

        var p = Require(target);
        p.Present = false;
        p.Removed = true;
        p.FeedId = null;
        p.ScreenFeedId = null;
        p.HandRaised = false;
    }

    /// <summary>
    /// Someone present takes the host's place while the host is away (the teacher's connection died for good, a
    /// substitute teacher runs a planned lesson whose planner never came): otherwise a lesson whose host is gone has
    /// nobody to let pupils speak or to end it. Who may is the caller's to check (whoever may start a call in the chat).
    /// The former host, back later, is a participant who may still speak and share; the one who started the call takes the
    /// place back at any time, anyone else once the host is away.
    /// </summary>
    public void TakeOver(Guid actor)
    {
        EnsureOpen();
        var taker = participants.TryGetValue(actor, out var p) && p.Present ? p : throw new CallException("not_in_call", "not in this call");
        if (actor == HostId)
        {
            return;
        }

        if (participants.TryGetValue(HostId, out var host))
        {
            if (host.Present && actor != StarterId)
            {
                throw new CallException("host_present", "the host is in the call");
            }

            host.IsHost = false;
        }

        HostId = actor;
        taker.IsHost = true;
        taker.SpeakAllowed = true;
        taker.ShareAllowed = true;
        taker.HandRaised = false;
    }

    public void SetWaitingRoom(Guid actor, bool open)
    {
        RequireHost(actor);
        WaitingRoom = open;
    }

    /// <summary>Throws host_only unless <paramref name="actor"/> hosts this (open) call.</summary>
    public void RequireHostOf(Guid actor) => RequireHost(actor);

    public void Lock(Guid actor, bool locked)
    {
        RequireHost(actor);
        Locked = locked;
    }

    public void SetFeed(Guid accountId, long? feedId) => RequirePresent(accountId).FeedId = feedId;

    /// <summary>
    /// Checks that the participant may start sharing the screen now: allowed (lesson mode: by the host), and nobody
    /// else shares (one screen per call, so a class sees one board).
    /// </summary>
    public void RequireScreenSlot(Guid accountId)
    {
        var p = RequirePresent(accountId);
        if (!p.ShareAllowed)
        {
            throw new CallException("share_not_allowed", "the host has not allowed this participant to share the screen");
        }

        if (participants.Values.Any(x => x.Present && x.AccountId != accountId && x.ScreenFeedId is not null))
        {
            throw new CallException("screen_busy", "someone else is sharing the screen");
        }
    }

    /// <summary>Records the screen feed after Janus accepted it (checks the slot again: the state may have moved meanwhile).</summary>
    public void SetScreenFeed(Guid accountId, long feedId)
    {
        RequireScreenSlot(accountId);
        participants[accountId].ScreenFeedId = feedId;
    }

    /// <summary>Stops a screen share: the sharer themself or the host. Returns the feed that was shared, if any.</summary>
    public long? StopScreen(Guid actor, Guid target)
    {
        if (actor != target)
        {
            RequireHost(actor);
        }

        var p = RequirePresent(target);
        var feed = p.ScreenFeedId;
        p.ScreenFeedId = null;
        return feed;
    }

    /// <summary>The host lets a participant share the screen or takes that back (which stops a share under way); returns a stopped feed.</summary>
    public long? AllowToShare(Guid actor, Guid target, bool allowed)
    {
        RequireHost(actor);
        var p = RequirePresent(target);
        p.ShareAllowed = allowed || p.IsHost;
        if (p.ShareAllowed)
        {
            return null;
        }

        var feed = p.ScreenFeedId;
        p.ScreenFeedId = null;
        return feed;
    }

    public CallParticipant RequirePresent(Guid accountId)
    {
        EnsureOpen();
        var p = Require(accountId);
        if (!p.Present)
        {
            throw new CallException("not_in_call", "not in this call");
        }

        return p;
    }

    /// <summary>Someone the host acts on: present in the call, or <c>participant_gone</c> (they left a moment ago).</summary>
    private CallParticipant RequireTarget(Guid accountId)
    {
        EnsureOpen();
        return participants.TryGetValue(accountId, out var p) && p.Present ? p : throw new CallException("participant_gone", "the participant is not in the call");
    }

    private CallParticipant Require(Guid accountId) =>
        participants.TryGetValue(accountId, out var p) ? p : throw new CallException("not_in_call", "not in this call");

    /// <summary>Whoever stands in for the host does not take the word from, or remove, the one who started the call.</summary>
    private void RequireNotStarter(Guid actor, Guid target)
    {
        if (target == StarterId && actor != StarterId)
        {
            throw new CallException("starter_protected", "the one who started the call keeps their place");
        }
    }

    private void RequireHost(Guid actor)
    {
        EnsureOpen();
        if (actor != HostId)
        {
            throw new CallException("host_only", "only the host may do this");
        }
    }

    private void EnsureOpen()
    {
        if (Ended)
        {
            throw new CallException("call_ended", "the call has ended");
        }
    }
}
