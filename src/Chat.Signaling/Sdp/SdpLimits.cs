namespace Chat.Signaling.Sdp;

/// <summary>Size limits for SDP text. A Chromium audio+video offer is ~5 KB with ~90 lines; the defaults leave room for that.</summary>
public sealed record SdpLimits
{
    public static readonly SdpLimits Default = new();

    public int MaxBytes { get; init; } = 32 * 1024;

    public int MaxLines { get; init; } = 600;

    public int MaxLineLength { get; init; } = 1024;

    /// <summary>m= sections: audio, camera and a screen share fit in 3; 4 leaves one spare.</summary>
    public int MaxMediaSections { get; init; } = 4;

    public int MaxAttributesPerSection { get; init; } = 200;

    public int MaxFormatsPerSection { get; init; } = 64;

    public int MaxCandidatesPerSection { get; init; } = 32;
}
