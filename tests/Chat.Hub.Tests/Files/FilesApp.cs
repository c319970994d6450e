using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Chat.Hub.Features.Chats;
using Chat.Hub.Infrastructure;
using Chat.Hub.Tests.Infrastructure;
using Chat.Testing;
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
