namespace Chat.Testing;

/// <summary>Small real files of each kind, made by the tests (uploads over HTTP and through the browser).</summary>
public static class SampleFiles
{
    public static byte[] Jpeg(int width, int height)
    {
        using var bitmap = new SkiaSharp.SKBitmap(width, height);
        using (var canvas = new SkiaSharp.SKCanvas(bitmap))
        {
            canvas.Clear(SkiaSharp.SKColors.SkyBlue);
            using var paint = new SkiaSharp.SKPaint { Color = SkiaSharp.SKColors.DarkGreen };
            canvas.DrawRect(0, height / 2f, width, height / 2f, paint);
        }

        using var image = SkiaSharp.SKImage.FromBitmap(bitmap);
        return image.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 85).ToArray();
    }

    public static byte[] Png(int width, int height)
    {
        using var bitmap = new SkiaSharp.SKBitmap(width, height);
        using (var canvas = new SkiaSharp.SKCanvas(bitmap))
        {
            canvas.Clear(SkiaSharp.SKColors.Orange);
        }

        using var image = SkiaSharp.SKImage.FromBitmap(bitmap);
        return image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100).ToArray();
    }

    /// <summary>
    /// Silent MPEG-1 Layer III: frames of 128 kbit/s at 44.1 kHz (417 bytes each, 1152 samples) whose side information
    /// is all zero, so every granule decodes to silence. 100 frames last about 2.6 s.
    /// </summary>
    public static byte[] Mp3(int frames = 100)
    {
        const int frameLength = 417;
        var bytes = new byte[frames * frameLength];
        for (var i = 0; i < frames; i++)
        {
            bytes[i * frameLength] = 0xFF;
            bytes[(i * frameLength) + 1] = 0xFB;
            bytes[(i * frameLength) + 2] = 0x90;
            bytes[(i * frameLength) + 3] = 0xC0; // mono: 17 bytes of side information
        }

        return bytes;
    }

    /// <summary>A PDF of about <paramref name="size"/> bytes, every byte position distinct enough to check ranges.</summary>
    public static byte[] Pdf(int size = 64 * 1024)
    {
        var text = new System.Text.StringBuilder("%PDF-1.4\n%\u00e2\u00e3\u00cf\u00d3\n");
        for (var line = 0; text.Length < size - 16; line++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"% line {line:D8} of the test document\n");
        }

        text.Append("%%EOF\n");
        return System.Text.Encoding.Latin1.GetBytes(text.ToString());
    }

    /// <summary>A Word document's minimal parts: [Content_Types].xml and word/document.xml in a zip.</summary>
    public static byte[] Docx()
    {
        using var memory = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(memory, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            Write(zip, "[Content_Types].xml", "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>");
            Write(zip, "_rels/.rels", "<?xml version=\"1.0\"?><Relationships/>");
            Write(zip, "word/document.xml", "<?xml version=\"1.0\"?><w:document xmlns:w=\"urn:w\"><w:body>Домашнее задание</w:body></w:document>");
        }

        return memory.ToArray();

        static void Write(System.IO.Compression.ZipArchive zip, string name, string content)
        {
            using var writer = new StreamWriter(zip.CreateEntry(name).Open());
            writer.Write(content);
        }
    }

    /// <summary>An MP4 skeleton: ftyp, moov with an mvhd of the given duration, and a little mdat.</summary>
    public static byte[] Mp4(int durationSeconds)
    {
        using var memory = new MemoryStream();
        Box(memory, "ftyp", [.. "isom"u8, 0, 0, 2, 0, .. "isomiso2avc1mp41"u8]);
        var mvhd = new byte[100];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(mvhd.AsSpan(12), 1000);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(mvhd.AsSpan(16), (uint)durationSeconds * 1000);
        using var moov = new MemoryStream();
        Box(moov, "mvhd", mvhd);
        Box(memory, "moov", moov.ToArray());
        Box(memory, "mdat", new byte[2048]);
        return memory.ToArray();

        static void Box(Stream s, string type, byte[] payload)
        {
            var header = new byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(header, (uint)(payload.Length + 8));
            System.Text.Encoding.ASCII.GetBytes(type, header.AsSpan(4));
            s.Write(header);
            s.Write(payload);
        }
    }

    /// <summary>A Windows executable's header, as a renamed .exe starts.</summary>
    public static byte[] Exe()
    {
        var bytes = new byte[4096];
        "MZ"u8.CopyTo(bytes);
        bytes[2] = 0x90;
        bytes[0x3C] = 0x80;
        "PE\0\0"u8.CopyTo(bytes.AsSpan(0x80));
        return bytes;
    }

    public static System.Net.Http.Headers.MediaTypeHeaderValue? TypeOf(HttpResponseMessage response) => response.Content.Headers.ContentType;
}
