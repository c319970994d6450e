namespace Chat.Signaling.Sdp;

/// <summary>Why an SDP or ICE candidate was refused. The code is stable for tests and logs; the detail is English.</summary>
public sealed class SdpException(string code, string detail) : Exception($"{code}: {detail}")
{
    /// <summary>Stable reason: sdp_too_large, sdp_syntax, sdp_media, sdp_codec, sdp_direction, sdp_ice, sdp_dtls, candidate_invalid, …</summary>
    public string Code { get; } = code;

    public string Detail { get; } = detail;
}
