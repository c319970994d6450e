namespace Chat.Hub.Features.Files;

/// <summary>File exchange settings (section <c>Files</c>).</summary>
public sealed class FilesOptions
{
    /// <summary>The folder of the local file store (relative paths are under the app's content root). Several nodes must share it.</summary>
    public string Root { get; set; } = ".data/files";

    public long MaxImageBytes { get; set; } = 20L * 1024 * 1024;

    public long MaxAudioBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>Large enough for a lesson recording.</summary>
    public long MaxVideoBytes { get; set; } = 2L * 1024 * 1024 * 1024;

    public long MaxDocumentBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>What one school may store in all (each distinct content counted once).</summary>
    public long SchoolQuotaBytes { get; set; } = 50L * 1024 * 1024 * 1024;

    /// <summary>Free space the store keeps: an upload that would leave less is refused at once with storage_full.</summary>
    public long ReserveFreeBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Longest side of photo previews, in pixels.</summary>
    public int ThumbnailSize { get; set; } = 320;

    public int MaxFilesPerMessage { get; set; } = 10;

    /// <summary>An upload no live message shows is removed once it is older than this (time to attach it after uploading).</summary>
    public int CleanupGraceSeconds { get; set; } = 24 * 3600;

    /// <summary>How often every node runs the cleanup.</summary>
    public int CleanupIntervalSeconds { get; set; } = 3600;

    /// <summary>A resumable upload nobody continued for this long is removed, with the bytes it has (by the cleanup).</summary>
    public int UploadExpirySeconds { get; set; } = 24 * 3600;

    public TimeSpan UploadExpiry => TimeSpan.FromSeconds(Math.Max(0, UploadExpirySeconds));

    /// <summary>Resumable uploads one person may have unfinished at once.</summary>
    public int MaxOpenUploadsPerPerson { get; set; } = 20;

    public long MaxBytesFor(string kind) => kind switch
    {
        FileTypes.Image => MaxImageBytes,
        FileTypes.Audio => MaxAudioBytes,
        FileTypes.Video => MaxVideoBytes,
        _ => MaxDocumentBytes,
    };
}
