using System.Buffers.Binary;
using System.Text;

namespace Chat.Hub.Features.Files;

/// <summary>What the server reads out of a media file's headers: image dimensions, audio and video duration.</summary>
public sealed record MediaInfo(int? Width, int? Height, long? DurationMs);

/// <summary>
/// Parses the headers itself (no decoder needed): JPEG SOF, PNG IHDR, WebP VP8/VP8L/VP8X, HEIF ispe for dimensions;
/// the ISO media mvhd box (MP4, M4A, MOV), the WebM segment info and the last Ogg page for duration. Anything it cannot
/// read stays unknown (null); it never throws on malformed input.
/// </summary>
public static class MediaProbe
{
    /// <summary>How much of a WebM is read for its duration: a 5-minute voice note at up to ~200 kbit/s.</summary>
    private const int MaxWebmScan = 8 * 1024 * 1024;

    private const uint BlockGroup = 0xA0;
    private const uint Block = 0xA1;
    private const uint SimpleBlock = 0xA3;
    private const uint ClusterTimecode = 0xE7;

    public static MediaInfo Probe(Stream s, FileFamily family)
    {
        try
        {
            s.Position = 0;
            var info = family switch
            {
                FileFamily.Jpeg => Dimensions(JpegSize(s)),
                FileFamily.Png => Dimensions(PngSize(s)),
                FileFamily.Webp => Dimensions(WebpSize(s)),
                FileFamily.Heic => Dimensions(HeifSize(s)),
                FileFamily.IsoMedia => new MediaInfo(null, null, IsoDuration(s)),
                FileFamily.WebM => new MediaInfo(null, null, WebmDuration(s)),
                FileFamily.Ogg => new MediaInfo(null, null, OggDuration(s)),
                _ => new MediaInfo(null, null, null),
            };
            return info;
        }
        catch (Exception e) when (e is IOException or ArgumentException or OverflowException or InvalidOperationException)
        {
            return new MediaInfo(null, null, null);
        }
        finally
        {
            s.Position = 0;
        }
    }

    private static MediaInfo Dimensions((int W, int H)? size) =>
        size is { W: > 0, H: > 0 } d ? new MediaInfo(d.W, d.H, null) : new MediaInfo(null, null, null);

    private static byte[] Read(Stream s, long offset, int count)
    {
        if (offset < 0 || offset >= s.Length)
        {
            return [];
        }

        s.Position = offset;
        var buffer = new byte[(int)Math.Min(count, s.Length - offset)];
        s.ReadExactly(buffer);
        return buffer;
    }

    /// <summary>Walks the JPEG markers to the first start-of-frame (SOF0–SOF15 except DHT, JPG, DAC).</summary>
    private static (int, int)? JpegSize(Stream s)
    {
        long pos = 2;
        for (var guard = 0; guard < 10_000; guard++)
        {
            var b = Read(s, pos, 4);
            if (b.Length < 4 || b[0] != 0xFF)
            {
                return null;
            }

            var marker = b[1];
            if (marker == 0xFF)
            {
                pos++; // fill byte
                continue;
            }

            if (marker is 0x01 or (>= 0xD0 and <= 0xD8))
            {
                pos += 2;
                continue;
            }

            if (marker is 0xD9 or 0xDA)
            {
                return null; // end of image or start of scan before any frame header
            }

            var length = BinaryPrimitives.ReadUInt16BigEndian(b.AsSpan(2));
            if (marker is >= 0xC0 and <= 0xCF && marker is not (0xC4 or 0xC8 or 0xCC))
            {
                var sof = Read(s, pos + 4, 5);
                return sof.Length < 5 ? null : (BinaryPrimitives.ReadUInt16BigEndian(sof.AsSpan(3)), BinaryPrimitives.ReadUInt16BigEndian(sof.AsSpan(1)));
            }

            pos += 2 + length;
        }

        return null;
    }

    private static (int, int)? PngSize(Stream s)
    {
        var b = Read(s, 8, 16);
        return b.Length == 16 && b.AsSpan(4, 4).SequenceEqual("IHDR"u8)
            ? ((int)BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(8)), (int)BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(12)))
            : null;
    }

    private static (int, int)? WebpSize(Stream s)
    {
        var b = Read(s, 0, 30);
        if (b.Length < 30)
        {
            return null;
        }

        var chunk = Encoding.ASCII.GetString(b, 12, 4);
        return chunk switch
        {
            // Lossy: a key frame's start code, then 14-bit width and height.
            "VP8 " when b[23] == 0x9D && b[24] == 0x01 && b[25] == 0x2A =>
                (BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(26)) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(28)) & 0x3FFF),
            // Lossless: signature 0x2F, then width-1 and height-1 in 14 bits each.
            "VP8L" when b[20] == 0x2F => LosslessSize(BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(21))),
            // Extended: the canvas size, 24-bit little-endian minus one.
            "VP8X" => ((b[24] | (b[25] << 8) | (b[26] << 16)) + 1, (b[27] | (b[28] << 8) | (b[29] << 16)) + 1),
            _ => null,
        };

        static (int, int) LosslessSize(uint bits) => ((int)(bits & 0x3FFF) + 1, (int)((bits >> 14) & 0x3FFF) + 1);
    }

    /// <summary>HEIF keeps image sizes in 'ispe' properties; the largest is the primary image (the others are thumbnails or tiles).</summary>
    private static (int, int)? HeifSize(Stream s)
    {
        var b = Read(s, 0, 512 * 1024);
        (int W, int H)? best = null;
        var span = b.AsSpan();
        for (var i = span.IndexOf("ispe"u8); i >= 0; i = NextIndex(span, i))
        {
            if (i + 16 <= span.Length)
            {
                var w = (int)BinaryPrimitives.ReadUInt32BigEndian(span[(i + 8)..]);
                var h = (int)BinaryPrimitives.ReadUInt32BigEndian(span[(i + 12)..]);
                if (w > 0 && h > 0 && (best is null || (long)w * h > (long)best.Value.W * best.Value.H))
                {
                    best = (w, h);
                }
            }
        }

        return best;

        static int NextIndex(ReadOnlySpan<byte> span, int from)
        {
            var next = span[(from + 4)..].IndexOf("ispe"u8);
            return next < 0 ? -1 : from + 4 + next;
        }
    }

    /// <summary>ISO media (MP4, M4A, MOV): moov → mvhd, duration / timescale; moov may be at the end of the file.</summary>
    private static long? IsoDuration(Stream s)
    {
        var moov = FindBox(s, 0, s.Length, "moov");
        if (moov is not { } m)
        {
            return null;
        }

        var mvhd = FindBox(s, m.Start, m.End, "mvhd");
        if (mvhd is not { } h)
        {
            return null;
        }

        var b = Read(s, h.Start, 32);
        if (b.Length < 20)
        {
            return null;
        }

        ulong timescale, duration;
        if (b[0] == 1 && b.Length >= 32)
        {
            timescale = BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(20));
            duration = BinaryPrimitives.ReadUInt64BigEndian(b.AsSpan(24));
        }
        else
        {
            timescale = BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(12));
            duration = BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(16));
        }

        return timescale == 0 || duration == ulong.MaxValue || duration == uint.MaxValue ? null : (long)(duration * 1000 / timescale);
    }

    /// <summary>The payload range of the first box of a type among the boxes in [start, end).</summary>
    private static (long Start, long End)? FindBox(Stream s, long start, long end, string type)
    {
        var pos = start;
        for (var guard = 0; pos + 8 <= end && guard < 100_000; guard++)
        {
            var h = Read(s, pos, 16);
            if (h.Length < 8)
            {
                return null;
            }

            long size = BinaryPrimitives.ReadUInt32BigEndian(h);
            var header = 8;
            if (size == 1 && h.Length == 16)
            {
                size = (long)BinaryPrimitives.ReadUInt64BigEndian(h.AsSpan(8));
                header = 16;
            }
            else if (size == 0)
            {
                size = end - pos;
            }

            if (size < header || pos + size > end)
            {
                return null;
            }

            if (Encoding.ASCII.GetString(h, 4, 4) == type)
            {
                return (pos + header, pos + size);
            }

            pos += size;
        }

        return null;
    }

    /// <summary>
    /// WebM: Segment → Info → Duration (a float in TimecodeScale units, nanoseconds by default 1 ms). A recording from a
    /// browser's MediaRecorder often has no Duration (written as it was recorded): then the last block's time (its
    /// Cluster's Timecode plus the block's own offset) is the duration, when the file fits in MaxWebmScan bytes.
    /// </summary>
    private static long? WebmDuration(Stream s)
    {
        var b = Read(s, 0, MaxWebmScan);
        var pos = 0;
        ulong scale = 1_000_000;
        double? duration = null;
        long cluster = 0;
        long lastBlock = -1;
        var end = b.Length;
        for (var guard = 0; pos < end && guard < 1_000_000; guard++)
        {
            if (!Ebml.ReadId(b, ref pos, out var id) || !Ebml.ReadSize(b, ref pos, out var size))
            {
                break;
            }

            var fits = size != Ebml.UnknownSize && size <= (ulong)(end - pos);
            switch (id)
            {
                case Ebml.Segment: // descend
                case Ebml.Info:
                case BlockGroup:
                    continue;
                case Ebml.Cluster when duration > 0: // the media data begins, the info is behind us
                    return ToMs(duration);
                case Ebml.Cluster: // no Duration: read the blocks' times
                    continue;
                case 0x2AD7B1 when fits && size is >= 1 and <= 8:
                    scale = Ebml.ReadUInt(b.AsSpan(pos, (int)size));
                    break;
                case 0x4489 when fits && size is 4 or 8:
                    duration = size == 4
                        ? BinaryPrimitives.ReadSingleBigEndian(b.AsSpan(pos))
                        : BinaryPrimitives.ReadDoubleBigEndian(b.AsSpan(pos));
                    break;
                case ClusterTimecode when fits && size is >= 1 and <= 8:
                    cluster = (long)Math.Min(Ebml.ReadUInt(b.AsSpan(pos, (int)size)), int.MaxValue);
                    break;
                case SimpleBlock or Block when fits:
                    var at = pos;
                    if (Ebml.ReadSize(b.AsSpan(0, pos + (int)size), ref at, out _) && at + 2 <= pos + (int)size)
                    {
                        lastBlock = Math.Max(lastBlock, cluster + BinaryPrimitives.ReadInt16BigEndian(b.AsSpan(at)));
                    }

                    break;
            }

            if (!fits)
            {
                break;
            }

            pos += (int)size;
        }

        // The last block's time is the duration only when the scan saw the whole file: of a longer one it would say too
        // little, and no duration is better than a wrong one.
        var wholeFile = s.Length <= MaxWebmScan;
        return ToMs(duration) ?? (wholeFile && lastBlock > 0 ? ToMs(lastBlock) : null);

        // At most a week: a larger value is a damaged or crafted header, not a recording.
        long? ToMs(double? d) => d is { } v && v > 0 && scale > 0 && v * scale / 1_000_000 is var ms && ms <= TimeSpan.FromDays(7).TotalMilliseconds
            ? (long)ms
            : null;
    }

    /// <summary>Ogg: the last page's granule position, in 48 kHz samples for Opus (less the pre-skip), or the Vorbis sample rate.</summary>
    private static long? OggDuration(Stream s)
    {
        var head = Read(s, 0, 4096);
        var tailStart = Math.Max(0, s.Length - (64 * 1024));
        var tail = Read(s, tailStart, 64 * 1024);
        var last = tail.AsSpan().LastIndexOf("OggS"u8);
        if (last < 0 || last + 14 > tail.Length)
        {
            return null;
        }

        var granule = BinaryPrimitives.ReadInt64LittleEndian(tail.AsSpan(last + 6));
        var opus = head.AsSpan().IndexOf("OpusHead"u8);
        if (opus >= 0 && opus + 12 <= head.Length)
        {
            var preSkip = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(opus + 10));
            return granule > preSkip ? (granule - preSkip) * 1000 / 48_000 : null;
        }

        var vorbis = head.AsSpan().IndexOf("\u0001vorbis"u8);
        if (vorbis >= 0 && vorbis + 16 <= head.Length)
        {
            var rate = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(vorbis + 12));
            return rate > 0 && granule > 0 ? granule * 1000 / rate : null;
        }

        return null;
    }
}
