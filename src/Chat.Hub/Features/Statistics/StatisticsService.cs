using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Chat.Hub.Features.Moderation;
using Chat.Hub.Features.Schools;
using Chat.Hub.Infrastructure;
using Chat.Storage.Statistics;

namespace Chat.Hub.Features.Statistics;

public sealed record SchoolStatsDto(
    IReadOnlyList<ClassJoinStats> Classes,
    IReadOnlyList<ActiveUsers> ActiveUsers,
    IReadOnlyList<MessagesPerDay> MessagesPerDay);

/// <summary>Usage statistics for a school's admins and its director: counts only.</summary>
public sealed class StatisticsService(StatisticsStore stats, SchoolAccess access, TimeProvider clock)
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
            await stats.ClassesAsync(schoolId, ct),
            await stats.ActiveUsersAsync(schoolId, Today, ct),
            await stats.MessagesPerDayAsync(schoolId, 30, ct));
    }

    public async Task<byte[]> SchoolCsvAsync(Guid schoolId, Guid me, CancellationToken ct)
    {
        var s = await SchoolAsync(schoolId, me, ct);
        var csv = new StringBuilder();
        csv.AppendLine("section,class,pupils_joined,parents_joined,pupils_with_parent,pupil_link_uses,parent_link_uses,pending_pupils,pending_parents");
        foreach (var c in s.Classes)
        {
            csv.AppendLine(CultureInfo.InvariantCulture, $"class,{ModerationApi.Csv(c.Name)},{c.PupilsJoined},{c.ParentsJoined},{c.PupilsWithParent},{c.PupilLinkUses},{c.ParentLinkUses},{c.PendingPupils},{c.PendingParents}");
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

        return [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(csv.ToString())];
    }
}
