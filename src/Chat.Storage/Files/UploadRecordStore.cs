using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Files;

/// <summary>A resumable upload: whose, of which school, the file's name and its promised size.</summary>
public sealed record UploadRow(Guid Id, Guid SchoolId, Guid UploaderId, string Name, long Size, DateTime CreatedAt, DateTime TouchedAt);

/// <summary>
/// The database side of resumable uploads (migration 0014): who may continue which upload, and which ones expired.
/// The bytes received so far are a file next to the store's objects; its length is the upload's offset.
/// </summary>
public sealed class UploadRecordStore(NpgsqlDataSource db)
{
    private const string Columns = "id, school_id, uploader_id, name, size, created_at, touched_at";

    /// <summary>Records a new upload; false when an upload with its id exists already (a repeated declaration).</summary>
    public async Task<bool> InsertAsync(UploadRow row, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteAsync(new CommandDefinition(
            "INSERT INTO file_uploads (id, school_id, uploader_id, name, size) VALUES (@Id, @SchoolId, @UploaderId, @Name, @Size) ON CONFLICT (id) DO NOTHING",
            row, cancellationToken: ct)) == 1;
    }

    /// <summary>The upload with this id, whoever's and however old (null when there is none): for a declaration repeating an id.</summary>
    public async Task<UploadRow?> FindAsync(Guid id, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<UploadRow>(new CommandDefinition(
            $"SELECT {Columns} FROM file_uploads WHERE id = @id", new { id }, cancellationToken: ct));
    }

    /// <summary>The upload, only for its own uploader in its own school and while it has not expired; null otherwise.</summary>
    public async Task<UploadRow?> GetAsync(Guid id, Guid uploaderId, Guid schoolId, TimeSpan expiry, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<UploadRow>(new CommandDefinition(
            $"""
            SELECT {Columns} FROM file_uploads
            WHERE id = @id AND uploader_id = @uploaderId AND school_id = @schoolId AND touched_at >= now() - make_interval(secs => @seconds)
            """,
            new { id, uploaderId, schoolId, seconds = expiry.TotalSeconds }, cancellationToken: ct));
    }

    /// <summary>Marks the upload as continued now (its expiry starts again); false when it is gone.</summary>
    public async Task<bool> TouchAsync(Guid id, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteAsync(new CommandDefinition("UPDATE file_uploads SET touched_at = now() WHERE id = @id", new { id }, cancellationToken: ct)) == 1;
    }

    // The declared sizes of the school's unfinished (unexpired, not yet a file) uploads, but the one being checked.
    private const string OpenBytesSql = """
        SELECT coalesce(sum(u.size), 0)::bigint FROM file_uploads u
        WHERE u.school_id = @schoolId AND u.touched_at > now() - @expiry
          AND NOT (u.id = @exceptId AND u.uploader_id = @exceptUploader)
          AND NOT EXISTS (SELECT 1 FROM files f WHERE f.uploader_id = u.uploader_id AND f.upload_id = u.id)
        """;

    /// <summary>The declared sizes of the school's unfinished uploads, summed (the room they are promised).</summary>
    public Task<long> OpenBytesAsync(Guid schoolId, TimeSpan expiry, CancellationToken ct) => OpenBytesAsync(schoolId, expiry, Guid.Empty, Guid.Empty, ct);

    /// <summary>
    /// The same, but for the uploader's own upload <paramref name="exceptId"/> (an upload being checked or completed is not
    /// kept out of the room it was promised by its own promise).
    /// </summary>
    public async Task<long> OpenBytesAsync(Guid schoolId, TimeSpan expiry, Guid exceptId, Guid exceptUploader, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<long>(new CommandDefinition(
            OpenBytesSql, new { schoolId, expiry, exceptId, exceptUploader }, cancellationToken: ct));
    }

    /// <summary>The same inside a transaction (under the school's quota lock: FileRecordStore.LockQuotaAsync).</summary>
    public Task<long> OpenBytesAsync(DbScope s, Guid schoolId, TimeSpan expiry, Guid exceptId, Guid exceptUploader, CancellationToken ct) =>
        s.Connection.ExecuteScalarAsync<long>(new CommandDefinition(
            OpenBytesSql, new { schoolId, expiry, exceptId, exceptUploader }, s.Transaction, cancellationToken: ct));

    /// <summary>Uploads of this person still being sent (not yet a file).</summary>
    public async Task<int> OpenCountAsync(Guid uploaderId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<int>(new CommandDefinition(
            """
            SELECT count(*)::int FROM file_uploads u
            WHERE u.uploader_id = @uploaderId AND NOT EXISTS (SELECT 1 FROM files f WHERE f.uploader_id = u.uploader_id AND f.upload_id = u.id)
            """,
            new { uploaderId }, cancellationToken: ct));
    }

    public async Task<bool> DeleteAsync(Guid id, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteAsync(new CommandDefinition("DELETE FROM file_uploads WHERE id = @id", new { id }, cancellationToken: ct)) == 1;
    }

    /// <summary>Removes uploads nobody continued for <paramref name="expiry"/>; returns their ids (their bytes are the caller's to remove).</summary>
    public async Task<IReadOnlyList<Guid>> DeleteExpiredAsync(TimeSpan expiry, int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<Guid>(new CommandDefinition(
            """
            DELETE FROM file_uploads WHERE id IN (
                SELECT id FROM file_uploads WHERE touched_at < now() - make_interval(secs => @seconds) ORDER BY touched_at LIMIT @limit)
            RETURNING id
            """,
            new { seconds = expiry.TotalSeconds, limit }, cancellationToken: ct))).AsList();
    }

    /// <summary>Which of these ids are uploads still in the table.</summary>
    public async Task<IReadOnlyList<Guid>> ExistingAsync(Guid[] ids, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<Guid>(new CommandDefinition(
            "SELECT id FROM file_uploads WHERE id = ANY(@ids)", new { ids }, cancellationToken: ct))).AsList();
    }
}
