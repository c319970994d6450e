namespace Chat.Storage.Files;

/// <summary>
/// Where the bytes of uploaded files live, content addressed: an object's key is the lowercase hex SHA-256 of its bytes,
/// so identical files are stored once. The database says who may read what; the store only keeps bytes.
/// <para>
/// The contract, which an S3-compatible store would keep too (see docs/files-and-polls.md):
/// a write goes to a <see cref="IStagedObject"/> that nobody can read (a local temp file; for S3 also a local spool,
/// sent with a multipart upload on publish); <see cref="PublishAsync"/> makes it visible under its key all at once
/// (rename; S3: complete the upload), so no half-written object is ever readable; reading returns a seekable stream
/// (S3: ranged GETs) so that HTTP range requests work.
/// </para>
/// </summary>
public interface IFileStore
{
    /// <summary>A private object to write to; disposing it without publishing removes it.</summary>
    Task<IStagedObject> StageAsync(CancellationToken ct);

    /// <summary>Makes the staged bytes visible under <paramref name="key"/>; when the key exists already (same content) the staged copy is dropped.</summary>
    Task PublishAsync(IStagedObject staged, string key, CancellationToken ct);

    Task<bool> ExistsAsync(string key, CancellationToken ct);

    /// <summary>A readable, seekable stream of the object, or null when there is no such object.</summary>
    Task<Stream?> OpenReadAsync(string key, CancellationToken ct);

    /// <summary>Removes the object; no error when it is already gone.</summary>
    Task DeleteAsync(string key, CancellationToken ct);

    /// <summary>Bytes still free for new objects, or null when the store cannot tell (or has no practical limit).</summary>
    long? AvailableBytes();

    /// <summary>Removes staged objects older than <paramref name="age"/> left behind by a crash; returns how many.</summary>
    Task<int> SweepStagedAsync(TimeSpan age, CancellationToken ct);
}

/// <summary>Bytes being written; readable and seekable too, so the server can check the whole content before publishing it.</summary>
public interface IStagedObject : IAsyncDisposable
{
    Stream Stream { get; }
}

/// <summary>The store ran out of space (disk full, quota of the file system).</summary>
public sealed class StorageFullException(string message, Exception inner) : IOException(message, inner);

public static class StorageErrors
{
    private const int Enospc = 28;
    private const int Edquot = 122;
    private const int WindowsDiskFull = unchecked((int)0x80070070);
    private const int WindowsHandleDiskFull = unchecked((int)0x80070027);

    /// <summary>Whether an I/O error means "no space left" (ENOSPC, EDQUOT, or their Windows codes).</summary>
    public static bool IsFull(IOException e) =>
        e is StorageFullException || e.HResult is Enospc or Edquot or WindowsDiskFull or WindowsHandleDiskFull;
}

public static class FileKeys
{
    public static string Of(byte[] sha256) => Convert.ToHexStringLower(sha256);

    public static bool IsValid(string key) => key.Length == 64 && key.All(char.IsAsciiHexDigitLower);
}
