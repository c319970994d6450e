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
    ActivityRecorder activity,
    TimeProvider clock)
{
    /// <summary>
    /// Marks the person active now (<see cref="ActivityRecorder"/>: once per person per quarter hour per node, written
    /// with others in one statement). Nothing is waited for: connecting should not wait for statistics
    /// (docs/performance.md). Reads of the statistics on this node wait for the marks still queued, so they see them.
    /// </summary>
    public Task TouchAsync(Guid accountId, CancellationToken ct)
    {
        activity.Mark(accountId, clock.GetUtcNow());
        return Task.CompletedTask;
    }

    /// <summary>
    /// The school's statistics with messages, calls and active people per day of the time zone <paramref name="tz"/>
    /// names (<see cref="Csv.TimeZone"/>: Europe/Moscow when it names none, as the CSV; read after the access check).
    /// </summary>
    public async Task<SchoolStatsDto> SchoolAsync(Guid schoolId, Guid me, string? tz, CancellationToken ct) =>
        (await ReadAsync(schoolId, me, tz, ct)).Stats;

    private async Task RequireReaderAsync(Guid schoolId, Guid me, CancellationToken ct)
    {
        var member = await access.ActiveMemberAsync(schoolId, me, ct);
        if (!member.IsAdmin && !member.IsDirector)
        {
            throw new ChatException(ChatError.Forbidden, detail: "Статистика доступна администраторам школы и директору.");
        }
    }

    /// <summary>
    /// The statistics for a reader (<see cref="RequireReaderAsync"/>) with messages, calls and active people per day of
    /// the time zone <paramref name="tz"/> names (<see cref="Csv.TimeZone"/>, read after the access check), and that zone.
    /// </summary>
    private async Task<(SchoolStatsDto Stats, TimeZoneInfo Zone)> ReadAsync(Guid schoolId, Guid me, string? tz, CancellationToken ct)
    {
        await RequireReaderAsync(schoolId, me, ct);
        var zone = Csv.TimeZone(tz);
        var timeZone = zone.Id;
        await activity.WrittenAsync(); // this node's "active" marks still queued
        try
        {
            return (new SchoolStatsDto(
                await stats.RolesAsync(schoolId, ct),
                await stats.ClassesAsync(schoolId, ct),
                await stats.ActiveUsersAsync(schoolId, timeZone, ct),
                await stats.MessagesPerDayAsync(schoolId, 30, timeZone, ct),
                await calls.PerDayAsync(schoolId, 30, timeZone, ct),
                new FileStatsDto(await files.UsageAsync(schoolId, ct), fileOptions.Value.SchoolQuotaBytes, await stats.FilesAsync(schoolId, ct))), zone);
        }
        catch (Npgsql.PostgresException e) when (e.SqlState == Npgsql.PostgresErrorCodes.InvalidParameterValue && timeZone != "UTC")
        {
            // A zone this server knows but the database does not (their time-zone databases differ).
            throw ChatException.Field("tz", "Этот часовой пояс не поддерживается. Укажите другой, например Europe/Moscow.");
        }
    }

    /// <summary>
    /// The statistics as CSV (<see cref="CsvWriter"/>): one section after another, each with its own header row, the
    /// section's name in the first column; the same figures as <see cref="SchoolAsync"/> for the same <paramref name="tz"/>.
    /// </summary>
    public async Task<byte[]> SchoolCsvAsync(Guid schoolId, Guid me, string? tz, CancellationToken ct)
    {
        var (s, zone) = await ReadAsync(schoolId, me, tz, ct);
        var csv = new CsvWriter(zone);
        const string Roles = "По ролям", Classes = "По классам", Active = "Активные участники", Messages = "Сообщения", Calls = "Звонки",
            Files = "Файлы", Storage = "Хранилище";
        csv.Row("Раздел", "Роль", "Вступили", "Вступили по ссылке", "Ждут одобрения");
        foreach (var r in s.Roles)
        {
            csv.Row(Roles, RoleName(r.Role), r.Joined, r.LinkUses, r.Pending);
        }

        csv.Row("Раздел", "Класс", "Учеников", "Родителей", "Учеников с родителем", "Вступили по ссылке ученика", "Вступили по ссылке родителя",
            "Ждут одобрения: ученики", "Ждут одобрения: родители");
        foreach (var c in s.Classes)
        {
            csv.Row(Classes, c.Name, c.PupilsJoined, c.ParentsJoined, c.PupilsWithParent, c.PupilLinkUses, c.ParentLinkUses, c.PendingPupils, c.PendingParents);
        }

        csv.Row("Раздел", "Роль", "Сегодня", "За неделю", "За месяц");
        foreach (var a in s.ActiveUsers)
        {
            csv.Row(Active, RoleName(a.Role), a.Day, a.Week, a.Month);
        }

        csv.Row("Раздел", csv.Zoned("День"), "Вид чата", "Сообщений");
        foreach (var m in s.MessagesPerDay)
        {
            csv.Row(Messages, m.Day, ChatKindName(m.ChatKind), m.Messages);
        }

        csv.Row("Раздел", csv.Zoned("День"), "Звонков", "Из них уроков", "Минут звонков", "Минут участников", "Участников");
        foreach (var c in s.CallsPerDay)
        {
            csv.Row(Calls, c.Day, c.Calls, c.Lessons, c.CallMinutes, c.ParticipantMinutes, c.Attendees);
        }

        csv.Row("Раздел", "Вид", "Файлов", "Объём, байт", "Файлов за 30 дней");
        foreach (var f in s.Files.ByKind)
        {
            csv.Row(Files, FileKindName(f.Kind), f.Files, f.Bytes, f.FilesLast30Days);
        }

        csv.Row("Раздел", "Занято, байт", "Доступно школе, байт");
        csv.Row(Storage, s.Files.StorageUsedBytes, s.Files.StorageQuotaBytes);
        return csv.ToFile();
    }

    // The words of the admin page's statistics (wwwroot/js/admin.js: rolesName, KIND_NAMES, kindNames); a code without
    // one as it is.
    private static string RoleName(string role) => role switch
    {
        "student" => "ученики",
        "parent" => "родители",
        "teacher" => "учителя",
        "staff" => "сотрудники",
        _ => role,
    };

    private static string ChatKindName(string kind) => kind switch
    {
        "class" => "классы",
        "parents" => "родители",
        "staff_room" => "учительская",
        "subject" => "предметные",
        "group" => "группы",
        "channel" => "каналы",
        "direct" => "личные",
        _ => kind,
    };

    private static string FileKindName(string kind) => kind switch
    {
        "image" => "Фото",
        "video" => "Видео",
        "audio" => "Аудио",
        "document" => "Документы",
        _ => kind,
    };
}
