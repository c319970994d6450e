using SkiaSharp;

namespace Chat.Hub.Features.Files;

/// <summary>
/// Makes a small JPEG preview of a photo with SkiaSharp (JPEG, PNG, WebP; HEIC has no decoder here, so no preview).
/// The EXIF orientation is applied; transparent areas become white. Returns null when the image cannot be decoded or
/// is too large to decode safely.
/// </summary>
public static class Thumbnailer
{
    /// <summary>A preview, and whether the photo is shown turned by 90° (its upright width and height are swapped).</summary>
    public sealed record Result(byte[] Jpeg, bool Turned);

    /// <summary>Images with more pixels than this get no preview (a small file can claim huge dimensions).</summary>
    public const long MaxPixels = 64_000_000;

    public static Result? Make(Stream content, FileFamily family, int? width, int? height, int maxSide)
    {
        if (family is not (FileFamily.Jpeg or FileFamily.Png or FileFamily.Webp) || width is null || height is null
            || (long)width.Value * height.Value > MaxPixels)
        {
            return null;
        }

        try
        {
            content.Position = 0;

            // The codec owns the Skia stream it reads; the wrapper leaves the file stream itself open.
            var source = new SKManagedStream(content, disposeManagedStream: false);
            using var codec = SKCodec.Create(source);
            if (codec is null)
            {
                source.Dispose();
                return null;
            }

            // Let the decoder scale down while decoding where it can (JPEG: 1/2, 1/4, 1/8).
            var info = codec.Info;
            var scale = Math.Min(1f, (float)maxSide / Math.Max(info.Width, info.Height));
            var decodeSize = codec.GetScaledDimensions(Math.Max(scale, 0.125f));
            using var decoded = new SKBitmap(new SKImageInfo(decodeSize.Width, decodeSize.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
            var result = codec.GetPixels(decoded.Info, decoded.GetPixels());
            if (result is not (SKCodecResult.Success or SKCodecResult.IncompleteInput))
            {
                return null;
            }

            var origin = codec.EncodedOrigin;
            var swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
            var fit = Math.Min(1f, (float)maxSide / Math.Max(decodeSize.Width, decodeSize.Height));
            var w = Math.Max(1, (int)Math.Round(decodeSize.Width * fit));
            var h = Math.Max(1, (int)Math.Round(decodeSize.Height * fit));
            var (outW, outH) = swap ? (h, w) : (w, h);

            using var surface = SKSurface.Create(new SKImageInfo(outW, outH, SKColorType.Rgba8888, SKAlphaType.Premul));
            var canvas = surface.Canvas;
            canvas.Clear(SKColors.White);
            canvas.SetMatrix(OriginMatrix(origin, outW, outH));
            using var image = SKImage.FromBitmap(decoded);
            canvas.DrawImage(image, new SKRect(0, 0, w, h), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
            canvas.Flush();
            using var snapshot = surface.Snapshot();
            using var data = snapshot.Encode(SKEncodedImageFormat.Jpeg, 80);
            return data is null ? null : new Result(data.ToArray(), swap);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IOException or NotSupportedException)
        {
            return null;
        }
        finally
        {
            content.Position = 0;
        }
    }

    /// <summary>The transform that draws an image stored in <paramref name="origin"/> orientation upright into an outW × outH canvas.</summary>
    private static SKMatrix OriginMatrix(SKEncodedOrigin origin, int outW, int outH) => origin switch
    {
        SKEncodedOrigin.TopRight => new SKMatrix(-1, 0, outW, 0, 1, 0, 0, 0, 1),
        SKEncodedOrigin.BottomRight => new SKMatrix(-1, 0, outW, 0, -1, outH, 0, 0, 1),
        SKEncodedOrigin.BottomLeft => new SKMatrix(1, 0, 0, 0, -1, outH, 0, 0, 1),
        SKEncodedOrigin.LeftTop => new SKMatrix(0, 1, 0, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightTop => new SKMatrix(0, -1, outW, 1, 0, 0, 0, 0, 1),
        SKEncodedOrigin.RightBottom => new SKMatrix(0, -1, outW, -1, 0, outH, 0, 0, 1),
        SKEncodedOrigin.LeftBottom => new SKMatrix(0, 1, 0, -1, 0, outH, 0, 0, 1),
        _ => SKMatrix.Identity,
    };
}
