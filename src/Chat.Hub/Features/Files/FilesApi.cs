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
    public static IEndpointRouteBuilder MapFilesApi(this IEndpointRouteBuilder app)
    {
        var school = app.MapGroup("/api/schools/{schoolId:guid}").WithTags("Files").RequireAuthorization();

        // The raw body is the file; ?name= gives its name (the extension must fit the content), ?uploadId= makes retries safe.
        school.MapPost("/files", async (Guid schoolId, string? name, Guid? uploadId, HttpContext http, FileService s, CancellationToken ct) =>
        {
            // The service counts the bytes itself and stops at the type's limit (up to 2 GB for video).
            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            {
                size.MaxRequestBodySize = null;
            }

            try
            {
                var (file, created) = await s.UploadAsync(http.User.AccountId(), schoolId, name, uploadId, http.Request, ct);
                return created ? Results.Created($"/api/files/{file.Id}", file) : Results.Ok(file);
            }
            catch (ChatException) when (HttpProtocol.IsHttp11(http.Request.Protocol))
            {
                // Refused before the body was read to its end: close the connection rather than let the server drain
                // (read and throw away) the rest of a large body to keep the connection alive.
                http.Response.Headers.Connection = "close";
                throw;
            }
        });
        school.MapGet("/storage", (Guid schoolId, ClaimsPrincipal user, FileService s, CancellationToken ct) => s.StorageAsync(user.AccountId(), schoolId, ct));

        var files = app.MapGroup("/api/files").WithTags("Files").RequireAuthorization();
        files.MapGet("/{fileId:guid}", (Guid fileId, HttpContext http, FileService s, CancellationToken ct) => DownloadAsync(fileId, thumbnail: false, http, s, ct));
        files.MapGet("/{fileId:guid}/thumbnail", (Guid fileId, HttpContext http, FileService s, CancellationToken ct) => DownloadAsync(fileId, thumbnail: true, http, s, ct));

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
    /// Sends the bytes as an attachment, never to be shown inline: <c>Content-Disposition: attachment</c> with the name
    /// (ASCII fallback and the exact name in RFC 5987 <c>filename*</c>), <c>nosniff</c>, a sandboxing CSP, and range support.
    /// </summary>
    private static async Task<IResult> DownloadAsync(Guid fileId, bool thumbnail, HttpContext http, FileService s, CancellationToken ct)
    {
        var (file, content) = await s.OpenAsync(http.User.AccountId(), fileId, thumbnail, ct);
        var headers = http.Response.Headers;
        var name = thumbnail ? Path.GetFileNameWithoutExtension(file.Name) + ".jpg" : file.Name;
        headers.ContentDisposition = ContentDisposition(name);
        headers.XContentTypeOptions = "nosniff";
        headers.ContentSecurityPolicy = "default-src 'none'; sandbox";
        headers.CacheControl = "private, no-cache";
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
        services.Configure<FilesOptions>(configuration.GetSection("Files"));
        services.AddSingleton<IFileStore>(sp =>
        {
            var root = sp.GetRequiredService<IOptions<FilesOptions>>().Value.Root;
            return new LocalFileStore(Path.Combine(sp.GetRequiredService<IHostEnvironment>().ContentRootPath, root));
        });
        services.AddSingleton<FileService>();
        services.AddSingleton<FileCleanup>();
        services.AddHostedService(sp => sp.GetRequiredService<FileCleanup>());
        return services;
    }
}
