using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Chat.Hub.Features.Schools;
using Chat.Hub.Infrastructure;
using Chat.Storage.Calls;
using Chat.Storage.Statistics;

namespace Chat.Hub.Features.Statistics;

public sealed record SchoolStatsDto(
    IReadOnlyList<RoleJoinStats> Roles,
    IReadOnlyList<ClassJoinStats> Classes,
    IReadOnlyList<ActiveUsers> ActiveUsers,
    IReadOnlyList<MessagesPerDay> MessagesPerDay,
    IReadOnlyList<CallsPerDay> CallsPerDay,
    FileStatsDto Files);

/// <summary>Files and storage: the school's use against its quota (each stored content once), and files by kind.</summary>
public sealed record FileStatsDto(long StorageUsedBytes, long StorageQuotaBytes, IReadOnlyList<FileKindStats> ByKind);

/// <summary>Usage statistics for a school's admins and its director: counts only.</summary>
public sealed class StatisticsService(
    StatisticsStore stats,
    CallAttendanceStore calls,
    Chat.Storage.Files.FileRecordStore files,
    Microsoft.Extensions.Options.IOptions<Files.FilesOptions> fileOptions,
    SchoolAccess access,
    TimeProvider clock)
{
    private readonly ConcurrentDictionary<Guid, DateOnly> touched = new();

    private DateOnly Today => DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);

    /// <summary>
    /// Marks the person active today; once per person per day per node. The write (a commit, so a WAL flush) is not
    /// waited for: connecting should not wait for statistics (docs/performance.md). Reads of the statistics on this
    /// node wait for the writes still in flight, so they see them.
    /// </summary>
    public Task TouchAsync(Guid accountId, CancellationToken ct)
    {
        var today = Today;
        if (touched.TryGetValue(accountId, out var day) && day == today)
        {
            return Task.CompletedTask;
        }

        touched[accountId] = today;
        if (touched.Count > 200_000)
        {
            touched.Clear();
        }

        var write = WriteTouchAsync(accountId, today);
        inFlight[write] = 0;
        _ = write.ContinueWith(t => inFlight.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return Task.CompletedTask;
    }

    private readonly ConcurrentDictionary<Task, byte> inFlight = new();

    private async Task WriteTouchAsync(Guid accountId, DateOnly today)
    {
        try
        {
            await stats.TouchAsync(accountId, today, CancellationToken.None);
        }
        catch (Exception)
        {
            // Best effort (the database may be down): forget it, so the next connection of the person tries again.
            touched.TryRemove(accountId, out _);
        }
    }

    public async Task<SchoolStatsDto> SchoolAsync(Guid schoolId, Guid me, CancellationToken ct)
    {
        var member = await access.ActiveMemberAsync(schoolId, me, ct);
        if (!member.IsAdmin && !member.IsDirector)
        {
            throw new ChatException(ChatError.Forbidden, detail: "Статистика доступна администраторам школы и директору.");
        }

        await Task.WhenAll(inFlight.Keys); // this node's "active today" writes still in flight
        return new SchoolStatsDto(
            await stats.RolesAsync(schoolId, ct),
            await stats.ClassesAsync(schoolId, ct),
            await stats.ActiveUsersAsync(schoolId, Today, ct),
            await stats.MessagesPerDayAsync(schoolId, 30, ct),
            await calls.PerDayAsync(schoolId, 30, ct),
            new FileStatsDto(await files.UsageAsync(schoolId, ct), fileOptions.Value.SchoolQuotaBytes, await stats.FilesAsync(schoolId, ct)));
    }

    public async Task<byte[]> SchoolCsvAsync(Guid schoolId, Guid me, CancellationToken ct)
    {
        var s = await SchoolAsync(schoolId, me, ct);
        var csv = new StringBuilder();
        csv.AppendLine("section,role,joined,link_uses,pending");
        foreach (var r in s.Roles)
        {
            csv.AppendLine(CultureInfo.InvariantCulture, $"role,{r.Role},{r.Joined},{r.LinkUses},{r.Pending}");
        }

        csv.AppendLine("section,class,pupils_joined,parents_joined,pupils_with_parent,pupil_link_uses,parent_link_uses,pending_pupils,pending_parents");
        foreach (var c in s.Classes)
        {
            csv.AppendLine(CultureInfo.InvariantCulture, $"class,{Csv.Field(c.Name)},{c.PupilsJoined},{c.ParentsJoined},{c.PupilsWithParent},{c.PupilLinkUses},{c.ParentLinkUses},{c.PendingPupils},{c.PendingParents}");
        }

        csv.AppendLine("section,role,active_day,active_week,active_month");
        foreach (var a in s.ActiveUsers)
        {
            csv.AppendLine(CultureInfo.InvariantCulture, $"active,{a.Role},{a.Day},{a.Week},{a.Month}");
        }

        csv.AppendLine("section,day,chat_kind,messages");
        foreach (var m in s.MessagesPerDay)
        {
            csv.AppendLine(CultureInfo.InvariantCulture, $"messages,{m.Day:yyyy-MM-dd},{m.ChatKind},{m.Messages}");
        }

        csv.AppendLine("section,day,calls,lessons,call_minutes,participant_minutes,attendees");
        foreach (var c in s.CallsPerDay)
        {
            csv.AppendLine(CultureInfo.InvariantCulture, $"calls,{c.Day:yyyy-MM-dd},{c.Calls},{c.Lessons},{c.CallMinutes},{c.ParticipantMinutes},{c.Attendees}");
        }

        csv.AppendLine("section,kind,files,bytes,files_last_30_days");
        foreach (var f in s.Files.ByKind)
        {
            csv.AppendLine(CultureInfo.InvariantCulture, $"files,{f.Kind},{f.Files},{f.Bytes},{f.FilesLast30Days}");
        }

        csv.AppendLine("section,used_bytes,quota_bytes");
        csv.AppendLine(CultureInfo.InvariantCulture, $"storage,{s.Files.StorageUsedBytes},{s.Files.StorageQuotaBytes}");
        return Csv.File(csv);
    }
}
