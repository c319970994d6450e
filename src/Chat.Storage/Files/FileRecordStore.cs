using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Files;

public sealed record FileRow(
    Guid Id,
    Guid SchoolId,
    Guid UploaderId,
    Guid UploadId,
    byte[] Sha256,
    string Name,
    string Kind,
    string ContentType,
    long Size,
    int? Width,
    int? Height,
    long? DurationMs,
    byte[]? ThumbnailSha256,
    DateTime CreatedAt);

public sealed record NewFile(
    Guid Id,
    Guid SchoolId,
    Guid UploaderId,
    Guid UploadId,
    byte[] Sha256,
    string Name,
    string Kind,
    string ContentType,
    long Size,
    int? Width,
    int? Height,
    long? DurationMs,
    byte[]? ThumbnailSha256);

/// <summary>A file shown in a chat, for the chat's materials view.</summary>
public sealed record ChatFileRow(long Seq, Guid? SenderId, string? SenderName, DateTime PostedAt, FileRow File);

public sealed record StorageUsageRow(string Kind, long Bytes, int Files);

/// <summary>
/// The database side of files: uploads, which messages show them, who may read them, the school's usage, and what the
/// cleanup may remove. The bytes are in <see cref="IFileStore"/>.
/// </summary>
public sealed class FileRecordStore(NpgsqlDataSource db)
{
    private const string Columns = """
        f.id, f.school_id, f.uploader_id, f.upload_id, f.sha256, f.name, f.kind, f.content_type, f.size, f.width, f.height,
        f.duration_ms, f.thumbnail_sha256, f.created_at
        """;

    // A live message (not deleted) of a chat the reader reads (in an active school) shows the file: a chat they are a
    // member of, or one a school admin reviews through her open moderation case (ChatStore's OpenCasesSql: the case not
    // closed, she still an admin of the chat's school), where «Материалы» lists its files to her.
    private const string ReadableThroughChat = """
        EXISTS (SELECT 1 FROM message_files mf
                JOIN messages m ON m.chat_id = mf.chat_id AND m.seq = mf.message_seq AND m.deleted_at IS NULL
                JOIN chats c ON c.id = mf.chat_id
                JOIN schools s ON s.id = c.school_id AND s.status = 'active'
                WHERE mf.file_id = f.id
                  AND (EXISTS (SELECT 1 FROM chat_members cm WHERE cm.chat_id = mf.chat_id AND cm.account_id = @me)
                       OR EXISTS (SELECT 1 FROM moderation_cases mc
                                  JOIN school_members sm ON sm.school_id = c.school_id AND sm.account_id = mc.admin_id AND sm.is_admin
                                  WHERE mc.chat_id = mf.chat_id AND mc.admin_id = @me AND mc.closes_at > now())))
        """;

    public async Task<FileRow?> FindByUploadAsync(Guid uploaderId, Guid uploadId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<FileRow>(new CommandDefinition(
            $"SELECT {Columns} FROM files f WHERE f.uploader_id = @uploaderId AND f.upload_id = @uploadId",
            new { uploaderId, uploadId }, cancellationToken: ct));
    }

    /// <summary>
    /// The file, if this person may read it now: through a live message in one of their chats (or in a chat they review
    /// through an open moderation case), or as the uploader of a file not yet shown in any message. Null otherwise — the same as for an id that does not exist.
    /// </summary>
    public async Task<FileRow?> GetForReaderAsync(Guid fileId, Guid me, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<FileRow>(new CommandDefinition(
            $"""
            SELECT {Columns} FROM files f
            WHERE f.id = @fileId AND ({ReadableThroughChat}
                OR (f.uploader_id = @me AND NOT EXISTS (SELECT 1 FROM message_files mf WHERE mf.file_id = f.id)))
            """,
            new { fileId, me }, cancellationToken: ct));
    }

    /// <summary>Bytes the school uses: each distinct content (and thumbnail) once.</summary>
    public async Task<long> UsageAsync(Guid schoolId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await UsageAsync(c, null, schoolId, ct);
    }

    private static Task<long> UsageAsync(NpgsqlConnection c, NpgsqlTransaction? tx, Guid schoolId, CancellationToken ct) =>
        c.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            SELECT coalesce(sum(b.size), 0)::bigint FROM file_blobs b
            WHERE b.sha256 IN (SELECT f.sha256 FROM files f WHERE f.school_id = @schoolId
                               UNION SELECT f.thumbnail_sha256 FROM files f WHERE f.school_id = @schoolId AND f.thumbnail_sha256 IS NOT NULL)
            """,
            new { schoolId }, tx, cancellationToken: ct));

    /// <summary>
    /// The school's usage by kind of file, for its admins, adding up to <see cref="UsageAsync(Guid, CancellationToken)"/>:
    /// the bytes of each content once (the files: every file sent, two people sending the same PDF being two), and the
    /// server-made previews of photos and videos as a kind of their own, «preview» (they were in the total and in no row).
    /// </summary>
    public async Task<IReadOnlyList<StorageUsageRow>> UsageByKindAsync(Guid schoolId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<StorageUsageRow>(new CommandDefinition(
            """
            WITH previews AS (
                SELECT DISTINCT f.thumbnail_sha256 AS sha256 FROM files f
                WHERE f.school_id = @schoolId AND f.thumbnail_sha256 IS NOT NULL
                  AND f.thumbnail_sha256 NOT IN (SELECT x.sha256 FROM files x WHERE x.school_id = @schoolId)
            )
            SELECT k.kind, coalesce((SELECT sum(b.size) FROM file_blobs b WHERE b.sha256 IN (
                       SELECT f.sha256 FROM files f WHERE f.school_id = @schoolId AND f.kind = k.kind)), 0)::bigint AS bytes,
                   (SELECT count(*) FROM files f WHERE f.school_id = @schoolId AND f.kind = k.kind)::int AS files
            FROM (VALUES ('image'), ('audio'), ('video'), ('document')) k(kind)
            UNION ALL
            SELECT 'preview', coalesce((SELECT sum(b.size) FROM file_blobs b WHERE b.sha256 IN (SELECT sha256 FROM previews)), 0)::bigint,
                   (SELECT count(*) FROM previews)::int
            """,
            new { schoolId }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Serializes uploads of one school (for the quota) until the transaction ends, and returns the school's usage,
    /// and whether the content is already counted for it.
    /// </summary>
    public async Task<(long Usage, bool ContentCounted)> LockQuotaAsync(DbScope s, Guid schoolId, byte[] sha256, CancellationToken ct)
    {
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "SELECT pg_advisory_xact_lock(hashtextextended('files-quota:' || @schoolId::text, 0))", new { schoolId }, s.Transaction, cancellationToken: ct));
        var usage = await UsageAsync(s.Connection, s.Transaction, schoolId, ct);
        var counted = await s.Connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "SELECT EXISTS (SELECT 1 FROM files WHERE school_id = @schoolId AND sha256 = @sha256)", new { schoolId, sha256 }, s.Transaction, cancellationToken: ct));
        return (usage, counted);
    }

    /// <summary>
    /// Records a content (or finds it) and locks its row until the transaction ends, so that the cleanup cannot remove the
    /// object between the caller making sure it is in the store and the file row pointing at it.
    /// </summary>
    public Task LockBlobAsync(DbScope s, byte[] sha256, long size, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO file_blobs (sha256, size) VALUES (@sha256, @size) ON CONFLICT (sha256) DO UPDATE SET size = EXCLUDED.size",
            new { sha256, size }, s.Transaction, cancellationToken: ct));

    /// <summary>Inserts the upload; false when the same uploader's upload id raced in first (the caller returns that one).</summary>
    public async Task<bool> InsertAsync(DbScope s, NewFile f, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO files (id, school_id, uploader_id, upload_id, sha256, name, kind, content_type, size, width, height, duration_ms, thumbnail_sha256)
            VALUES (@Id, @SchoolId, @UploaderId, @UploadId, @Sha256, @Name, @Kind, @ContentType, @Size, @Width, @Height, @DurationMs, @ThumbnailSha256)
            ON CONFLICT (uploader_id, upload_id) DO NOTHING
            """,
            f, s.Transaction, cancellationToken: ct)) == 1;

    /// <summary>
    /// Links the sender's own uploads, in order, to a new message of a chat in the same school (inside the transaction
    /// that appends the message), and gives the message its search text: the caption with the files' names (0024).
    /// Returns how many were linked: fewer than asked means some id is not the sender's upload.
    /// </summary>
    public async Task<int> AttachAsync(DbScope s, Guid chatId, long seq, Guid me, Guid[] fileIds, CancellationToken ct)
    {
        var linked = await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO message_files (chat_id, message_seq, position, file_id)
            SELECT @chatId, @seq, (x.i - 1)::smallint, f.id
            FROM unnest(@fileIds::uuid[]) WITH ORDINALITY x(id, i)
            JOIN files f ON f.id = x.id AND f.uploader_id = @me
            JOIN chats c ON c.id = @chatId AND c.school_id = f.school_id
            """,
            new { chatId, seq, me, fileIds }, s.Transaction, cancellationToken: ct));
        await IndexForSearchAsync(s, chatId, seq, ct);
        return linked;
    }

    /// <summary>
    /// Links a forwarded message to the files of the message it copies, in their order (the same files: nothing is
    /// stored twice; the forward's chat is in the same school, which the caller has checked), and gives it its search
    /// text. Returns how many were linked.
    /// </summary>
    public async Task<int> CopyAttachmentsAsync(DbScope s, Guid fromChatId, long fromSeq, Guid chatId, long seq, CancellationToken ct)
    {
        var linked = await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO message_files (chat_id, message_seq, position, file_id)
            SELECT @chatId, @seq, mf.position, mf.file_id FROM message_files mf
            WHERE mf.chat_id = @fromChatId AND mf.message_seq = @fromSeq
            """,
            new { fromChatId, fromSeq, chatId, seq }, s.Transaction, cancellationToken: ct));
        await IndexForSearchAsync(s, chatId, seq, ct);
        return linked;
    }

    /// <summary>The message's search text is its caption with its files' names (migration 0024), once they are linked.</summary>
    private static Task IndexForSearchAsync(DbScope s, Guid chatId, long seq, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE messages SET files_search = message_files_search(chat_id, seq, text) WHERE chat_id = @chatId AND seq = @seq",
            new { chatId, seq }, s.Transaction, cancellationToken: ct));

    /// <summary>Files shown in the chat's live messages, newest message first; <paramref name="limit"/> counts messages.</summary>
    public async Task<IReadOnlyList<ChatFileRow>> ChatFilesAsync(Guid chatId, string? kind, long? beforeSeq, int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<ChatFileFlat>(new CommandDefinition(
            $"""
            WITH page AS (
                SELECT DISTINCT mf.message_seq FROM message_files mf
                JOIN messages m ON m.chat_id = mf.chat_id AND m.seq = mf.message_seq AND m.deleted_at IS NULL
                JOIN files f ON f.id = mf.file_id
                WHERE mf.chat_id = @chatId AND (@kind::text IS NULL OR f.kind = @kind) AND (@beforeSeq::bigint IS NULL OR mf.message_seq < @beforeSeq)
                ORDER BY mf.message_seq DESC LIMIT @limit)
            SELECT m.seq, m.sender_id, a.display_name AS sender_name, m.created_at AS posted_at, {Columns}
            FROM page p
            JOIN message_files mf ON mf.chat_id = @chatId AND mf.message_seq = p.message_seq
            JOIN messages m ON m.chat_id = mf.chat_id AND m.seq = mf.message_seq
            JOIN files f ON f.id = mf.file_id
            LEFT JOIN accounts a ON a.id = m.sender_id
            WHERE (@kind::text IS NULL OR f.kind = @kind)
            ORDER BY m.seq DESC, mf.position
            """,
            new { chatId, kind, beforeSeq, limit }, cancellationToken: ct));
        return rows.Select(r => new ChatFileRow(r.Seq, r.SenderId, r.SenderName, r.PostedAt, new FileRow(
            r.Id, r.SchoolId, r.UploaderId, r.UploadId, r.Sha256, r.Name, r.Kind, r.ContentType, r.Size, r.Width, r.Height, r.DurationMs,
            r.ThumbnailSha256, r.CreatedAt))).ToList();
    }

    private sealed record ChatFileFlat(
        long Seq, Guid? SenderId, string? SenderName, DateTime PostedAt,
        Guid Id, Guid SchoolId, Guid UploaderId, Guid UploadId, byte[] Sha256, string Name, string Kind, string ContentType, long Size,
        int? Width, int? Height, long? DurationMs, byte[]? ThumbnailSha256, DateTime CreatedAt);

    /// <summary>Uploads older than the grace period that no live message shows (never attached, or only to deleted messages).</summary>
    public async Task<IReadOnlyList<Guid>> UnreferencedAsync(TimeSpan grace, int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<Guid>(new CommandDefinition(
            """
            SELECT f.id FROM files f
            WHERE f.created_at < now() - make_interval(secs => @seconds)
              AND NOT EXISTS (SELECT 1 FROM message_files mf
                              JOIN messages m ON m.chat_id = mf.chat_id AND m.seq = mf.message_seq AND m.deleted_at IS NULL
                              WHERE mf.file_id = f.id)
            ORDER BY f.created_at LIMIT @limit
            """,
            new { seconds = grace.TotalSeconds, limit }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Removes one upload if still no live message shows it (the row is locked first, so a message attaching it at the
    /// same moment either wins and keeps it, or fails). Its links from deleted messages go with it.
    /// </summary>
    public Task<bool> DeleteUnreferencedAsync(Guid fileId, CancellationToken ct) => DbScope.InTransactionAsync(db, async s =>
    {
        var locked = await s.Connection.ExecuteScalarAsync<Guid?>(new CommandDefinition(
            "SELECT id FROM files WHERE id = @fileId FOR UPDATE", new { fileId }, s.Transaction, cancellationToken: ct));
        var deleted = locked is not null && await s.Connection.ExecuteScalarAsync<int>(new CommandDefinition(
            """
            WITH live AS (
                SELECT 1 FROM message_files mf JOIN messages m ON m.chat_id = mf.chat_id AND m.seq = mf.message_seq AND m.deleted_at IS NULL
                WHERE mf.file_id = @fileId),
            links AS (DELETE FROM message_files WHERE file_id = @fileId AND NOT EXISTS (SELECT 1 FROM live) RETURNING 1),
            gone AS (DELETE FROM files WHERE id = @fileId AND NOT EXISTS (SELECT 1 FROM live) RETURNING 1)
            SELECT count(*)::int FROM gone
            """,
            new { fileId }, s.Transaction, cancellationToken: ct)) == 1;
        return deleted;
    }, ct);

    /// <summary>Contents no upload points at any more (as its bytes or its thumbnail).</summary>
    public async Task<IReadOnlyList<byte[]>> OrphanBlobsAsync(int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<byte[]>(new CommandDefinition(
            """
            SELECT b.sha256 FROM file_blobs b
            WHERE NOT EXISTS (SELECT 1 FROM files f WHERE f.sha256 = b.sha256)
              AND NOT EXISTS (SELECT 1 FROM files f WHERE f.thumbnail_sha256 = b.sha256)
            LIMIT @limit
            """,
            new { limit }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Removes an orphan content's row and, before committing, its object (through <paramref name="deleteObject"/>), so an
    /// upload of the same content waiting on the row finds the object gone and stores it again.
    /// </summary>
    public Task<bool> DeleteBlobAsync(byte[] sha256, Func<Task> deleteObject, CancellationToken ct) => DbScope.InTransactionAsync(db, async s =>
    {
        var deleted = await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            DELETE FROM file_blobs b WHERE b.sha256 = @sha256
              AND NOT EXISTS (SELECT 1 FROM files f WHERE f.sha256 = b.sha256)
              AND NOT EXISTS (SELECT 1 FROM files f WHERE f.thumbnail_sha256 = b.sha256)
            """,
            new { sha256 }, s.Transaction, cancellationToken: ct)) == 1;
        if (deleted)
        {
            await deleteObject();
        }

        return deleted;
    }, ct);
}
