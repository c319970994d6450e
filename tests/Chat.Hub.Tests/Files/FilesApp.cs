using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Infrastructure;
using Chat.Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Chat.Hub.Tests.Files;

/// <summary>The real server with a real file store in a temporary folder of its own, and small limits so that tests stay small.</summary>
public class FilesApp : ChatApp
{
    public string FilesRoot { get; } = Path.Combine(Path.GetTempPath(), "chat-files-" + Guid.NewGuid().ToString("N"));

    protected override IDictionary<string, string?> ExtraSettings => new Dictionary<string, string?>
    {
        ["Files:Root"] = FilesRoot,
        ["Files:MaxImageBytes"] = (512 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Files:MaxAudioBytes"] = (1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Files:MaxVideoBytes"] = (4 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Files:MaxDocumentBytes"] = (2 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Files:SchoolQuotaBytes"] = (3 * 1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Files:ReserveFreeBytes"] = "0",
        ["Limits:MessagesPerSecond"] = "100",
        ["Limits:MessageBurst"] = "100",
    }.Concat(MoreSettings).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value);

    protected virtual IEnumerable<KeyValuePair<string, string?>> MoreSettings => [];

    /// <summary>How many bytes of each upload's body the server read, by upload id: proof that an upload was stopped early.</summary>
    public ConcurrentDictionary<string, CountingStream> BodiesRead { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureServices(services => services.AddSingleton<IStartupFilter>(new CountBodies(this)));
    }

    private sealed class CountBodies(FilesApp app) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => builder =>
        {
            builder.Use(async (context, nextMiddleware) =>
            {
                if (context.Request.Query.TryGetValue("uploadId", out var id) && id.ToString() is { Length: > 0 } key)
                {
                    var counting = new CountingStream(context.Request.Body);
                    app.BodiesRead[key] = counting;
                    context.Request.Body = counting;
                }

                await nextMiddleware(context);
            });
            next(builder);
        };
    }

    /// <summary>Stored objects (not staged ones), as file names.</summary>
    public IReadOnlyList<string> StoredObjects() =>
        Directory.Exists(FilesRoot)
            ? Directory.EnumerateFiles(FilesRoot, "*", SearchOption.AllDirectories).Where(f => !f.Contains(Path.DirectorySeparatorChar + ".staging" + Path.DirectorySeparatorChar, StringComparison.Ordinal)).Select(f => Path.GetFileName(f)).ToList()
            : [];

    public IReadOnlyList<string> StagedLeftovers() =>
        Directory.Exists(Path.Combine(FilesRoot, ".staging")) ? Directory.GetFiles(Path.Combine(FilesRoot, ".staging")) : [];

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        try
        {
            Directory.Delete(FilesRoot, recursive: true);
        }
        catch (IOException)
        {
        }

        GC.SuppressFinalize(this);
    }
}

/// <summary>The same, with the cleanup's grace period at zero, so a test can run the cleanup and see unreferenced files go.</summary>
public sealed class FilesCleanupApp : FilesApp
{
    protected override IEnumerable<KeyValuePair<string, string?>> MoreSettings => [new("Files:CleanupGraceSeconds", "0")];
}

public static class FileCalls
{
    public static Task<HttpResponseMessage> UploadAsync(TestUser who, Guid schoolId, string name, byte[] bytes, Guid? uploadId = null) =>
        UploadAsync(who, schoolId, name, new ByteArrayContent(bytes), uploadId);

    public static Task<HttpResponseMessage> UploadAsync(TestUser who, Guid schoolId, string name, HttpContent content, Guid? uploadId = null) =>
        who.Http.PostAsync($"/api/schools/{schoolId}/files?name={Uri.EscapeDataString(name)}&uploadId={uploadId ?? Guid.NewGuid()}", content);

    /// <summary>Uploads with a fresh upload id and returns the response and that id.</summary>
    public static async Task<(HttpResponseMessage Response, string UploadId)> UploadTrackedAsync(TestUser who, Guid schoolId, string name, HttpContent content)
    {
        var id = Guid.NewGuid();
        return (await UploadAsync(who, schoolId, name, content, id), id.ToString());
    }

    public static async Task<Guid> ClassChatAsync(TestUser member, Guid schoolId, Guid classId)
    {
        var chats = await member.Http.GetFromJsonAsync<List<ChatSummaryDto>>($"/api/chats?schoolId={schoolId}", ChatJson.Options);
        return chats!.Single(c => c.Kind == "class" && c.ClassId == classId).Id;
    }
}

/// <summary>Passes reads through and counts the bytes.</summary>
public sealed class CountingStream(Stream inner) : Stream
{
    private long read;

    public long BytesRead => Interlocked.Read(ref read);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Count(await inner.ReadAsync(buffer, cancellationToken));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private int Count(int n)
    {
        Interlocked.Add(ref read, n);
        return n;
    }
}

/// <summary>A request body made up as it is sent, of unknown length (chunked), counting how much of it the server took.</summary>
public sealed class GeneratedContent(byte[] head, long total) : HttpContent
{
    private long produced;

    public long Produced => Interlocked.Read(ref produced);

    protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
    {
        await stream.WriteAsync(head);
        Interlocked.Add(ref produced, head.Length);
        var chunk = new byte[64 * 1024];
        new Random(42).NextBytes(chunk);
        while (Produced < total)
        {
            await stream.WriteAsync(chunk);
            Interlocked.Add(ref produced, chunk.Length);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = 0;
        return false;
    }
}

/// <summary>Small real files of each kind, made by the test.</summary>
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

    public static MediaTypeHeaderValue? TypeOf(HttpResponseMessage response) => response.Content.Headers.ContentType;
}
