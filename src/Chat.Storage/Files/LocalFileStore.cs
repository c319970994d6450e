namespace Chat.Storage.Files;

/// <summary>
/// The file store on a local (or shared network) disk: objects under <c>root/ab/cd/&lt;key&gt;</c>, staged files under
/// <c>root/.staging</c> on the same file system, so publishing is an atomic rename. Keys are checked to be hex digests,
/// so no name from outside ever becomes part of a path. Several nodes need the same folder (a shared mount).
/// </summary>
public sealed class LocalFileStore : IFileStore
{
    private readonly string root;
    private readonly string staging;

    public LocalFileStore(string root)
    {
        this.root = Path.GetFullPath(root);
        staging = Path.Combine(this.root, ".staging");
    }

    public string Root => root;

    public Task<IStagedObject> StageAsync(CancellationToken ct)
    {
        var path = Path.Combine(staging, Guid.NewGuid().ToString("N") + ".part");
        try
        {
            Directory.CreateDirectory(staging);
            var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 64 * 1024, FileOptions.Asynchronous);
            return Task.FromResult<IStagedObject>(new Staged(path, stream));
        }
        catch (IOException e)
        {
            throw Translate(e);
        }
    }

    public async Task PublishAsync(IStagedObject staged, string key, CancellationToken ct)
    {
        var s = (Staged)staged;
        var target = PathOf(key);
        try
        {
            await s.Stream.FlushAsync(ct);
            s.FileStream.Flush(flushToDisk: true);
            await s.Stream.DisposeAsync();
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (!File.Exists(target))
            {
                File.Move(s.Path, target, overwrite: false);
                s.Published = true;
            }
        }
        catch (IOException) when (File.Exists(target))
        {
            // Another upload of the same content won the rename: the object is there, with the same bytes.
        }
        catch (IOException e)
        {
            throw Translate(e);
        }
    }

    public Task<bool> ExistsAsync(string key, CancellationToken ct) => Task.FromResult(File.Exists(PathOf(key)));

    public Task<Stream?> OpenReadAsync(string key, CancellationToken ct)
    {
        try
        {
            return Task.FromResult<Stream?>(new FileStream(PathOf(key), FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.Asynchronous));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public Task DeleteAsync(string key, CancellationToken ct)
    {
        File.Delete(PathOf(key));
        return Task.CompletedTask;
    }

    public long? AvailableBytes()
    {
        try
        {
            Directory.CreateDirectory(root);
            return new DriveInfo(root).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public Task<int> SweepStagedAsync(TimeSpan age, CancellationToken ct)
    {
        var removed = 0;
        if (!Directory.Exists(staging))
        {
            return Task.FromResult(0);
        }

        foreach (var file in new DirectoryInfo(staging).EnumerateFiles("*.part"))
        {
            if (file.LastWriteTimeUtc < DateTime.UtcNow - age)
            {
                try
                {
                    file.Delete();
                    removed++;
                }
                catch (IOException)
                {
                    // In use or gone: the next sweep sees it again.
                }
            }
        }

        return Task.FromResult(removed);
    }

    /// <summary>Disk full and file-system quota become <see cref="StorageFullException"/>; other I/O errors stay as they are.</summary>
    public static IOException Translate(IOException e) =>
        e is StorageFullException || !StorageErrors.IsFull(e) ? e : new StorageFullException("The file store is out of space.", e);

    private string PathOf(string key)
    {
        if (!FileKeys.IsValid(key))
        {
            throw new ArgumentException("A file key is a lowercase hex SHA-256.", nameof(key));
        }

        return Path.Combine(root, key[..2], key[2..4], key);
    }

    private sealed class Staged(string path, FileStream stream) : IStagedObject
    {
        public string Path { get; } = path;

        public FileStream FileStream { get; } = stream;

        public Stream Stream => FileStream;

        public bool Published { get; set; }

        public async ValueTask DisposeAsync()
        {
            await FileStream.DisposeAsync();
            if (!Published)
            {
                try
                {
                    File.Delete(Path);
                }
                catch (IOException)
                {
                    // Swept later by SweepStagedAsync.
                }
            }
        }
    }
}
