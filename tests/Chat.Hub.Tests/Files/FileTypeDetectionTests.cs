using System.Buffers.Binary;
using System.Text;
using Chat.Hub.Features.Files;
using Chat.Hub.Infrastructure;

namespace Chat.Hub.Tests.Files;

/// <summary>Type detection and header parsing on hand-made headers of the formats the end-to-end tests do not upload.</summary>
public sealed class FileTypeDetectionTests
{
    private static FileType Decide(byte[] bytes, string name) =>
        FileTypes.Decide(bytes.AsSpan(0, Math.Min(bytes.Length, FileTypes.HeadLength)), bytes.Length <= FileTypes.HeadLength, FileTypes.ForName(name)!, Path.GetExtension(name));

    private static string Refused(byte[] bytes, string name) => Assert.Throws<ChatException>(() => Decide(bytes, name)).Error.Code;

    [Fact]
    public void Detect_WebpAndHeic_DimensionsFromTheirHeaders()
    {
        // WebP, extended format: canvas 1200 × 800.
        var webp = new byte[64];
        "RIFF"u8.CopyTo(webp);
        "WEBPVP8X"u8.CopyTo(webp.AsSpan(8));
        WriteUInt24(webp, 24, 1199);
        WriteUInt24(webp, 27, 799);
        Assert.Equal("image/webp", Decide(webp, "фото.webp").ContentType);
        Assert.Equal(new MediaInfo(1200, 800, null), MediaProbe.Probe(new MemoryStream(webp), FileFamily.Webp));

        // HEIC from a phone: ftyp heic, and 'ispe' properties of a thumbnail and of the primary image.
        using var heic = new MemoryStream();
        heic.Write([0, 0, 0, 24, .. "ftypheic"u8, 0, 0, 0, 0, .. "mif1heic"u8]);
        heic.Write(Ispe(320, 240));
        heic.Write(Ispe(4032, 3024));
        var bytes = heic.ToArray();
        Assert.Equal("image", Decide(bytes, "IMG_0001.HEIC").Kind);
        Assert.Equal(new MediaInfo(4032, 3024, null), MediaProbe.Probe(new MemoryStream(bytes), FileFamily.Heic));
        Assert.Equal("file_type_mismatch", Refused(bytes, "IMG_0001.jpg"));
    }

    [Fact]
    public void Detect_Audio_OggOpusWithDuration_Mp3_M4aOnlyAsAudio()
    {
        // An Ogg Opus voice message of 12.5 s: OpusHead (pre-skip 312) in the first page, the granule of the last page.
        var ogg = new byte[200];
        "OggS"u8.CopyTo(ogg);
        "OpusHead"u8.CopyTo(ogg.AsSpan(28));
        ogg[36] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(ogg.AsSpan(38), 312);
        "OggS"u8.CopyTo(ogg.AsSpan(120));
        BinaryPrimitives.WriteInt64LittleEndian(ogg.AsSpan(126), 312 + (48_000 * 25 / 2));
        Assert.Equal("audio/ogg", Decide(ogg, "голосовое.ogg").ContentType);
        Assert.Equal(12_500, MediaProbe.Probe(new MemoryStream(ogg), FileFamily.Ogg).DurationMs);

        // Ogg with something else than Opus or Vorbis (Theora video) is not accepted.
        var theora = (byte[])ogg.Clone();
        "\u0080theora\0"u8.CopyTo(theora.AsSpan(28));
        Assert.Equal("file_type_not_allowed", Refused(theora, "видео.ogg"));

        var mp3 = new byte[512];
        "ID3"u8.CopyTo(mp3);
        Assert.Equal("audio/mpeg", Decide(mp3, "песня.mp3").ContentType);

        // An M4A (ISO media, audio brand): fine as .m4a, a mismatch as .mp4 video.
        byte[] m4a = [0, 0, 0, 20, .. "ftypM4A "u8, 0, 0, 0, 0, .. "M4A "u8, 0, 0, 0, 8, .. "free"u8];
        Assert.Equal("audio/mp4", Decide(m4a, "запись.m4a").ContentType);
        Assert.Equal("file_type_mismatch", Refused(m4a, "запись.mp4"));
    }

    [Fact]
    public void Detect_WebmWithDuration_MatroskaRefused()
    {
        using var webm = new MemoryStream();
        webm.Write([0x1A, 0x45, 0xDF, 0xA3, 0x89, 0x42, 0x82, 0x84, .. "webm"u8, 0xEC, 0x80]);
        var duration = new byte[8];
        BinaryPrimitives.WriteDoubleBigEndian(duration, 95_000); // in TimecodeScale units (1 ms)
        byte[] info = [0x2A, 0xD7, 0xB1, 0x83, 0x0F, 0x42, 0x40, 0x44, 0x89, 0x88, .. duration];
        webm.Write([0x18, 0x53, 0x80, 0x67, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]); // Segment of unknown size
        webm.Write([0x15, 0x49, 0xA9, 0x66, (byte)(0x80 | info.Length), .. info]);
        webm.Write([0x1F, 0x43, 0xB6, 0x75, 0x80]); // the first Cluster
        var bytes = webm.ToArray();
        Assert.Equal("video/webm", Decide(bytes, "урок.webm").ContentType);
        Assert.Equal(95_000, MediaProbe.Probe(new MemoryStream(bytes), FileFamily.WebM).DurationMs);

        var mkv = (byte[])bytes.Clone();
        "matr"u8.CopyTo(mkv.AsSpan(8));
        Assert.Equal("file_type_not_allowed", Refused(mkv, "урок.webm"));
    }

    [Fact]
    public void Detect_WebmVoiceNoteFromChromium_IsAudio_VideoTracksStayVideo()
    {
        // A real voice note of 1.44 s recorded by Chromium's MediaRecorder (audio/webm;codecs=opus, fake microphone).
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "TestData", "voice-chromium.webm"));
        var type = Decide(bytes, "Голосовое сообщение.webm");
        Assert.Equal(("audio", "audio/webm"), (type.Kind, type.ContentType));
        Assert.Equal(1440, MediaProbe.Probe(new MemoryStream(bytes), FileFamily.WebM).DurationMs);

        // Recorded with a timeslice (no Duration in Info): the last block's time (what Chromium writes as Duration too).
        var live = (byte[])bytes.Clone();
        var info = live.AsSpan().IndexOf((ReadOnlySpan<byte>)[0x15, 0x49, 0xA9, 0x66]);
        var durationId = info + live.AsSpan(info).IndexOf((ReadOnlySpan<byte>)[0x44, 0x89]);
        live[durationId + 1] = 0x88; // an element nobody reads
        Assert.InRange(MediaProbe.Probe(new MemoryStream(live), FileFamily.WebM).DurationMs ?? 0, 1300, 1440);

        // The same file with its track's type turned to video (TrackType 0x83 = 1) is a video.
        var tracks = bytes.AsSpan().IndexOf((ReadOnlySpan<byte>)[0x16, 0x54, 0xAE, 0x6B]);
        var trackType = tracks + bytes.AsSpan(tracks).IndexOf((ReadOnlySpan<byte>)[0x83, 0x81, 0x02]);
        Assert.True(tracks > 0 && trackType > tracks);
        var video = (byte[])bytes.Clone();
        video[trackType + 2] = 1;
        Assert.Equal("video/webm", Decide(video, "урок.webm").ContentType);

        // Read as a player reads it: a track that is not Opus or Vorbis, a second TrackType (here the track's number
        // turned into one, saying video), or Video settings in the track: video, whatever the first TrackType says.
        var codec = bytes.AsSpan().IndexOf("A_OPUS"u8);
        var notOpus = (byte[])bytes.Clone();
        "V_VP80"u8.CopyTo(notOpus.AsSpan(codec));
        Assert.Equal("video/webm", Decide(notOpus, "урок.webm").ContentType);
        var trackNumber = tracks + bytes.AsSpan(tracks).IndexOf((ReadOnlySpan<byte>)[0xD7, 0x81, 0x01]);
        Assert.True(trackNumber > tracks);
        var twoTypes = (byte[])bytes.Clone();
        twoTypes[trackNumber] = 0x83; // TrackType = 1 (video) after the audio one
        Assert.Equal("video/webm", Decide(twoTypes, "урок.webm").ContentType);
        var videoSettings = (byte[])bytes.Clone();
        videoSettings[trackNumber] = 0xE0; // a Video element in the track
        Assert.Equal("video/webm", Decide(videoSettings, "урок.webm").ContentType);

        // Tracks that do not fit in the head (cut short) prove nothing: video, as any .webm before.
        var cut = bytes[..(trackType + 2)];
        Assert.Equal("video", FileTypes.Decide(cut, complete: false, FileTypes.ForName("a.webm")!, ".webm").Kind);

        // What was refused stays refused: the audio under an audio extension of another format, Matroska that is not WebM.
        Assert.Equal("file_type_mismatch", Refused(bytes, "голосовое.ogg"));
        Assert.Equal("file_type_mismatch", Refused(bytes, "голосовое.mp3"));
        var mkv = (byte[])bytes.Clone();
        "matr"u8.CopyTo(mkv.AsSpan(bytes.AsSpan().IndexOf("webm"u8)));
        Assert.Equal("file_type_not_allowed", Refused(mkv, "голосовое.webm"));
    }

    [Fact]
    public void Detect_LegacyOfficeDocument_ByTheStreamsInside()
    {
        var doc = CompoundFile("WordDocument");
        var type = Decide(doc, "Сочинение.doc");
        Assert.Equal("application/msword", type.ContentType);
        FileTypes.Verify(new MemoryStream(doc), type, ".doc");

        // The same compound file named as a spreadsheet does not hold a workbook.
        var asXls = Decide(doc, "Оценки.xls");
        Assert.Equal("file_type_mismatch", Assert.Throws<ChatException>(() => FileTypes.Verify(new MemoryStream(doc), asXls, ".xls")).Error.Code);
        FileTypes.Verify(new MemoryStream(CompoundFile("Workbook")), asXls, ".xls");
    }

    [Fact]
    public void SafeName_KeepsCyrillicAndTheExtension_DropsPathsAndSpoofing()
    {
        Assert.Equal("Контрольная №3.pdf", FileService.SafeName("C:\\Users\\Учитель\\Контрольная №3.pdf"));
        Assert.Equal("passwd", FileService.SafeName("../../etc/passwd"));
        Assert.Equal("photo_gpj.exe", FileService.SafeName("photo\u202Egpj.exe"));
        Assert.EndsWith(".docx", FileService.SafeName(new string('я', 400) + ".docx"));
        Assert.Equal(255, FileService.SafeName(new string('я', 400) + ".docx").Length);

        // Cut on whole characters: 130 emoji are 260 UTF-16 units, and the cut must not leave half of one.
        var emoji = FileService.SafeName(string.Concat(Enumerable.Repeat("😀", 130)) + ".pdf");
        Assert.EndsWith("😀.pdf", emoji);
        Assert.True(emoji.Length <= 255);
        Assert.Equal(emoji.Length, new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(new UTF8Encoding(false, true).GetBytes(emoji)).Length); // throws on a lone surrogate

        // An "extension" longer than any file type's is cut with the name (and the type then refuses it).
        var odd = FileService.SafeName("a." + new string('x', 300));
        Assert.Equal(255, odd.Length);
        Assert.Equal("attachment; filename=\"________ _3.pdf\"; filename*=UTF-8''%D0%9A%D0%BE%D0%BD%D1%82%D1%80%D0%BE%D0%BB%D1%8C%20%E2%84%963.pdf",
            FilesApi.ContentDisposition("Контроль №3.pdf"));
    }

    private static byte[] Ispe(int width, int height)
    {
        var box = new byte[20];
        BinaryPrimitives.WriteUInt32BigEndian(box, 20);
        "ispe"u8.CopyTo(box.AsSpan(4));
        BinaryPrimitives.WriteUInt32BigEndian(box.AsSpan(12), (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(box.AsSpan(16), (uint)height);
        return box;
    }

    private static void WriteUInt24(byte[] b, int at, int value)
    {
        b[at] = (byte)value;
        b[at + 1] = (byte)(value >> 8);
        b[at + 2] = (byte)(value >> 16);
    }

    /// <summary>A minimal OLE2 compound file: header, one FAT sector, one directory sector with the root and one stream.</summary>
    private static byte[] CompoundFile(string streamName)
    {
        var file = new byte[512 * 3];
        byte[] signature = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
        signature.CopyTo(file, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(0x1A), 3);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(0x1C), 0xFFFE);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(0x1E), 9);
        BinaryPrimitives.WriteUInt16LittleEndian(file.AsSpan(0x20), 6);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(0x2C), 1);          // one FAT sector
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(0x30), 1);          // the directory starts in sector 1
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(0x38), 4096);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(0x3C), 0xFFFFFFFE);
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(0x44), 0xFFFFFFFE);
        for (var i = 0; i < 109; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(0x4C + (i * 4)), i == 0 ? 0u : 0xFFFFFFFF);
        }

        var fat = file.AsSpan(512, 512);
        fat.Fill(0xFF);
        BinaryPrimitives.WriteUInt32LittleEndian(fat, 0xFFFFFFFD);               // sector 0: the FAT itself
        BinaryPrimitives.WriteUInt32LittleEndian(fat[4..], 0xFFFFFFFE);          // sector 1: the directory, one sector long
        Entry(file.AsSpan(1024, 128), "Root Entry", 5);
        Entry(file.AsSpan(1024 + 128, 128), streamName, 2);
        return file;

        static void Entry(Span<byte> entry, string name, byte type)
        {
            Encoding.Unicode.GetBytes(name, entry);
            BinaryPrimitives.WriteUInt16LittleEndian(entry[64..], (ushort)((name.Length + 1) * 2));
            entry[66] = type;
        }
    }
}
