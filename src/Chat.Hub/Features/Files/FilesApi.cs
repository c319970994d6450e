using System.Globalization;
using System.Security.Claims;
using Chat.Hub.Infrastructure;
using Chat.Hub.Realtime;
using Chat.Storage.Files;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Chat.Hub.Features.Files;

/// <summary>The HTTP side of files: uploads and downloads are HTTP only (streamed, with range requests), never through the hub.</summary>
public static class FilesApi
{
    /// <summary>The bytes a resumable upload has, on every answer about it (and on <c>upload_offset_mismatch</c>).</summary>
    public const string UploadOffsetHeader = "Upload-Offset";

    public static IEndpointRouteBuilder MapFilesApi(this IEndpointRouteBuilder app)
    {
        var school = app.MapGroup("/api/schools/{schoolId:guid}").WithTags("Files").RequireAuthorization();

        // The raw body is the file; ?name= gives its name (the extension must fit the content), ?uploadId= makes retries safe.
        school.MapPost("/files", (Guid schoolId, string? name, Guid? uploadId, HttpContext http, FileService s, CancellationToken ct) => ReadingBodyAsync(http, async () =>
        {
            var (file, created) = await s.UploadAsync(http.User.AccountId(), schoolId, name, uploadId, http.Request, ct);
            return created ? Results.Created($"/api/files/{file.Id}", file) : Results.Ok(file);
        }));

        // Resumable uploads: declare the file, send it in chunks at the server's offset, resume after a drop. A declaration
        // repeated under the client's uploadId (its answer was lost) answers 200 with the upload stored the first time.
        school.MapPost("/uploads", async (Guid schoolId, StartUploadBody body, ClaimsPrincipal user, UploadService s, CancellationToken ct) =>
        {
            var (upload, created) = await s.StartAsync(user.AccountId(), schoolId, body, ct);
            return created ? Results.Created($"/api/schools/{schoolId}/uploads/{upload.UploadId}", upload) : Results.Ok(upload);
        });
        school.MapGet("/uploads/{uploadId:guid}", async (Guid schoolId, Guid uploadId, HttpContext http, UploadService s, CancellationToken ct) =>
        {
            var upload = await s.GetAsync(http.User.AccountId(), schoolId, uploadId, ct);
            http.Response.Headers[UploadOffsetHeader] = upload.Offset.ToString(CultureInfo.InvariantCulture);
            http.Response.Headers.CacheControl = "no-store";
            return upload;
        });
        school.MapPatch("/uploads/{uploadId:guid}", (Guid schoolId, Guid uploadId, long? offset, HttpContext http, UploadService s, CancellationToken ct) => ReadingBodyAsync(http, async () =>
        {
            var result = await s.AppendAsync(http.User.AccountId(), schoolId, uploadId, offset, http.Request, ct);
            http.Response.Headers[UploadOffsetHeader] = result.Offset.ToString(CultureInfo.InvariantCulture);
            if (result.Upload is { } upload)
            {
                return Results.Ok(upload);
            }

            // Not the server's offset: nothing was read; say where to continue (header and detail), the client resyncs.
            http.Response.Headers.Connection = "close";
            await ChatExceptionHandler.WriteProblemAsync(http, ChatError.UploadOffsetMismatch,
                detail: $"Сервер уже получил {result.Offset} байт: продолжите с этого места.");
            return Results.Empty;
        }));
        school.MapDelete("/uploads/{uploadId:guid}", async (Guid schoolId, Guid uploadId, ClaimsPrincipal user, UploadService s, CancellationToken ct) =>
        {
            await s.DeleteAsync(user.AccountId(), schoolId, uploadId, ct);
            return Results.NoContent();
        });
        school.MapGet("/storage", (Guid schoolId, ClaimsPrincipal user, FileService s, CancellationToken ct) => s.StorageAsync(user.AccountId(), schoolId, ct));

        var files = app.MapGroup("/api/files").WithTags("Files").RequireAuthorization();
        files.MapGet("/{fileId:guid}", (Guid fileId, HttpContext http, FileService s, CancellationToken ct) => DownloadAsync(http.User.AccountId(), fileId, thumbnail: false, http, s, ct));
        files.MapGet("/{fileId:guid}/thumbnail", (Guid fileId, HttpContext http, FileService s, CancellationToken ct) => DownloadAsync(http.User.AccountId(), fileId, thumbnail: true, http, s, ct));

        // A short-lived link for the browser's own player and downloads (FileLinks): streamed, with range requests.
        files.MapPost("/{fileId:guid}/link", async (Guid fileId, ClaimsPrincipal user, FileService s, FileLinks links, CancellationToken ct) =>
        {
            await s.RequireReaderAsync(user.AccountId(), fileId, ct);
            return links.Create(fileId, user.AccountId(), user.SessionId());
        });
        app.MapGet("/api/files/{fileId:guid}/stream", async (Guid fileId, string? a, string? s, string? e, string? k, HttpContext http,
            FileLinks links, Chat.Storage.Accounts.SessionStore sessions, FileService files, CancellationToken ct) =>
        {
            // The link stands for the reader's token: its session must still be live, and the reader still allowed the
            // file (DownloadAsync reads it as the reader) — signing out, or leaving the chat, ends every link.
            var reader = links.Verify(fileId, a, s, e, k);
            if (reader is null || !await sessions.IsActiveAsync(reader.Value.SessionId, reader.Value.AccountId, ct))
            {
                throw new ChatException(ChatError.FileLinkExpired);
            }

            // Not kept in the browser's disk cache: on a shared tablet the bytes must not stay there after signing out.
            return await DownloadAsync(reader.Value.AccountId, fileId, thumbnail: false, http, files, ct, cacheControl: "no-store");
        }).WithTags("Files").AllowAnonymous();

        var chats = app.MapGroup("/api/chats/{chatId:guid}").WithTags("Files").RequireAuthorization();
        chats.MapGet("/files", (Guid chatId, string? kind, long? before, int? limit, ClaimsPrincipal user, FileService s, CancellationToken ct) =>
            s.ChatFilesAsync(user.AccountId(), chatId, kind, before, limit, ct));
        chats.MapPost("/messages/files", (Guid chatId, SendFilesBody body, ClaimsPrincipal user, FileService s, HubLimits limits, CancellationToken ct) =>
        {
            limits.CheckSend(user.AccountId());
            return s.SendAsync(user.AccountId(), new SendFilesRequest(chatId, body.ClientId, body.FileIds, body.Caption, body.ReplyToSeq), ct);
        });
        return app;
    }

    /// <summary>
    /// Runs an endpoint that reads a file's bytes from the raw request body, with no request size limit (the services
    /// count the bytes themselves and stop at the type's limit, up to 2 GB for video). Refused before the body was read
    /// to its end: over HTTP/1.1 the connection is closed rather than the rest of a large body drained (read and thrown
    /// away) to keep it alive.
    /// </summary>
    private static async Task<IResult> ReadingBodyAsync(HttpContext http, Func<Task<IResult>> endpoint)
    {
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
        {
            size.MaxRequestBodySize = null;
        }

        try
        {
            return await endpoint();
        }
        catch (ChatException) when (HttpProtocol.IsHttp11(http.Request.Protocol))
        {
            http.Response.Headers.Connection = "close";
            throw;
        }
    }

    /// <summary>
    /// Sends the bytes as an attachment, never to be shown inline: <c>Content-Disposition: attachment</c> with the name
    /// (ASCII fallback and the exact name in RFC 5987 <c>filename*</c>), <c>nosniff</c>, a sandboxing CSP, and range support.
    /// </summary>
    private static async Task<IResult> DownloadAsync(
        Guid reader, Guid fileId, bool thumbnail, HttpContext http, FileService s, CancellationToken ct, string cacheControl = "private, no-cache")
    {
        var (file, content) = await s.OpenAsync(reader, fileId, thumbnail, ct);
        var headers = http.Response.Headers;
        var name = thumbnail ? Path.GetFileNameWithoutExtension(file.Name) + ".jpg" : file.Name;
        headers.ContentDisposition = ContentDisposition(name);
        headers.XContentTypeOptions = "nosniff";
        headers.ContentSecurityPolicy = "default-src 'none'; sandbox";
        headers.CacheControl = cacheControl;
        var sha = thumbnail ? file.ThumbnailSha256! : file.Sha256;
        return Results.File(
            content,
            thumbnail ? "image/jpeg" : file.ContentType,
            lastModified: new DateTimeOffset(DateTime.SpecifyKind(file.CreatedAt, DateTimeKind.Utc)),
            entityTag: new EntityTagHeaderValue($"\"{FileKeys.Of(sha)}\""),
            enableRangeProcessing: true);
    }

    /// <summary><c>attachment; filename="ascii"; filename*=UTF-8''percent-encoded</c>: Cyrillic names arrive intact in every current browser.</summary>
    public static string ContentDisposition(string name)
    {
        var ascii = new string(name.Select(c => c is >= ' ' and <= '~' and not ('"' or '\\' or '%' or ';') ? c : '_').ToArray());
        return $"attachment; filename=\"{ascii}\"; filename*=UTF-8''{Uri.EscapeDataString(name)}";
    }

    public static IServiceCollection AddFiles(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddCheckedOptions<FilesOptions>(configuration, "Files", (o, p) =>
        {
            p.Require(!string.IsNullOrWhiteSpace(o.Root), nameof(o.Root), o.Root, "must name a folder");
            p.Positive(o.MaxImageBytes);
            p.Positive(o.MaxAudioBytes);
            p.Positive(o.MaxVideoBytes);
            p.Positive(o.MaxDocumentBytes);
            p.Positive(o.SchoolQuotaBytes);
            p.NotNegative(o.ReserveFreeBytes);
            p.Positive(o.ThumbnailSize);
            p.Positive(o.MaxFilesPerMessage);
            p.NotNegative(o.CleanupGraceSeconds);
            p.Positive(o.CleanupIntervalSeconds);
            p.Positive(o.UploadExpirySeconds);
            p.Positive(o.MaxOpenUploadsPerPerson);
        });
        services.AddSingleton<IFileStore>(sp =>
        {
            var root = sp.GetRequiredService<IOptions<FilesOptions>>().Value.Root;
            return new LocalFileStore(Path.Combine(sp.GetRequiredService<IHostEnvironment>().ContentRootPath, root));
        });
        services.AddSingleton(sp => new UploadSpool(
            Path.Combine(sp.GetRequiredService<IHostEnvironment>().ContentRootPath, sp.GetRequiredService<IOptions<FilesOptions>>().Value.Root)));
        services.AddSingleton<FileService>();
        services.AddSingleton<FileLinks>();
        services.AddSingleton<UploadService>();
        services.AddSingleton<FileCleanup>();
        services.AddHostedService(sp => sp.GetRequiredService<FileCleanup>());
        return services;
    }
}
