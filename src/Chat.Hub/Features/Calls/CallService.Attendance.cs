using Chat.Hub.Infrastructure;
using Chat.Storage.Calls;

namespace Chat.Hub.Features.Calls;

/// <summary>One person on a call's attendance list (a member of the chat, or anyone who was in the call).</summary>
public sealed record CallAttendeeDto(
    Guid AccountId, string DisplayName, string? ChatRole, bool Attended, int Intervals, DateTimeOffset? FirstJoinedAt,
    DateTimeOffset? LastLeftAt, bool PresentNow, bool Removed, long Seconds);

/// <summary>
/// Who came to a call, when, and for how long (the sum of their stretches: a rejoin after a drop is the same person),
/// against the chat's members when the call started: <c>Absent</c> counts those of them who never came.
/// </summary>
public sealed record CallAttendanceDto(
    Guid CallId, Guid ChatId, Guid HostId, bool LessonMode, DateTimeOffset StartedAt, DateTimeOffset? EndedAt,
    int Attended, int Absent, IReadOnlyList<CallAttendeeDto> People);

/// <summary>The name of someone who is or was in a call (for the call page's list and tiles).</summary>
public sealed record CallNameDto(Guid AccountId, string DisplayName);

/// <summary>A call of a chat in its history.</summary>
public sealed record ChatCallDto(
    Guid CallId, Guid HostId, bool LessonMode, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, int Attendees, long ParticipantSeconds);

public sealed partial class CallService
{
    /// <summary>
    /// The attendance of a call (live or ended), for its host and the chat's moderators (the teachers who run it).
    /// <paramref name="chatId"/>, when given (the HTTP route), must be the call's chat.
    /// </summary>
    public async Task<CallAttendanceDto> AttendanceAsync(Guid me, Guid callId, Guid? chatId, CancellationToken ct)
    {
        var row = await calls.GetAsync(callId, ct);
        if (row is null || (chatId is { } chat && row.ChatId != chat))
        {
            throw new ChatException(ChatError.CallNotFound);
        }

        await RequireAttendanceViewerAsync(me, row.ChatId, row, ct);
        var people = await attendance.ForCallAsync(callId, ct);
        var list = people.Select(p => new CallAttendeeDto(
            p.AccountId, p.DisplayName, p.ChatRole, p.Intervals > 0, p.Intervals, Utc(p.FirstJoinedAt), Utc(p.LastLeftAt),
            p.PresentNow, p.Removed, p.Seconds)).ToList();
        return new CallAttendanceDto(
            row.Id, row.ChatId, row.HostId, row.LessonMode, Utc(row.StartedAt)!.Value, Utc(row.EndedAt),
            list.Count(p => p.Attended), list.Count(p => !p.Attended && p.ChatRole is not null), list);
    }

    /// <summary>
    /// The attendance as CSV for a spreadsheet (the same people and rules as <see cref="AttendanceAsync"/>): one row per
    /// person, those who came first (by first arrival), then those of the chat who did not; times in the time zone
    /// <paramref name="tz"/> names (<see cref="Csv.TimeZone"/>, read after the access check), durations in whole minutes.
    /// Names only: no phone or e-mail of anyone. Written as the school's other exports (<see cref="CsvWriter"/>).
    /// </summary>
    public async Task<(byte[] Csv, string FileName)> AttendanceCsvAsync(Guid me, Guid callId, Guid chatId, string? tz, CancellationToken ct)
    {
        var a = await AttendanceAsync(me, callId, chatId, ct);
        var zone = Csv.TimeZone(tz);
        var csv = new CsvWriter(zone);
        csv.Row("Участник", "Роль в чате", "Присутствовал", "Сколько раз заходил", csv.Zoned("Первый вход"), csv.Zoned("Последний выход"),
            "Минут в звонке", "Сейчас в звонке", "Удалён из звонка");
        foreach (var p in a.People.OrderByDescending(p => p.Attended).ThenBy(p => p.FirstJoinedAt).ThenBy(p => p.DisplayName, StringComparer.CurrentCulture))
        {
            csv.Row(p.DisplayName, ChatRoleName(p.ChatRole), p.Attended, p.Intervals, p.FirstJoinedAt, p.LastLeftAt, p.Seconds / 60, p.PresentNow, p.Removed);
        }

        var started = TimeZoneInfo.ConvertTime(a.StartedAt, zone);
        var name = $"{(a.LessonMode ? "lesson" : "call")}-attendance-{started:yyyy-MM-dd-HHmm}.csv";
        return (csv.ToFile(), name);
    }

    /// <summary>A role in the chat as the chat's page names it; no role: someone from outside the chat, a guest.</summary>
    private static string ChatRoleName(string? role) => role switch
    {
        "owner" => "владелец",
        "moderator" => "модератор",
        "member" => "участник",
        null => "гость",
        _ => role,
    };

    /// <summary>
    /// The names of everyone who is or was in the live call, for anyone in it: an admitted guest may not read the chat's
    /// members, and the members' list of the chat does not have the guest. Names only (no phone, e-mail or role). In a
    /// broadcast its viewers are not shown to each other (a channel's readers; safe mode hides a pupil from other classes'
    /// parents): a viewer gets the names of those the call shows (its host and presenters) and her own; the chat's owner
    /// and moderators get everyone's.
    /// </summary>
    public async Task<IReadOnlyList<CallNameDto>> NamesAsync(Guid me, Guid callId, CancellationToken ct)
    {
        var row = await RequireMemberAsync(me, callId, ct);
        var people = (await attendance.ForCallAsync(callId, ct)).Where(p => p.Intervals > 0 || p.PresentNow);
        if (row.Kind == "broadcast" && await chats.RoleOfAsync(row.ChatId, me, ct) is null or "member")
        {
            var (state, _) = await LoadAsync(row, me, ct);
            var shown = ToDto(state).Participants.Select(p => p.AccountId).Append(row.HostId).Append(me).ToHashSet();
            people = people.Where(p => shown.Contains(p.AccountId));
        }

        return people.Select(p => new CallNameDto(p.AccountId, p.DisplayName)).ToList();
    }

    /// <summary>The chat's calls, newest first, with attendance totals; for the chat's moderators.</summary>
    public async Task<IReadOnlyList<ChatCallDto>> ChatCallsAsync(Guid me, Guid chatId, int? limit, CancellationToken ct)
    {
        var role = await chatService.RoleAsync(chatId, me, ct);
        if (role == "member")
        {
            throw new ChatException(ChatError.AttendanceNotAllowed);
        }

        var rows = await attendance.ForChatAsync(chatId, Math.Clamp(limit ?? 50, 1, 200), ct);
        return rows.Select(r => new ChatCallDto(r.CallId, r.HostId, r.LessonMode, Utc(r.StartedAt)!.Value, Utc(r.EndedAt), r.Attendees, r.ParticipantSeconds)).ToList();
    }

    /// <summary>The chat's moderators and owners, the call's host and whoever started it (a stand-in host took it over).</summary>
    private async Task RequireAttendanceViewerAsync(Guid me, Guid chatId, Storage.Calls.CallRow call, CancellationToken ct)
    {
        // Membership first: anyone outside the chat learns nothing (chat_not_found).
        var role = await chatService.RoleAsync(chatId, me, ct);
        if (role == "member" && me != call.HostId && me != call.Starter)
        {
            throw new ChatException(ChatError.AttendanceNotAllowed);
        }
    }

    private static DateTimeOffset? Utc(DateTime? t) =>
        t is { } v ? new DateTimeOffset(DateTime.SpecifyKind(v, DateTimeKind.Utc)) : null;
}
