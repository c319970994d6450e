namespace Chat.Hub.Features.Calls;

/// <summary>A participant as every member of the chat sees them.</summary>
public sealed record CallParticipantDto(
    Guid AccountId, bool IsHost, bool AudioMuted, bool VideoMuted, bool SpeakAllowed, bool HandRaised, long? FeedId,
    bool ShareAllowed, long? ScreenFeedId);

/// <summary>
/// A call's public state; the SFU room, its secret and instance never appear here. Kind "call" or "broadcast"; in a
/// broadcast <see cref="Participants"/> lists the presenters only and <see cref="ViewerCount"/> counts the rest.
/// <see cref="StartedBy"/>: who started it (the host, unless someone took the place of a host who was away).
/// </summary>
public sealed record CallDto(
    Guid CallId, Guid ChatId, Guid HostId, bool LessonMode, bool Locked, bool Ended, IReadOnlyList<CallParticipantDto> Participants,
    bool WaitingRoom, string Kind, int ViewerCount, Guid StartedBy);

/// <summary>An ICE server for RTCPeerConnection: TURN with per-user credentials that expire soon.</summary>
public sealed record IceServerDto(string[] Urls, string? Username, string? Credential);

/// <summary>Fresh ICE servers for someone in a call (GetIceServers): TURN credentials expire, a lesson has no time limit.</summary>
public sealed record IceServersDto(IReadOnlyList<IceServerDto> IceServers, DateTimeOffset? ExpireAt);

/// <summary>
/// What JoinCall and StartCall return: the state and the ICE servers for this user. <paramref name="MediaHere"/>: whether
/// this server holds any of the caller's media connections in the call (Janus handles are per server and in memory).
/// False on a rejoin means they cannot be managed from here (the server restarted, or another one took the hub
/// connection) and Janus dropped or will drop them with the old server's session: the client publishes and subscribes
/// again at once instead of waiting for its connections to fail.
/// </summary>
/// <summary>
/// A join's answer. <paramref name="MayHost"/>: the joiner could have started this call, so may take the place of a
/// host who is away (<c>TakeOverCall</c>).
/// </summary>
public sealed record CallJoinDto(CallDto Call, IReadOnlyList<IceServerDto> IceServers, DateTimeOffset? IceServersExpireAt, bool MediaHere, bool MayHost = false);

/// <summary>
/// One trickled ICE candidate; Candidate null or empty means the end of candidates. FeedId null = my own publisher
/// connection: the camera one, or the screen one when <paramref name="Screen"/> is true.
/// </summary>
public sealed record TrickleRequest(Guid CallId, long? FeedId, string? Candidate, string? SdpMid, int? SdpMLineIndex, bool Screen = false);
