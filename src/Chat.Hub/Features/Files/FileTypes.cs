using System.IO.Compression;
using System.Text;
using Chat.Hub.Infrastructure;

namespace Chat.Hub.Features.Files;

/// <summary>What the first bytes of a file say it is.</summary>
public enum FileFamily
{
    Jpeg,
    Png,
    Webp,
    Heic,
    Ogg,
    Mp3,
    IsoMedia,
    WebM,
    Pdf,
    Zip,
    Ole2,
    Text,
}

/// <summary>A type the server accepts: the kind (which limit applies, how the materials view files it) and the content type it is served with.</summary>
public sealed record FileType(string Kind, string ContentType, FileFamily Family);

/// <summary>
/// Decides a file's type by its bytes (magic numbers), never by its name alone: the name's extension must agree with
/// the content, or the upload is refused. HTML, SVG and anything else not listed here are refused; nothing the server
/// accepts is a format a browser runs as a page.
/// </summary>
public static class FileTypes
{
    public const string Image = "image";
    public const string Audio = "audio";
    public const string Video = "video";
    public const string Document = "document";

    public static readonly IReadOnlyList<string> Kinds = [Image, Audio, Video, Document];

    /// <summary>Bytes read before deciding the type.</summary>
    public const int HeadLength = 4096;

    private const string Docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
    private const string Xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    private const string Pptx = "application/vnd.openxmlformats-officedocument.presentationml.presentation";
    private const string Odt = "application/vnd.oasis.opendocument.text";
    private const string Ods = "application/vnd.oasis.opendocument.spreadsheet";
    private const string Odp = "application/vnd.oasis.opendocument.presentation";

    /// <summary>Every extension the server accepts, and the type a file with it must be.</summary>
    public static readonly IReadOnlyDictionary<string, FileType> ByExtension = new Dictionary<string, FileType>(StringComparer.OrdinalIgnoreCase)
    {
        [".jpg"] = new(Image, "image/jpeg", FileFamily.Jpeg),
        [".jpeg"] = new(Image, "image/jpeg", FileFamily.Jpeg),
        [".jfif"] = new(Image, "image/jpeg", FileFamily.Jpeg),
        [".png"] = new(Image, "image/png", FileFamily.Png),
        [".webp"] = new(Image, "image/webp", FileFamily.Webp),
        [".heic"] = new(Image, "image/heic", FileFamily.Heic),
        [".heif"] = new(Image, "image/heif", FileFamily.Heic),
        [".ogg"] = new(Audio, "audio/ogg", FileFamily.Ogg),
        [".oga"] = new(Audio, "audio/ogg", FileFamily.Ogg),
        [".opus"] = new(Audio, "audio/ogg", FileFamily.Ogg),
        [".mp3"] = new(Audio, "audio/mpeg", FileFamily.Mp3),
        [".m4a"] = new(Audio, "audio/mp4", FileFamily.IsoMedia),
        [".mp4"] = new(Video, "video/mp4", FileFamily.IsoMedia),
        [".m4v"] = new(Video, "video/mp4", FileFamily.IsoMedia),
        [".mov"] = new(Video, "video/quicktime", FileFamily.IsoMedia),
        [".webm"] = new(Video, "video/webm", FileFamily.WebM),
        [".pdf"] = new(Document, "application/pdf", FileFamily.Pdf),
        [".docx"] = new(Document, Docx, FileFamily.Zip),
        [".xlsx"] = new(Document, Xlsx, FileFamily.Zip),
        [".pptx"] = new(Document, Pptx, FileFamily.Zip),
        [".odt"] = new(Document, Odt, FileFamily.Zip),
        [".ods"] = new(Document, Ods, FileFamily.Zip),
        [".odp"] = new(Document, Odp, FileFamily.Zip),
        [".doc"] = new(Document, "application/msword", FileFamily.Ole2),
        [".xls"] = new(Document, "application/vnd.ms-excel", FileFamily.Ole2),
        [".ppt"] = new(Document, "application/vnd.ms-powerpoint", FileFamily.Ole2),
        [".txt"] = new(Document, "text/plain; charset=utf-8", FileFamily.Text),
        [".csv"] = new(Document, "text/csv; charset=utf-8", FileFamily.Text),
    };

    /// <summary>A .webm whose Tracks (in the head) hold only audio tracks: audio, not video.</summary>
    public static readonly FileType AudioWebM = new(Audio, "audio/webm", FileFamily.WebM);

    private static ReadOnlySpan<byte> JpegMagic => [0xFF, 0xD8, 0xFF];
    private static ReadOnlySpan<byte> PngMagic => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
    private static ReadOnlySpan<byte> EbmlMagic => [0x1A, 0x45, 0xDF, 0xA3];
    private static ReadOnlySpan<byte> ZipMagic => [0x50, 0x4B, 0x03, 0x04];
    private static ReadOnlySpan<byte> OleMagic => [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    private static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    private static readonly string[] HeicBrands = ["heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1"];
    private static readonly string[] AudioBrands = ["M4A ", "M4B ", "M4P "];

    /// <summary>The type an extension promises, or null when the server does not accept that extension at all.</summary>
    public static FileType? ForName(string name) => ByExtension.GetValueOrDefault(Path.GetExtension(name));

    /// <summary>
    /// Decides the type from the first bytes and checks it against the type the name promises. Throws
    /// <c>file_type_not_allowed</c> for unknown or refused content (HTML, SVG, executables …) and <c>file_type_mismatch</c>
    /// when the content is a known type that the name's extension does not fit. <paramref name="complete"/>: the head is the whole file.
    /// </summary>
    public static FileType Decide(ReadOnlySpan<byte> head, bool complete, FileType promised, string extension)
    {
        var family = Sniff(head, complete, out var isoBrand) ?? throw new ChatException(ChatError.FileTypeNotAllowed);
        if (family != promised.Family)
        {
            throw new ChatException(ChatError.FileTypeMismatch);
        }

        if (family == FileFamily.WebM && Ebml.IsAudioOnly(head))
        {
            // A voice note recorded in a browser (MediaRecorder makes WebM Opus): the same container, audio tracks only.
            return AudioWebM;
        }

        if (family == FileFamily.IsoMedia)
        {
            // ISO media: the brand tells audio-only files (M4A) and QuickTime from MP4 video; generic brands may be either.
            var ok = isoBrand switch
            {
                _ when AudioBrands.Contains(isoBrand) => extension.Equals(".m4a", StringComparison.OrdinalIgnoreCase),
                "qt  " => extension.Equals(".mov", StringComparison.OrdinalIgnoreCase),
                _ => true,
            };
            if (!ok)
            {
                throw new ChatException(ChatError.FileTypeMismatch);
            }
        }

        return promised;
    }

    /// <summary>The family the bytes belong to, or null when they are not one the server accepts.</summary>
    public static FileFamily? Sniff(ReadOnlySpan<byte> head, bool complete, out string? isoBrand)
    {
        isoBrand = null;
        if (head.StartsWith(JpegMagic))
        {
            return FileFamily.Jpeg;
        }

        if (head.StartsWith(PngMagic))
        {
            return FileFamily.Png;
        }

        if (head.Length >= 12 && head.StartsWith("RIFF"u8) && head[8..12].SequenceEqual("WEBP"u8))
        {
            return FileFamily.Webp;
        }

        if (head.Length >= 12 && head[4..8].SequenceEqual("ftyp"u8))
        {
            var brand = Encoding.ASCII.GetString(head[8..12]);
            if (HeicBrands.Contains(brand))
            {
                return FileFamily.Heic;
            }

            if (brand is "avif" or "avis" or "crx ")
            {
                return null;
            }

            isoBrand = brand;
            return FileFamily.IsoMedia;
        }

        if (head.StartsWith("OggS"u8))
        {
            // Only audio: Opus or Vorbis in the first page (Theora video and others are refused).
            return head.IndexOf("OpusHead"u8) >= 0 || head.IndexOf("\u0001vorbis"u8) >= 0 ? FileFamily.Ogg : null;
        }

        if (head.StartsWith("ID3"u8) || IsMp3Frame(head))
        {
            return FileFamily.Mp3;
        }

        if (head.StartsWith(EbmlMagic))
        {
            // Matroska container: only the WebM profile.
            return head[..Math.Min(head.Length, 64)].IndexOf("webm"u8) >= 0 ? FileFamily.WebM : null;
        }

        if (head.StartsWith("%PDF-"u8))
        {
            return FileFamily.Pdf;
        }

        if (head.StartsWith(ZipMagic))
        {
            return FileFamily.Zip;
        }

        if (head.StartsWith(OleMagic))
        {
            return FileFamily.Ole2;
        }

        return LooksLikePlainText(head, complete) ? FileFamily.Text : null;
    }

    /// <summary>An MPEG audio layer III frame header (sync, layer bits 01, a valid bitrate and sample rate).</summary>
    private static bool IsMp3Frame(ReadOnlySpan<byte> head) =>
        head.Length >= 4 && head[0] == 0xFF && (head[1] & 0xE0) == 0xE0 && ((head[1] >> 1) & 0x03) == 0x01
        && (head[2] >> 4) is not (0x0 or 0xF) && ((head[2] >> 2) & 0x03) != 0x03;

    /// <summary>UTF-8 without NUL bytes, and not markup (HTML, SVG, XML): a page a browser would render is never "text".</summary>
    private static bool LooksLikePlainText(ReadOnlySpan<byte> head, bool complete)
    {
        if (head.StartsWith(Utf8Bom))
        {
            head = head[3..];
        }

        if (head.IndexOf((byte)0) >= 0 || head.IsEmpty)
        {
            return false;
        }

        var valid = System.Text.Unicode.Utf8.IsValid(head);
        for (var cut = 1; !valid && !complete && cut <= 3 && cut < head.Length; cut++)
        {
            // The head may end inside a multi-byte character.
            valid = System.Text.Unicode.Utf8.IsValid(head[..^cut]);
        }

        if (!valid)
        {
            return false;
        }

        var trimmed = head.TrimStart(" \t\r\n\f"u8);
        return trimmed.IsEmpty || trimmed[0] != (byte)'<';
    }

    /// <summary>
    /// Checks what the head could not show, on the whole stored file: an Office file is the document its extension says
    /// (OOXML parts, the ODF mimetype, the OLE2 streams), and a text file is UTF-8 all the way without NUL bytes.
    /// </summary>
    public static void Verify(Stream content, FileType type, string extension)
    {
        content.Position = 0;
        var ok = type.Family switch
        {
            FileFamily.Zip => ZipDocumentIs(content, type.ContentType),
            FileFamily.Ole2 => OleDocumentIs(content, extension.ToLowerInvariant()),
            FileFamily.Text => IsUtf8Text(content),
            _ => true,
        };
        content.Position = 0;
        if (!ok)
        {
            throw new ChatException(type.Family == FileFamily.Text ? ChatError.FileTypeNotAllowed : ChatError.FileTypeMismatch);
        }
    }

    private static bool ZipDocumentIs(Stream content, string contentType)
    {
        try
        {
            using var zip = new ZipArchive(content, ZipArchiveMode.Read, leaveOpen: true);
            if (zip.GetEntry("[Content_Types].xml") is not null)
            {
                var prefix = contentType switch
                {
                    Docx => "word/",
                    Xlsx => "xl/",
                    Pptx => "ppt/",
                    _ => null,
                };
                return prefix is not null && zip.Entries.Any(e => e.FullName.StartsWith(prefix, StringComparison.Ordinal));
            }

            if (zip.GetEntry("mimetype") is { Length: > 0 and < 200 } mimetype)
            {
                using var reader = new StreamReader(mimetype.Open(), Encoding.ASCII);
                return reader.ReadToEnd().Trim() == contentType;
            }

            return false;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    private static bool OleDocumentIs(Stream content, string extension)
    {
        var names = OleDirectory.StreamNames(content);
        return extension switch
        {
            ".doc" => names.Contains("WordDocument"),
            ".xls" => names.Contains("Workbook") || names.Contains("Book"),
            ".ppt" => names.Contains("PowerPoint Document"),
            _ => false,
        };
    }

    private static bool IsUtf8Text(Stream content)
    {
        var decoder = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetDecoder();
        var bytes = new byte[64 * 1024];
        var chars = new char[bytes.Length + 4];
        try
        {
            int read;
            while ((read = content.Read(bytes)) > 0)
            {
                if (bytes.AsSpan(0, read).IndexOf((byte)0) >= 0)
                {
                    return false;
                }

                decoder.GetChars(bytes, 0, read, chars, 0, flush: false);
            }

            decoder.GetChars([], 0, 0, chars, 0, flush: true);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}

/// <summary>Reads the names in the directory of an OLE2 compound file (legacy .doc/.xls/.ppt), following its FAT.</summary>
internal static class OleDirectory
{
    private const uint EndOfChain = 0xFFFFFFFE;
    private const int MaxSectors = 1 << 20;

    public static HashSet<string> StreamNames(Stream s)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            var header = ReadAt(s, 0, 512);
            if (header is null)
            {
                return names;
            }

            var shift = BitConverter.ToUInt16(header, 0x1E);
            if (shift is not (9 or 12))
            {
                return names;
            }

            var sectorSize = 1 << shift;
            var firstDir = BitConverter.ToUInt32(header, 0x30);
            var difatStart = BitConverter.ToUInt32(header, 0x44);

            // The FAT's own sectors: 109 in the header, more in a chain of DIFAT sectors.
            var fatSectors = new List<uint>();
            for (var i = 0; i < 109; i++)
            {
                var sect = BitConverter.ToUInt32(header, 0x4C + (i * 4));
                if (sect < 0xFFFFFFFA)
                {
                    fatSectors.Add(sect);
                }
            }

            var next = difatStart;
            for (var guard = 0; next < 0xFFFFFFFA && guard < 10_000; guard++)
            {
                var difat = ReadAt(s, (next + 1L) * sectorSize, sectorSize);
                if (difat is null)
                {
                    break;
                }

                for (var i = 0; i < (sectorSize / 4) - 1; i++)
                {
                    var sect = BitConverter.ToUInt32(difat, i * 4);
                    if (sect < 0xFFFFFFFA)
                    {
                        fatSectors.Add(sect);
                    }
                }

                next = BitConverter.ToUInt32(difat, sectorSize - 4);
            }

            var fat = new List<uint>();
            foreach (var sect in fatSectors)
            {
                var data = ReadAt(s, (sect + 1L) * sectorSize, sectorSize);
                if (data is null || fat.Count > MaxSectors)
                {
                    break;
                }

                for (var i = 0; i < sectorSize; i += 4)
                {
                    fat.Add(BitConverter.ToUInt32(data, i));
                }
            }

            var dir = firstDir;
            for (var guard = 0; dir != EndOfChain && dir < fat.Count && guard < 100_000; guard++)
            {
                var data = ReadAt(s, (dir + 1L) * sectorSize, sectorSize);
                if (data is null)
                {
                    break;
                }

                for (var entry = 0; entry < sectorSize; entry += 128)
                {
                    var length = BitConverter.ToUInt16(data, entry + 64);
                    if (length is >= 2 and <= 64 && data[entry + 66] is 1 or 2 or 5)
                    {
                        names.Add(Encoding.Unicode.GetString(data, entry, length - 2));
                    }
                }

                dir = fat[(int)dir];
            }
        }
        catch (Exception e) when (e is ArgumentException or IOException)
        {
            // A broken compound file: whatever names were found decide.
        }

        return names;
    }

    private static byte[]? ReadAt(Stream s, long offset, int count)
    {
        if (offset < 0 || offset + count > s.Length)
        {
            return null;
        }

        s.Position = offset;
        var buffer = new byte[count];
        s.ReadExactly(buffer);
        return buffer;
    }
}
