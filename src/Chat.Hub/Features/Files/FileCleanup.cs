using Chat.Hub.Infrastructure;
using Chat.Storage.Files;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Chat.Hub.Features.Files;

/// <summary>What one cleanup pass removed.</summary>
public sealed record CleanupResult(int Files, int Objects, int StagedLeftovers, int Uploads = 0);

/// <summary>
/// Removes what nobody can reach any more: uploads older than <c>Files:CleanupGraceSeconds</c> that no live message
/// shows (never attached, or only to deleted messages), then contents no upload points at (the object in the store
/// with its row), then staged leftovers of crashed uploads, and resumable uploads nobody continued for
/// <c>Files:UploadExpirySeconds</c> (with the bytes they had). Runs on every node every <c>Files:CleanupIntervalSeconds</c>;
/// each removal is guarded in the database, so nodes running at once do no harm.
/// </summary>
public sealed partial class FileCleanup(FileRecordStore records, IFileStore store, UploadService uploads, IOptions<FilesOptions> options, ILogger<FileCleanup> logger)
    : PeriodicJob(logger)
{
    private const int Batch = 500;

    public async Task<CleanupResult> RunOnceAsync(CancellationToken ct)
    {
        var files = 0;
        foreach (var id in await records.UnreferencedAsync(TimeSpan.FromSeconds(Math.Max(0, options.Value.CleanupGraceSeconds)), Batch, ct))
        {
            try
            {
                files += await records.DeleteUnreferencedAsync(id, ct) ? 1 : 0;
            }
            catch (PostgresException e)
            {
                LogSkipped(logger, e, id.ToString());
            }
        }

        var objects = 0;
        foreach (var sha in await records.OrphanBlobsAsync(Batch, ct))
        {
            try
            {
                objects += await records.DeleteBlobAsync(sha, () => store.DeleteAsync(FileKeys.Of(sha), ct), ct) ? 1 : 0;
            }
            catch (Exception e) when (e is PostgresException or IOException)
            {
                LogSkipped(logger, e, FileKeys.Of(sha));
            }
        }

        var staged = await store.SweepStagedAsync(TimeSpan.FromHours(24), ct);
        var expired = await uploads.RemoveExpiredAsync(Batch, ct);
        if (files + objects + staged + expired > 0)
        {
            LogCleaned(logger, files, objects, staged, expired);
        }

        return new CleanupResult(files, objects, staged, expired);
    }

    protected override TimeSpan Interval => TimeSpan.FromSeconds(Math.Max(1, options.Value.CleanupIntervalSeconds));

    protected override Task TickAsync(CancellationToken ct) => RunOnceAsync(ct);

    [LoggerMessage(Level = LogLevel.Information, Message = "File cleanup removed {Files} uploads, {Objects} stored contents, {Staged} staged leftovers, {Expired} expired resumable uploads")]
    private static partial void LogCleaned(ILogger logger, int files, int objects, int staged, int expired);

    [LoggerMessage(Level = LogLevel.Warning, Message = "File cleanup skipped {What} this time")]
    private static partial void LogSkipped(ILogger logger, Exception exception, string what);
}
