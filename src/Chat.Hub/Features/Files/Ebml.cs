namespace Chat.Hub.Features.Files;

/// <summary>
/// Reading EBML (the Matroska/WebM container): element ids and sizes as variable-length integers, and the question
/// whether a WebM's Tracks hold only audio. Never throws on malformed input: it answers "no" (or false).
/// </summary>
internal static class Ebml
{
    public const uint Segment = 0x18538067;
    public const uint Info = 0x1549A966;
    public const uint Tracks = 0x1654AE6B;
    public const uint TrackEntry = 0xAE;
    public const uint TrackType = 0x83;
    public const uint CodecId = 0x86;
    public const uint Video = 0xE0;
    public const uint Cluster = 0x1F43B675;

    /// <summary>A size of all ones: unknown (live streams, browsers' recorders).</summary>
    public const ulong UnknownSize = ulong.MaxValue;

    private const int AudioTrack = 2;

    public static bool ReadId(ReadOnlySpan<byte> b, ref int pos, out uint id)
    {
        id = 0;
        var length = VintLength(b, pos, 4);
        if (length == 0)
        {
            return false;
        }

        for (var i = 0; i < length; i++)
        {
            id = (id << 8) | b[pos + i];
        }

        pos += length;
        return true;
    }

    public static bool ReadSize(ReadOnlySpan<byte> b, ref int pos, out ulong size)
    {
        size = 0;
        var length = VintLength(b, pos, 8);
        if (length == 0)
        {
            return false;
        }

        size = (ulong)(b[pos] & (0xFF >> length));
        var allOnes = size == (ulong)(0xFF >> length);
        for (var i = 1; i < length; i++)
        {
            size = (size << 8) | b[pos + i];
            allOnes &= b[pos + i] == 0xFF;
        }

        if (allOnes)
        {
            size = UnknownSize;
        }

        pos += length;
        return true;
    }

    /// <summary>The length of the variable-length integer at pos (its leading zero bits plus one), or 0 when invalid or cut off.</summary>
    private static int VintLength(ReadOnlySpan<byte> b, int pos, int max)
    {
        if (pos >= b.Length)
        {
            return 0;
        }

        var length = System.Numerics.BitOperations.LeadingZeroCount((uint)b[pos]) - 24 + 1;
        return length < 1 || length > max || pos + length > b.Length ? 0 : length;
    }

    /// <summary>An unsigned integer element's value (big-endian, 1 to 8 bytes).</summary>
    public static ulong ReadUInt(ReadOnlySpan<byte> bytes)
    {
        ulong value = 0;
        foreach (var b in bytes)
        {
            value = (value << 8) | b;
        }

        return value;
    }

    /// <summary>
    /// True when the head holds the whole Tracks element of the file's Segment (before any Cluster) and it has at least one
    /// track, every one an audio track as a player reads it: one TrackType, audio; an Opus or Vorbis codec; no Video
    /// settings. Anything else (a video track, a Tracks outside the Segment, no Tracks in the head, a damaged or
    /// ambiguous header) is false, and the file stays video.
    /// </summary>
    public static bool IsAudioOnly(ReadOnlySpan<byte> head)
    {
        var pos = 0;
        var inSegment = false;
        for (var guard = 0; guard < 256; guard++)
        {
            if (!ReadId(head, ref pos, out var id) || !ReadSize(head, ref pos, out var size))
            {
                return false;
            }

            if (id == Segment)
            {
                if (inSegment)
                {
                    return false; // a Segment inside the Segment: not a file a player reads the same way
                }

                inSegment = true;
                continue; // descend
            }

            if (id == Tracks && !inSegment)
            {
                return false; // players read the Segment's Tracks, not one placed before it
            }

            if (id == Cluster || size == UnknownSize || size > (ulong)(head.Length - pos))
            {
                return false; // the media data begins, or the element does not fit in the head: not shown to be audio
            }

            if (id == Tracks)
            {
                return TracksAreAudio(head.Slice(pos, (int)size));
            }

            pos += (int)size;
        }

        return false;
    }

    private static bool TracksAreAudio(ReadOnlySpan<byte> tracks)
    {
        var pos = 0;
        var count = 0;
        while (pos < tracks.Length)
        {
            if (!ReadId(tracks, ref pos, out var id) || !ReadSize(tracks, ref pos, out var size) || size > (ulong)(tracks.Length - pos))
            {
                return false;
            }

            if (id == TrackEntry)
            {
                if (!IsAudioTrack(tracks.Slice(pos, (int)size)))
                {
                    return false;
                }

                count++;
            }

            pos += (int)size;
        }

        return count > 0;
    }

    /// <summary>Exactly one TrackType, and it is audio; the codec is Opus or Vorbis; no Video settings.</summary>
    private static bool IsAudioTrack(ReadOnlySpan<byte> entry)
    {
        var pos = 0;
        var types = 0;
        var audio = false;
        var codecOk = false;
        while (pos < entry.Length)
        {
            if (!ReadId(entry, ref pos, out var id) || !ReadSize(entry, ref pos, out var size) || size > (ulong)(entry.Length - pos))
            {
                return false;
            }

            var value = entry.Slice(pos, (int)size);
            if (id == TrackType)
            {
                types++;
                audio = size is >= 1 and <= 8 && ReadUInt(value) == AudioTrack;
            }
            else if (id == CodecId)
            {
                codecOk = value.SequenceEqual("A_OPUS"u8) || value.SequenceEqual("A_VORBIS"u8);
            }
            else if (id == Video)
            {
                return false;
            }

            pos += (int)size;
        }

        return types == 1 && audio && codecOk;
    }
}
