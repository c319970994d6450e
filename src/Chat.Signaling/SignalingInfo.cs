namespace Chat.Signaling;

/// <summary>Call signaling (SDP validation, Janus VideoRoom client, TURN credentials) lands here with the calls issue.</summary>
public static class SignalingInfo
{
    public const string Module = "Chat.Signaling";
}
