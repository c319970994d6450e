using System.Buffers;
using Chat.Hub.Features.Schools;
using Chat.Hub.Infrastructure;
using Chat.Storage.Files;
using Microsoft.Extensions.Options;

namespace Chat.Hub.Features.Files;

/// <summary>What a chunk did: the upload as it is now, or (when the chunk's offset was not the server's) the offset to resume from.</summary>
public sealed record ChunkResult(UploadDto? Upload, long Offset);

/// <summary>
/// Resumable uploads (docs/files-and-polls.md): a file declared with its name and size, sent in chunks, each appended at
/// the offset the server has; a dropped chunk keeps the bytes that arrived and the client continues from there. When the
/// last byte arrives the collected bytes go through exactly the one-request upload's checks and storing
/// (<see cref="FileService.StoreUploadAsync"/>), under the upload's id, so the result is the same <see cref="FileDto"/>.
/// Only the uploader, in the upload's school, can see or continue an upload; everyone else gets <c>upload_not_found</c>.
/// </summary>
public sealed class UploadService(
    FileService files,
    FileRecordStore records,
    UploadRecordStore uploads,
    UploadSpool spool,
    SchoolAccess access,
    IOptions<FilesOptions> options)
{
    private const int BufferSize = 64 * 1024;

    private TimeSpan Expiry => options.Value.UploadExpiry;

    /// <summary>
    /// Starts an upload; refused at once (as the one-request upload would) when the name's kind or the school's quota
    /// cannot take the size. Under a client's <see cref="StartUploadBody.UploadId"/> declared before by the same person
    /// (the first answer was lost), returns that upload as it is now — not a second one promised the same room — with
    /// <c>Created</c> false. Returns the upload and whether it is new.
    /// </summary>
    public async Task<(UploadDto Upload, bool Created)> StartAsync(Guid me, Guid schoolId, StartUploadBody body, CancellationToken ct)
    {
        await access.ActiveMemberAsync(schoolId, me, ct);
        var name = FileService.SafeName(body.Name);
        if (body.Size is not > 0)
        {
            throw ChatException.Field("size", "Укажите размер файла в байтах (больше нуля).");
        }

        if (body.UploadId == Guid.Empty)
        {
            throw ChatException.Field("uploadId", "Идентификатор загрузки должен быть UUID, не нулевым.");
        }

        var size = body.Size.Value;
        if (body.UploadId is { } chosen && await DeclaredAsync(me, schoolId, chosen, name, size, ct) is { } again)
        {
            return (again, false);
        }

        // The school's other unfinished uploads are promised room too: together they must fit the quota and the disk.
        await files.PlanAsync(schoolId, name, size, alsoPromised: await uploads.OpenBytesAsync(schoolId, Expiry, ct), ct);
        if (await uploads.OpenCountAsync(me, ct) >= options.Value.MaxOpenUploadsPerPerson)
        {
            throw new ChatException(ChatError.TooManyUploads);
        }

        var row = new UploadRow(body.UploadId ?? Guid.CreateVersion7(), schoolId, me, name, size, DateTime.UtcNow, DateTime.UtcNow);
        if (!await uploads.InsertAsync(row, ct))
        {
            // The same id declared at the same moment (a repeat racing the first): the upload that got in.
            return (await DeclaredAsync(me, schoolId, row.Id, name, size, ct) ?? throw UploadIdTaken(), false);
        }

        try
        {
            await files.StoreAsync(() =>
            {
                spool.Create(row.Id);
                return Task.FromResult(true);
            });
        }
        catch
        {
            await uploads.DeleteAsync(row.Id, CancellationToken.None);
            throw;
        }

        return (Dto(row, 0, null), true);
    }

    /// <summary>
    /// The upload declared before under the client's id <paramref name="id"/>, as it is now, when it is this person's
    /// upload of this file in this school (a repeated declaration); null when the id is free. An id that is someone
    /// else's upload, another school's or another file's — or the id of one of this person's one-request uploads, which
    /// the completion would take for this file — is refused, and that upload is left as it is.
    /// </summary>
    private async Task<UploadDto?> DeclaredAsync(Guid me, Guid schoolId, Guid id, string name, long size, CancellationToken ct)
    {
        var row = await uploads.FindAsync(id, ct);
        var file = await records.FindByUploadAsync(me, id, ct);
        if (row is null)
        {
            return file is null ? null : throw UploadIdTaken();
        }

        if (row.UploaderId != me || row.SchoolId != schoolId || row.Name != name || row.Size != size)
        {
            throw UploadIdTaken();
        }

        if (file is not null)
        {
            return Dto(row, row.Size, FileDto.From(file));
        }

        // Expired (not removed yet): gone, as for every other call about it.
        return DateTime.SpecifyKind(row.TouchedAt, DateTimeKind.Utc) + Expiry < DateTime.UtcNow
            ? throw new ChatException(ChatError.UploadNotFound)
            : Dto(row, spool.Length(id) ?? 0, null); // no bytes file yet: the first declaration is still creating it
    }

    private static ChatException UploadIdTaken() => ChatException.Field("uploadId", "Этот идентификатор загрузки уже использован.");

    /// <summary>How far the upload got (and its file once complete).</summary>
    public async Task<UploadDto> GetAsync(Guid me, Guid schoolId, Guid uploadId, CancellationToken ct)
    {
        var row = await FindAsync(me, schoolId, uploadId, ct);
        if (await records.FindByUploadAsync(me, uploadId, ct) is { } done)
        {
            return Dto(row, row.Size, FileDto.From(done));
        }

        return Dto(row, spool.Length(uploadId) ?? throw new ChatException(ChatError.UploadNotFound), null);
    }

    /// <summary>
    /// Appends the request body at <paramref name="offset"/>, which must be the bytes the server has (otherwise nothing
    /// is read and the result carries the server's offset). The first bytes are checked for the type at once; the last
    /// byte completes the upload. A refused upload (type, limit) is removed; one the school's quota refuses is kept, to
    /// complete once room is made.
    /// </summary>
    public async Task<ChunkResult> AppendAsync(Guid me, Guid schoolId, Guid uploadId, long? offset, HttpRequest request, CancellationToken ct)
    {
        var row = await FindAsync(me, schoolId, uploadId, ct);
        if (offset is not >= 0)
        {
            throw ChatException.Field("offset", "Укажите смещение части (offset): сколько байт файла сервер уже получил.");
        }

        if (await records.FindByUploadAsync(me, uploadId, ct) is { } done)
        {
            // The last chunk's answer was lost: the upload is the file.
            return new ChunkResult(Dto(row, row.Size, FileDto.From(done)), row.Size);
        }

        if (!await uploads.TouchAsync(uploadId, ct))
        {
            throw new ChatException(ChatError.UploadNotFound);
        }

        row = row with { TouchedAt = DateTime.UtcNow };

        FileStream? stream;
        try
        {
            stream = spool.OpenExclusive(uploadId);
        }
        catch (UploadBusyException)
        {
            throw new ChatException(ChatError.UploadBusy);
        }

        if (stream is null)
        {
            // A completion that ran while this request waited removed the bytes: the upload is the file.
            return await records.FindByUploadAsync(me, uploadId, ct) is { } completed
                ? new ChunkResult(Dto(row, row.Size, FileDto.From(completed)), row.Size)
                : throw new ChatException(ChatError.UploadNotFound);
        }

        var remove = false;
        try
        {
            var start = stream.Length;
            if (offset != start)
            {
                return new ChunkResult(null, start);
            }

            if (start + request.ContentLength > row.Size)
            {
                throw new ChatException(ChatError.UploadTooLong);
            }

            var length = await AppendBodyAsync(stream, request.Body, row.Size, ct);

            // Once the last byte is in, completing the upload (copying, hashing, checking, fsyncing and recording the
            // whole file: minutes for a large one on a slow disk) is the server's work, not the request's: the client
            // giving up waiting and asking again must not cancel it halfway (its retry would start it over, for ever).
            // It runs to its end while this request holds the bytes file exclusively — a request arriving meanwhile gets
            // upload_busy, one after it the file (StoreUploadAsync finds it by the upload id) — and GET shows the file.
            var work = length == row.Size ? CancellationToken.None : ct;
            try
            {
                await CheckHeadAsync(stream, row, length, work);
                if (length < row.Size)
                {
                    return new ChunkResult(Dto(row, length, null), length);
                }

                stream.Position = 0;
                var (file, _) = await files.StoreUploadAsync(me, schoolId, row.Name, uploadId, stream, row.Size, work);
                await stream.DisposeAsync();
                spool.Delete(uploadId);
                return new ChunkResult(Dto(row, row.Size, file), row.Size);
            }
            catch (ChatException e) when (e.Error.Status < 500 && e.Error != ChatError.StorageQuotaExceeded)
            {
                // Refused by content or limit: it can never complete, so it goes now. Refused by the school's quota (as
                // by a full store) it is kept: it completes once room is made, from the bytes it has.
                remove = true;
                throw;
            }
        }
        finally
        {
            await stream.DisposeAsync();
            if (remove)
            {
                spool.Delete(uploadId);
                await uploads.DeleteAsync(uploadId, CancellationToken.None);
            }
        }
    }

    /// <summary>Cancels the upload: its row and its bytes go (a completed upload's file stays, as any unposted upload).</summary>
    public async Task DeleteAsync(Guid me, Guid schoolId, Guid uploadId, CancellationToken ct)
    {
        await FindAsync(me, schoolId, uploadId, ct);
        await uploads.DeleteAsync(uploadId, ct);
        spool.Delete(uploadId);
    }

    /// <summary>Removes uploads nobody continued in time, and upload files without an upload (a crash between the two); returns how many uploads went.</summary>
    public async Task<int> RemoveExpiredAsync(int batch, CancellationToken ct)
    {
        var expired = await uploads.DeleteExpiredAsync(Expiry, batch, ct);
        foreach (var id in expired)
        {
            spool.Delete(id);
        }

        var stale = spool.Stale(Expiry).ToArray();
        if (stale.Length > 0)
        {
            var alive = (await uploads.ExistingAsync(stale, ct)).ToHashSet();
            foreach (var id in stale.Where(id => !alive.Contains(id)))
            {
                spool.Delete(id);
            }
        }

        return expired.Count;
    }

    private async Task<UploadRow> FindAsync(Guid me, Guid schoolId, Guid uploadId, CancellationToken ct)
    {
        await access.ActiveMemberAsync(schoolId, me, ct);
        return await uploads.GetAsync(uploadId, me, schoolId, Expiry, ct) ?? throw new ChatException(ChatError.UploadNotFound);
    }

    /// <summary>
    /// Writes the body at the end of the upload's bytes and returns the new length. Whatever arrived before the client
    /// went away stays (the next chunk continues after it); a body that passes the declared size is refused and its
    /// bytes taken back.
    /// </summary>
    private async Task<long> AppendBodyAsync(FileStream stream, Stream body, long size, CancellationToken ct)
    {
        var start = stream.Length;
        stream.Position = start;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                int read;
                try
                {
                    read = await body.ReadAsync(buffer.AsMemory(0, BufferSize), ct);
                }
                catch (Exception e) when (e is IOException or BadHttpRequestException or OperationCanceledException)
                {
                    throw new ChatException(ChatError.BadRequest, detail: "Часть файла пришла не целиком. Узнайте, сколько получено, и продолжите с этого места.");
                }

                if (read == 0)
                {
                    return stream.Length;
                }

                if (stream.Length + read > size)
                {
                    stream.SetLength(start);
                    throw new ChatException(ChatError.UploadTooLong);
                }

                await files.StoreAsync(async () =>
                {
                    await stream.WriteAsync(buffer.AsMemory(0, read), CancellationToken.None);
                    return true;
                });
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            await files.StoreAsync(async () =>
            {
                await stream.FlushAsync(CancellationToken.None);
                return true;
            });
        }
    }

    /// <summary>
    /// Once the first bytes are in (the head, or the whole of a small file), the type is decided, as the one-request upload
    /// does at its start, and the school's quota checked again. After every chunk, not only the one that brought the
    /// head: a chunk cut off on its way keeps its bytes without this check, and the next one must not skip it. The quota
    /// is checked for the upload together with the room promised to the school's other unfinished uploads (its own
    /// promise is the room it is checked for, not more of it taken).
    /// </summary>
    private async Task CheckHeadAsync(FileStream stream, UploadRow row, long length, CancellationToken ct)
    {
        if (length < FileTypes.HeadLength && length < row.Size)
        {
            return;
        }

        var head = new byte[(int)Math.Min(FileTypes.HeadLength, length)];
        stream.Position = 0;
        await stream.ReadExactlyAsync(head, ct);
        var others = await uploads.OpenBytesAsync(row.SchoolId, Expiry, row.Id, row.UploaderId, ct);
        var plan = await files.PlanAsync(row.SchoolId, row.Name, row.Size, alsoPromised: others, ct);
        files.DecideType(head, complete: head.Length == row.Size, plan, row.Size);
    }

    private UploadDto Dto(UploadRow row, long offset, FileDto? file) =>
        new(row.Id, row.Name, row.Size, offset, DateTime.SpecifyKind(row.TouchedAt, DateTimeKind.Utc) + Expiry, file);
}
