namespace Chat.Storage.Files;

/// <summary>
/// The bytes of resumable uploads received so far, one file per upload under the local store's staging folder
/// (<c>root/.staging/uploads/&lt;id&gt;.part</c>: nobody can read it, and on the same file system as the objects). A
/// file's length is the upload's offset. A chunk writes with the file opened exclusively, so two requests for the same
/// upload (a retry racing the original, on any node sharing the folder) never interleave bytes.
/// </summary>
public sealed class UploadSpool(string storeRoot)
{
    private const int SharingViolation = unchecked((int)0x80070020); // Windows

    // On Unix FileShare.None is an flock(LOCK_EX | LOCK_NB); a held lock fails with EWOULDBLOCK, raised with the raw errno.
    private const int EWouldBlockLinux = 11;
    private const int EWouldBlockMac = 35;

    private readonly string folder = Path.Combine(Path.GetFullPath(storeRoot), ".staging", "uploads");

    public void Create(Guid id)
    {
        try
        {
            Directory.CreateDirectory(folder);
            using var _ = new FileStream(PathOf(id), FileMode.CreateNew, FileAccess.Write, FileShare.None);
        }
        catch (IOException e)
        {
            throw LocalFileStore.Translate(e);
        }
    }

    /// <summary>How many bytes the upload has, or null when its file is gone.</summary>
    public long? Length(Guid id)
    {
        var info = new FileInfo(PathOf(id));
        return info.Exists ? info.Length : null;
    }

    /// <summary>The upload's file for appending and reading; null when it is gone; <see cref="UploadBusyException"/> while another request writes it.</summary>
    public FileStream? OpenExclusive(Guid id)
    {
        try
        {
            // Unbuffered: every piece of a chunk is in the file (and counted in its length) as soon as it is written.
            return new FileStream(PathOf(id), FileMode.Open, FileAccess.ReadWrite, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        catch (IOException e) when (e.HResult is SharingViolation or EWouldBlockLinux or EWouldBlockMac)
        {
            throw new UploadBusyException(e);
        }
    }

    /// <summary>Removes the upload's bytes; no error when they are gone.</summary>
    public void Delete(Guid id)
    {
        try
        {
            File.Delete(PathOf(id));
        }
        catch (IOException)
        {
            // In use: the cleanup's sweep removes it later.
        }
    }

    /// <summary>Upload files untouched for <paramref name="age"/>, by upload id (the cleanup removes those without a row).</summary>
    public IReadOnlyList<Guid> Stale(TimeSpan age)
    {
        if (!Directory.Exists(folder))
        {
            return [];
        }

        return new DirectoryInfo(folder).EnumerateFiles("*.part")
            .Where(f => f.LastWriteTimeUtc < DateTime.UtcNow - age)
            .Select(f => Guid.TryParseExact(Path.GetFileNameWithoutExtension(f.Name), "N", out var id) ? id : Guid.Empty)
            .Where(id => id != Guid.Empty)
            .ToList();
    }

    private string PathOf(Guid id) => Path.Combine(folder, id.ToString("N") + ".part");
}

/// <summary>Another request is writing the same upload right now.</summary>
public sealed class UploadBusyException(Exception inner) : IOException("The upload is being written by another request.", inner);
