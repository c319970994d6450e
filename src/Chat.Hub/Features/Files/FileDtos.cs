using Chat.Storage.Files;

namespace Chat.Hub.Features.Files;

/// <summary>
/// An uploaded file as readers see it. <c>kind</c>: image | audio | video | document. Width and height for photos,
/// duration for audio and video, where the server could read them. Fetch the bytes with <c>GET /api/files/{id}</c>
/// and the preview with <c>GET /api/files/{id}/thumbnail</c> when <c>hasThumbnail</c>.
/// </summary>
public sealed record FileDto(
    Guid Id,
    string Name,
    string Kind,
    string ContentType,
    long Size,
    int? Width,
    int? Height,
    long? DurationMs,
    bool HasThumbnail)
{
    public static FileDto From(FileRow f) =>
        new(f.Id, f.Name, f.Kind, f.ContentType, f.Size, f.Width, f.Height, f.DurationMs, f.ThumbnailSha256 is not null);
}

/// <summary>A file in a chat's materials: the message (<c>seq</c>) that shows it, who posted it and when.</summary>
public sealed record ChatFileDto(long Seq, Guid? SenderId, string? SenderName, DateTime PostedAt, FileDto File);

/// <summary>A message with files: 1–10 of the sender's own uploads of the chat's school, in order, and an optional caption.</summary>
public sealed record SendFilesRequest(Guid ChatId, Guid ClientId, Guid[]? FileIds, string? Caption = null, long? ReplyToSeq = null);

public sealed record SendFilesBody(Guid ClientId, Guid[]? FileIds, string? Caption = null, long? ReplyToSeq = null);

/// <summary>The school's file storage, for its admins: bytes used (each content once) of the quota, by kind, and the upload limits.</summary>
public sealed record StorageDto(long UsedBytes, long QuotaBytes, IReadOnlyList<StorageKindDto> ByKind, IReadOnlyDictionary<string, long> MaxFileBytes);

public sealed record StorageKindDto(string Kind, long Bytes, int Files);

/// <summary>What the name and the declared size allow an upload, before its bytes are seen.</summary>
internal sealed record UploadPlan(FileType Promised, string Extension, long TypeLimit, long QuotaLeft);

/// <summary>
/// A new resumable upload: the file's name and its exact size in bytes; <c>uploadId</c> (optional, chosen by the client)
/// makes the declaration safe to repeat: the same uploader declaring the same id again gets the upload stored the first
/// time. Without it the server chooses the id.
/// </summary>
public sealed record StartUploadBody(string? Name, long? Size, Guid? UploadId = null);

/// <summary>
/// A resumable upload as its uploader sees it: <c>offset</c> is how many bytes the server has (send the next chunk
/// from there); <c>file</c> is set once the last byte arrived and the file passed every check.
/// </summary>
public sealed record UploadDto(Guid UploadId, string Name, long Size, long Offset, DateTime ExpiresAt, FileDto? File);
