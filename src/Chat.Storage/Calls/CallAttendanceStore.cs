using Chat.Storage.Statistics;
using Dapper;
using Npgsql;

namespace Chat.Storage.Calls;

/// <summary>
/// One person on a call's attendance list: a member of the chat (the class roster) or anyone who was in the call.
/// Seconds is the sum of every stretch in the call; Intervals &gt; 1 means the person dropped out and came back.
/// </summary>
public sealed record CallAttendanceRow(
    Guid AccountId, string DisplayName, string? ChatRole, int Intervals, DateTime? FirstJoinedAt, DateTime? LastLeftAt,
    bool PresentNow, bool Removed, long Seconds);

/// <summary>A past or live call of a chat, with how many people came and their summed time.</summary>
public sealed record ChatCallRow(
    Guid CallId, Guid HostId, bool LessonMode, DateTime StartedAt, DateTime? EndedAt, int Attendees, long ParticipantSeconds);

/// <summary>Calls of one school per day: for the school's usage statistics.</summary>
public sealed record CallsPerDay(DateOnly Day, int Calls, int Lessons, int CallMinutes, int ParticipantMinutes, int Attendees);

/// <summary>Reads the attendance intervals that migration 0008's trigger records.</summary>
public sealed class CallAttendanceStore(NpgsqlDataSource db)
{
    /// <summary>
    /// Everyone who was in the call plus the call's roster (its chat's members when it started, migration 0012), so
    /// the list shows who of the class never came, also after someone left the class. The chat role is the one at the
    /// start; for someone who joined the chat during the call and came, the current one; null for a waiting-room guest.
    /// Open intervals count up to the call's end, or to now while it is live.
    /// </summary>
    public async Task<IReadOnlyList<CallAttendanceRow>> ForCallAsync(Guid callId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<CallAttendanceRow>(new CommandDefinition(
            """
            WITH call AS (SELECT id, chat_id, ended_at FROM calls WHERE id = @callId),
            spans AS (
                SELECT a.account_id, count(*)::int AS intervals, min(a.joined_at) AS first_joined_at,
                       CASE WHEN bool_or(a.left_at IS NULL) THEN NULL ELSE max(a.left_at) END AS last_left_at,
                       bool_or(a.left_at IS NULL AND call.ended_at IS NULL) AS present_now,
                       sum(extract(epoch FROM coalesce(a.left_at, call.ended_at, now()) - a.joined_at))::bigint AS seconds
                FROM call_attendance a JOIN call ON a.call_id = call.id
                GROUP BY a.account_id),
            people AS (
                SELECT r.account_id FROM call_roster r JOIN call ON r.call_id = call.id
                UNION SELECT account_id FROM spans)
            SELECT p.account_id, acc.display_name, coalesce(r.chat_role, m.role) AS chat_role, coalesce(s.intervals, 0) AS intervals,
                   s.first_joined_at, s.last_left_at, coalesce(s.present_now, false) AS present_now,
                   coalesce(cp.removed, false) AS removed, coalesce(s.seconds, 0)::bigint AS seconds
            FROM people p JOIN accounts acc ON acc.id = p.account_id
            CROSS JOIN call
            LEFT JOIN call_roster r ON r.call_id = call.id AND r.account_id = p.account_id
            LEFT JOIN chat_members m ON m.chat_id = call.chat_id AND m.account_id = p.account_id
            LEFT JOIN call_participants cp ON cp.call_id = call.id AND cp.account_id = p.account_id
            LEFT JOIN spans s ON s.account_id = p.account_id
            ORDER BY s.first_joined_at NULLS LAST, acc.display_name, p.account_id
            """,
            new { callId }, cancellationToken: ct))).AsList();
    }

    /// <summary>The chat's calls, newest first.</summary>
    public async Task<IReadOnlyList<ChatCallRow>> ForChatAsync(Guid chatId, int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<ChatCallRow>(new CommandDefinition(
            """
            SELECT c.id AS call_id, c.host_id, c.lesson_mode, c.started_at, c.ended_at,
                   coalesce(a.people, 0)::int AS attendees, coalesce(a.seconds, 0)::bigint AS participant_seconds
            FROM calls c
            LEFT JOIN LATERAL (
                SELECT count(DISTINCT x.account_id) AS people,
                       sum(extract(epoch FROM coalesce(x.left_at, c.ended_at, now()) - x.joined_at)) AS seconds
                FROM call_attendance x WHERE x.call_id = c.id) a ON true
            WHERE c.chat_id = @chatId
            ORDER BY c.started_at DESC, c.id LIMIT @limit
            """,
            new { chatId, limit }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Calls of the school's chats per day over the last <paramref name="days"/> days (today and the days before), per
    /// day of <paramref name="timeZone"/> (an IANA name): <c>Day</c> is the local date.
    /// </summary>
    public async Task<IReadOnlyList<CallsPerDay>> PerDayAsync(Guid schoolId, int days, string timeZone, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<CallsPerDay>(new CommandDefinition(
            $$"""
            SELECT {{LocalDays.Of("c.started_at")}} AS day, count(*)::int AS calls,
                   (count(*) FILTER (WHERE c.lesson_mode))::int AS lessons,
                   (coalesce(sum(extract(epoch FROM coalesce(c.ended_at, now()) - c.started_at)), 0) / 60)::int AS call_minutes,
                   (coalesce(sum(a.seconds), 0) / 60)::int AS participant_minutes,
                   coalesce(sum(a.people), 0)::int AS attendees
            FROM calls c JOIN chats ch ON ch.id = c.chat_id
            LEFT JOIN LATERAL (
                SELECT count(DISTINCT x.account_id) AS people,
                       sum(extract(epoch FROM coalesce(x.left_at, c.ended_at, now()) - x.joined_at)) AS seconds
                FROM call_attendance x WHERE x.call_id = c.id) a ON true
            WHERE ch.school_id = @schoolId AND c.started_at >= {{LocalDays.Start("@days - 1")}}
            GROUP BY 1 ORDER BY 1
            """,
            new { schoolId, days, timeZone }, cancellationToken: ct))).AsList();
    }
}
