using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Chat.Hub.Features.Chats;
using Chat.Hub.Features.Messages;
using Chat.Hub.Features.Schools;
using Chat.Hub.Infrastructure;
using Chat.Storage.Files;
using Chat.Storage.Infrastructure;
using Chat.Storage.Messages;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Chat.Hub.Features.Files;

/// <summary>
/// File exchange: streaming uploads checked by content and size while they arrive, content-addressed storage, messages
/// with files, downloads only for members of a chat where a live message shows the file, the chat's materials and the
/// school's storage report.
/// </summary>
public sealed partial class FileService(
    FileRecordStore records,
    UploadRecordStore uploads,
    IFileStore store,
    SchoolAccess access,
    ChatService chatService,
    MessageService messageService,
    ChatDatabase database,
    IOptions<FilesOptions> options,
    ILogger<FileService> logger)
{
    public const int MaxNameLength = 255;
    public const int MaxCaption = MessageService.MaxTextLength;
    private const int BufferSize = 64 * 1024;

    /// <summary>
    /// Stores the body of an upload. The type is decided from the first bytes and must agree with the name's extension;
    /// the size is counted as the bytes arrive and the upload stops as soon as it passes the type's limit or the
    /// school's remaining quota. Nothing is visible until the whole file is checked and stored. The same upload id again
    /// (a retry) returns the stored file without reading the body. Returns the file and whether it is new.
    /// </summary>
    public async Task<(FileDto File, bool Created)> UploadAsync(Guid me, Guid schoolId, string? rawName, Guid? uploadId, HttpRequest request, CancellationToken ct)
    {
        await access.ActiveMemberAsync(schoolId, me, ct);
        if (uploadId is not { } upload || upload == Guid.Empty)
        {
            throw ChatException.Field("uploadId", "Передайте идентификатор загрузки (UUID): с ним загрузку можно безопасно повторить.");
        }

        return await StoreUploadAsync(me, schoolId, SafeName(rawName), upload, request.Body, request.ContentLength, ct);
    }

    /// <summary>
    /// What an upload must pass before any byte is read: an extension the server accepts, a declared size within the
    /// limit of the extension's kind and the school's remaining quota, and room in the store. Used by the one-request
    /// upload and when a resumable upload is created; <paramref name="alsoPromised"/> is room already promised to the
    /// school's other unfinished uploads, which must fit together with this one. The plan's quota left is what remains
    /// for this upload once those are kept.
    /// </summary>
    internal async Task<UploadPlan> PlanAsync(Guid schoolId, string name, long? declared, long alsoPromised, CancellationToken ct)
    {
        var extension = Path.GetExtension(name);
        var promised = FileTypes.ForName(name) ?? throw new ChatException(ChatError.FileTypeNotAllowed);
        var o = options.Value;
        var typeLimit = o.MaxBytesFor(promised.Kind);
        if (declared > typeLimit)
        {
            throw TooLarge(promised.Kind, typeLimit);
        }

        var quotaLeft = await EnsureRoomAsync(schoolId, (declared ?? 0) + alsoPromised, ct);
        return new UploadPlan(promised, extension, typeLimit, Math.Max(0, quotaLeft - alsoPromised));
    }

    /// <summary>
    /// Refuses when <paramref name="bytes"/> more would pass the school's quota or eat into the store's reserved free
    /// space; returns the quota left.
    /// </summary>
    private async Task<long> EnsureRoomAsync(Guid schoolId, long bytes, CancellationToken ct)
    {
        var o = options.Value;
        var quotaLeft = Math.Max(0, o.SchoolQuotaBytes - await records.UsageAsync(schoolId, ct));
        if (bytes > quotaLeft)
        {
            throw new ChatException(ChatError.StorageQuotaExceeded);
        }

        if (store.AvailableBytes() is { } free && bytes + o.ReserveFreeBytes > free)
        {
            LogStoreFull(logger, free);
            throw new ChatException(ChatError.StorageFull);
        }

        return quotaLeft;
    }

    /// <summary>
    /// The type the first bytes decide (see <see cref="FileTypes.Decide"/>) and the limit that applies to it; refuses a
    /// declared size over that limit. <paramref name="complete"/>: the head is the whole file.
    /// </summary>
    internal (FileType Type, long Limit) DecideType(ReadOnlySpan<byte> head, bool complete, UploadPlan plan, long? declared)
    {
        var type = FileTypes.Decide(head, complete, plan.Promised, plan.Extension);
        if (type.Kind == plan.Promised.Kind)
        {
            return (type, plan.TypeLimit);
        }

        // The content decided another kind than the extension's (an audio-only .webm): that kind's limit applies —
        // unless the file is larger than that kind allows but fits the extension's kind (a long lecture recorded as
        // audio-only WebM): then it stays what its extension says, as before.
        var contentLimit = options.Value.MaxBytesFor(type.Kind);
        if (declared > contentLimit && declared <= plan.TypeLimit)
        {
            return (plan.Promised, plan.TypeLimit);
        }

        return declared > contentLimit ? throw TooLarge(type.Kind, contentLimit) : (type, contentLimit);
    }

    /// <summary>
    /// Stores an upload's bytes read from <paramref name="body"/> (a request body, or the bytes a resumable upload
    /// collected), with every check: the type from the first bytes, the limits and the quota while reading, the whole
    /// file's content checks, probes and previews, deduplication by hash. The same upload id again returns the stored file.
    /// Once the last byte is read, <paramref name="ct"/> (the request's) no longer stops anything: checking, publishing
    /// and recording the file is the server's work, and a client giving up then must not leave it half done (an object
    /// renamed into place whose content row rolled back is never counted nor cleaned up); a retry with the same upload id
    /// finds the file. The room promised to the school's unfinished resumable uploads is kept (but this upload's own,
    /// when it is the completion of one): while reading, and again under the school's quota lock.
    /// </summary>
    internal async Task<(FileDto File, bool Created)> StoreUploadAsync(Guid me, Guid schoolId, string name, Guid upload, Stream body, long? declared, CancellationToken ct)
    {
        var existing = await records.FindByUploadAsync(me, upload, ct);
        if (existing is not null)
        {
            return existing.SchoolId == schoolId
                ? (FileDto.From(existing), false)
                : throw ChatException.Field("uploadId", "Этот идентификатор загрузки уже использован.");
        }

        var o = options.Value;
        var reserved = await uploads.OpenBytesAsync(schoolId, o.UploadExpiry, upload, me, ct);
        var plan = await PlanAsync(schoolId, name, declared, alsoPromised: reserved, ct);
        var extension = plan.Extension;
        var quotaLeft = plan.QuotaLeft;
        await using var staged = await StoreAsync(() => store.StageAsync(ct));
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var chunk = await ReadBodyAsync(() => body.ReadAtLeastAsync(buffer.AsMemory(0, FileTypes.HeadLength), FileTypes.HeadLength, throwOnEndOfStream: false, ct).AsTask());
            if (chunk == 0)
            {
                throw ChatException.Field("file", "Файл пустой.");
            }

            var (type, typeLimit) = DecideType(buffer.AsSpan(0, chunk), complete: chunk < FileTypes.HeadLength, plan, declared);

            var limit = Math.Min(typeLimit, quotaLeft);
            long total = 0;
            while (chunk > 0)
            {
                total += chunk;
                if (total > limit)
                {
                    // Stop reading at once: the rest of the body is never read, let alone stored.
                    throw total > typeLimit ? TooLarge(type.Kind, typeLimit) : new ChatException(ChatError.StorageQuotaExceeded);
                }

                hash.AppendData(buffer, 0, chunk);
                await StoreAsync(async () =>
                {
                    await staged.Stream.WriteAsync(buffer.AsMemory(0, chunk), ct);
                    return true;
                });
                chunk = await ReadBodyAsync(() => body.ReadAsync(buffer.AsMemory(0, BufferSize), ct).AsTask());
            }

            // Every byte is in: from here on the work is done whatever the client does (see the summary).
            var stored = CancellationToken.None;
            await StoreAsync(async () =>
            {
                await staged.Stream.FlushAsync(stored);
                return true;
            });

            var sha256 = hash.GetHashAndReset();
            FileTypes.Verify(staged.Stream, type, extension);
            var media = MediaProbe.Probe(staged.Stream, type.Family);
            var thumbnail = Thumbnailer.Make(staged.Stream, type.Family, media.Width, media.Height, o.ThumbnailSize);
            var (width, height) = thumbnail is { Turned: true } ? (media.Height, media.Width) : (media.Width, media.Height);
            var file = new NewFile(Guid.CreateVersion7(), schoolId, me, upload, sha256, name, type.Kind, type.ContentType, total, width, height,
                media.DurationMs, thumbnail is null ? null : SHA256.HashData(thumbnail.Jpeg));
            await using var stagedThumbnail = thumbnail is null ? null : await StageBytesAsync(thumbnail.Jpeg, stored);

            var inserted = await database.InTransactionAsync(async s =>
            {
                var (usage, counted) = await records.LockQuotaAsync(s, schoolId, sha256, stored);
                var promised = await uploads.OpenBytesAsync(s, schoolId, o.UploadExpiry, upload, me, stored);
                if (usage + (counted ? 0 : total) + (thumbnail?.Jpeg.Length ?? 0) + promised > o.SchoolQuotaBytes)
                {
                    throw new ChatException(ChatError.StorageQuotaExceeded);
                }

                await PublishAsync(s, staged, sha256, total, stored);
                if (stagedThumbnail is not null)
                {
                    await PublishAsync(s, stagedThumbnail, file.ThumbnailSha256!, thumbnail!.Jpeg.Length, stored);
                }

                return await records.InsertAsync(s, file, stored);
            }, stored);
            if (!inserted)
            {
                // A retry of the same upload finished first: that one is the file.
                var winner = await records.FindByUploadAsync(me, upload, stored) ?? throw new ChatException(ChatError.Conflict);
                return (FileDto.From(winner), false);
            }

            return (new FileDto(file.Id, name, type.Kind, type.ContentType, total, width, height, media.DurationMs, thumbnail is not null), true);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Sends a message with the sender's uploads; the same rules as any message (membership, channels, slow mode).</summary>
    public async Task<MessageDto> SendAsync(Guid me, SendFilesRequest request, CancellationToken ct)
    {
        await chatService.ActingRoleAsync(request.ChatId, me, ct); // who may act here, before anything is said about the input
        if (request.ClientId == Guid.Empty)
        {
            throw ChatException.Field("clientId", "Передайте идентификатор сообщения клиента (UUID).");
        }

        var ids = (request.FileIds ?? []).Distinct().ToArray();
        var max = options.Value.MaxFilesPerMessage;
        if (ids.Length == 0 || ids.Length > max || ids.Length != (request.FileIds ?? []).Length)
        {
            throw ChatException.Field("fileIds", $"Приложите от 1 до {max} разных файлов.");
        }

        var caption = Text.Optional(request.Caption, "caption", MaxCaption) ?? "";
        var message = await messageService.AppendAsync(
            new NewMessage(request.ChatId, me, request.ClientId, "files", caption, request.ReplyToSeq, null, []),
            async (s, seq) =>
            {
                int linked;
                try
                {
                    linked = await records.AttachAsync(s, request.ChatId, seq, me, ids, ct);
                }
                catch (PostgresException e) when (s.MarkFailed() || e.SqlState == PostgresErrorCodes.ForeignKeyViolation)
                {
                    linked = -1; // the cleanup removed an old unattached upload at this very moment
                }

                if (linked != ids.Length)
                {
                    throw new ChatException(ChatError.FileNotFound);
                }
            },
            ct);
        return message.Kind == "files"
            ? message
            : throw ChatException.Field("clientId", "Этот идентификатор уже использован для другого сообщения.");
    }

    /// <summary>
    /// The file and its bytes (or its preview), if the caller may read it now; "file not found" otherwise, the same as for
    /// an id that does not exist. Checked against the database on every request.
    /// </summary>
    /// <summary>Throws file_not_found unless <paramref name="me"/> may read the file (FileRecordStore.GetForReaderAsync).</summary>
    public async Task RequireReaderAsync(Guid me, Guid fileId, CancellationToken ct)
    {
        _ = await records.GetForReaderAsync(fileId, me, ct) ?? throw new ChatException(ChatError.FileNotFound);
    }

    public async Task<(FileRow File, Stream Content)> OpenAsync(Guid me, Guid fileId, bool thumbnail, CancellationToken ct)
    {
        var file = await records.GetForReaderAsync(fileId, me, ct) ?? throw new ChatException(ChatError.FileNotFound);
        var sha = thumbnail ? file.ThumbnailSha256 : file.Sha256;
        if (sha is null)
        {
            throw new ChatException(ChatError.FileNotFound);
        }

        var content = await StoreAsync(() => store.OpenReadAsync(FileKeys.Of(sha), ct));
        if (content is null)
        {
            LogObjectMissing(logger, fileId);
            throw new ChatException(ChatError.FileNotFound);
        }

        return (file, content);
    }

    /// <summary>The chat's materials: files of its live messages, newest first, optionally of one kind; paged by message seq.</summary>
    public async Task<IReadOnlyList<ChatFileDto>> ChatFilesAsync(Guid me, Guid chatId, string? kind, long? beforeSeq, int? limit, CancellationToken ct)
    {
        await chatService.RoleAsync(chatId, me, ct);
        if (kind is not null && !FileTypes.Kinds.Contains(kind))
        {
            throw ChatException.Field("kind", "Тип материалов: image, audio, video или document.");
        }

        var rows = await records.ChatFilesAsync(chatId, kind, beforeSeq, Math.Clamp(limit ?? 50, 1, 100), ct);
        return rows.Select(r => new ChatFileDto(r.Seq, r.SenderId, r.SenderId is null ? null : r.SenderName ?? "Удалённый пользователь", r.PostedAt, FileDto.From(r.File))).ToList();
    }

    /// <summary>The school's storage use, for its admins.</summary>
    public async Task<StorageDto> StorageAsync(Guid me, Guid schoolId, CancellationToken ct)
    {
        await access.AdminAsync(schoolId, me, ct);
        var o = options.Value;
        var byKind = await records.UsageByKindAsync(schoolId, ct);
        return new StorageDto(
            await records.UsageAsync(schoolId, ct),
            o.SchoolQuotaBytes,
            byKind.Select(k => new StorageKindDto(k.Kind, k.Bytes, k.Files)).ToList(),
            FileTypes.Kinds.ToDictionary(k => k, o.MaxBytesFor));
    }

    /// <summary>
    /// A name safe to store and to send back in Content-Disposition: the last path segment, without control characters
    /// or characters that are special in file systems, at most 255 characters with the extension kept.
    /// </summary>
    public static string SafeName(string? raw)
    {
        var name = (raw ?? "").Replace('\\', '/');
        name = name[(name.LastIndexOf('/') + 1)..].Normalize(NormalizationForm.FormC);
        var cleaned = new StringBuilder(name.Length);
        foreach (var rune in name.EnumerateRunes())
        {
            // A lone surrogate comes out as U+FFFD: the name stays valid UTF-16.
            var special = Rune.IsControl(rune) || rune.Value is '<' or '>' or ':' or '"' or '|' or '?' or '*'
                || Rune.GetUnicodeCategory(rune) is System.Globalization.UnicodeCategory.Format;
            cleaned.Append(special ? "_" : rune.ToString());
        }

        var result = cleaned.ToString().Trim().Trim('.').Trim();
        if (result.Length == 0)
        {
            throw ChatException.Field("name", "Укажите имя файла с расширением, например «Задание.pdf».");
        }

        if (result.Length > MaxNameLength)
        {
            // An extension this long is no file type's: it is cut with the rest, and the name is refused by its type.
            var extension = Path.GetExtension(result);
            extension = extension.Length <= 16 ? extension : "";
            result = Text.Cut(result[..^extension.Length], MaxNameLength - extension.Length) + extension;
        }

        return result;
    }

    internal static ChatException TooLarge(string kind, long limit)
    {
        var what = kind switch
        {
            FileTypes.Image => "Фото",
            FileTypes.Audio => "Аудиофайл",
            FileTypes.Video => "Видео",
            _ => "Документ",
        };
        return new ChatException(ChatError.FileTooLarge, detail: $"{what} — не больше {FormatSize(limit)}.");
    }

    public static string FormatSize(long bytes) => bytes switch
    {
        >= 1L << 30 when bytes % (1L << 30) == 0 => $"{bytes >> 30} ГБ",
        >= 1L << 20 => $"{Math.Round(bytes / 1048576.0, 1)} МБ",
        >= 1L << 10 => $"{Math.Round(bytes / 1024.0, 1)} КБ",
        _ => $"{bytes} Б",
    };

    /// <summary>Makes sure the content's object is in the store, under the content row's lock (see <see cref="FileRecordStore.LockBlobAsync"/>).</summary>
    private async Task PublishAsync(DbScope s, IStagedObject staged, byte[] sha256, long size, CancellationToken ct)
    {
        await records.LockBlobAsync(s, sha256, size, ct);
        var key = FileKeys.Of(sha256);
        await StoreAsync(async () =>
        {
            if (!await store.ExistsAsync(key, ct))
            {
                await store.PublishAsync(staged, key, ct);
            }

            return true;
        });
    }

    private async Task<IStagedObject> StageBytesAsync(byte[] bytes, CancellationToken ct)
    {
        var staged = await StoreAsync(() => store.StageAsync(ct));
        try
        {
            await StoreAsync(async () =>
            {
                await staged.Stream.WriteAsync(bytes, ct);
                await staged.Stream.FlushAsync(ct);
                return true;
            });
            return staged;
        }
        catch
        {
            await staged.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs a file store operation; running out of space is storage_full (507), other store failures storage_unavailable (503).</summary>
    internal async Task<T> StoreAsync<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (IOException e) when (StorageErrors.IsFull(e))
        {
            LogStoreError(logger, e);
            throw new ChatException(ChatError.StorageFull);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogStoreError(logger, e);
            throw new ChatException(ChatError.StorageUnavailable);
        }
    }

    /// <summary>Reads the request body; a client that goes away mid-upload is a bad request, not a server error.</summary>
    private static async Task<int> ReadBodyAsync(Func<Task<int>> read)
    {
        try
        {
            return await read();
        }
        catch (BadHttpRequestException)
        {
            throw;
        }
        catch (IOException)
        {
            throw new ChatException(ChatError.BadRequest, detail: "Загрузка прервалась. Повторите её с тем же идентификатором загрузки.");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "File store operation failed")]
    private static partial void LogStoreError(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "File store has {FreeBytes} bytes free: refusing uploads")]
    private static partial void LogStoreFull(ILogger logger, long freeBytes);

    [LoggerMessage(Level = LogLevel.Error, Message = "File {FileId} is in the database but its object is missing from the store")]
    private static partial void LogObjectMissing(ILogger logger, Guid fileId);
}
