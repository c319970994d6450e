using Microsoft.Playwright;

namespace Chat.Web.Tests;

/// <summary>Small real files the browser uploads: a photo, a voice note (MP3) and a PDF.</summary>
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

    public static byte[] Pdf()
    {
        var text = new System.Text.StringBuilder("%PDF-1.4\n");
        for (var line = 0; line < 200; line++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"% line {line:D4} of the homework\n");
        }

        text.Append("%%EOF\n");
        return System.Text.Encoding.Latin1.GetBytes(text.ToString());
    }

    public static FilePayload File(string name, string mime, byte[] bytes) => new() { Name = name, MimeType = mime, Buffer = bytes };
}
