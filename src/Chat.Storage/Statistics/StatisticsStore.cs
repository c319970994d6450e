using Dapper;
using Npgsql;

namespace Chat.Storage.Statistics;

public sealed record ClassJoinStats(
    Guid ClassId, string Name, int PupilsJoined, int ParentsJoined, int PupilsWithParent,
    int PupilLinkUses, int ParentLinkUses, int PendingPupils, int PendingParents);

/// <summary>For the whole school and one role: members who joined, uses of invite links, join requests waiting.</summary>
public sealed record RoleJoinStats(string Role, int Joined, int LinkUses, int Pending);

/// <summary>Files of one kind uploaded in a school: how many, their bytes (each content once), how many in the last 30 days.</summary>
public sealed record FileKindStats(string Kind, int Files, long Bytes, int FilesLast30Days);

public sealed record ActiveUsers(string Role, int Day, int Week, int Month);

/// <summary>Messages of one chat kind on one day (a local date of the time zone the statistics were read in).</summary>
public sealed record MessagesPerDay(DateOnly Day, string ChatKind, int Messages);

/// <summary>
/// Counts for a school's admins and director: no message content, no per-person tracking beyond a daily "was active"
/// (with the time of the day's last connection, for days of the reader's time zone).
/// </summary>
public sealed class StatisticsStore(NpgsqlDataSource db)
{
    /// <summary>
    /// Records that each person was active at their time in their schools, with one statement: the row of that UTC day,
    /// whose <c>last_seen_at</c> only moves forward (idempotent). Marks of one person and day count once (the latest).
    /// </summary>
    public async Task TouchAsync(IReadOnlyCollection<(Guid AccountId, DateTimeOffset At)> marks, CancellationToken ct)
    {
        // One row per (person, UTC day): an upsert must not meet the same row twice.
        var latest = new Dictionary<(Guid, DateTime), DateTimeOffset>();
        foreach (var (accountId, at) in marks)
        {
            var key = (accountId, at.UtcDateTime.Date);
            if (!latest.TryGetValue(key, out var known) || known < at)
            {
                latest[key] = at;
            }
        }

        await using var c = await db.OpenConnectionAsync(ct);
        // In key order, so that two nodes' batches lock the rows they share in the same order (no deadlock).
        await c.ExecuteAsync(new CommandDefinition(
            """
            INSERT INTO daily_activity (school_id, account_id, day, last_seen_at)
            SELECT m.school_id, t.account_id, (t.at AT TIME ZONE 'UTC')::date, t.at
            FROM unnest(@accounts::uuid[], @ats::timestamptz[]) AS t(account_id, at)
            JOIN school_members m ON m.account_id = t.account_id
            ORDER BY m.school_id, (t.at AT TIME ZONE 'UTC')::date, t.account_id
            ON CONFLICT (school_id, day, account_id) DO UPDATE SET last_seen_at = EXCLUDED.last_seen_at
            WHERE daily_activity.last_seen_at IS NULL OR daily_activity.last_seen_at < EXCLUDED.last_seen_at
            """,
            new
            {
                accounts = latest.Keys.Select(k => k.Item1).ToArray(),
                ats = latest.Values.ToArray(),
            }, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<ClassJoinStats>> ClassesAsync(Guid schoolId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<ClassJoinStats>(new CommandDefinition(
            """
            SELECT cl.id AS class_id, cl.name,
                   (SELECT count(*)::int FROM students st WHERE st.class_id = cl.id) AS pupils_joined,
                   (SELECT count(DISTINCT pl.parent_id)::int FROM parent_links pl JOIN students st ON st.school_id = pl.school_id AND st.account_id = pl.child_id WHERE st.class_id = cl.id) AS parents_joined,
                   (SELECT count(*)::int FROM students st WHERE st.class_id = cl.id AND EXISTS (SELECT 1 FROM parent_links pl WHERE pl.school_id = st.school_id AND pl.child_id = st.account_id)) AS pupils_with_parent,
                   (SELECT coalesce(sum(uses), 0)::int FROM invites i WHERE i.class_id = cl.id AND i.role = 'student') AS pupil_link_uses,
                   (SELECT coalesce(sum(uses), 0)::int FROM invites i WHERE i.class_id = cl.id AND i.role = 'parent') AS parent_link_uses,
                   (SELECT count(*)::int FROM join_requests r WHERE r.class_id = cl.id AND r.role = 'student' AND r.status = 'pending') AS pending_pupils,
                   (SELECT count(*)::int FROM join_requests r WHERE r.class_id = cl.id AND r.role = 'parent' AND r.status = 'pending') AS pending_parents
            FROM classes cl WHERE cl.school_id = @schoolId AND cl.kind IN ('class', 'group') AND cl.archived_at IS NULL
            ORDER BY cl.grade NULLS LAST, cl.name
            """,
            new { schoolId }, cancellationToken: ct))).AsList();
    }

    public async Task<IReadOnlyList<RoleJoinStats>> RolesAsync(Guid schoolId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<RoleJoinStats>(new CommandDefinition(
            """
            SELECT r.role,
                   CASE r.role
                       WHEN 'teacher' THEN (SELECT count(*) FROM school_members m WHERE m.school_id = @schoolId AND m.is_teacher)
                       WHEN 'student' THEN (SELECT count(*) FROM students st WHERE st.school_id = @schoolId)
                       ELSE (SELECT count(DISTINCT pl.parent_id) FROM parent_links pl WHERE pl.school_id = @schoolId) END::int AS joined,
                   (SELECT coalesce(sum(i.uses), 0) FROM invites i
                    WHERE i.school_id = @schoolId AND (i.role = r.role OR (r.role = 'teacher' AND i.role = 'staff')))::int AS link_uses,
                   (SELECT count(*) FROM join_requests q
                    WHERE q.school_id = @schoolId AND q.status = 'pending' AND (q.role = r.role OR (r.role = 'teacher' AND q.role = 'staff')))::int AS pending
            FROM (VALUES (1, 'teacher'), (2, 'student'), (3, 'parent')) r(n, role)
            ORDER BY r.n
            """,
            new { schoolId }, cancellationToken: ct))).AsList();
    }

    /// <summary>The school's files by kind (counts and bytes only; each stored content counted once per kind).</summary>
    public async Task<IReadOnlyList<FileKindStats>> FilesAsync(Guid schoolId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<FileKindStats>(new CommandDefinition(
            """
            SELECT k.kind,
                   (SELECT count(*) FROM files f WHERE f.school_id = @schoolId AND f.kind = k.kind)::int AS files,
                   coalesce((SELECT sum(b.size) FROM file_blobs b WHERE b.sha256 IN (
                       SELECT f.sha256 FROM files f WHERE f.school_id = @schoolId AND f.kind = k.kind)), 0)::bigint AS bytes,
                   (SELECT count(*) FROM files f WHERE f.school_id = @schoolId AND f.kind = k.kind AND f.created_at > now() - interval '30 days')::int AS files_last30_days
            FROM (VALUES (1, 'image'), (2, 'audio'), (3, 'video'), (4, 'document')) k(n, kind)
            ORDER BY k.n
            """,
            new { schoolId }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Active people by role (those who connected) today, in the last 7 and in the last 30 days, days of
    /// <paramref name="timeZone"/> (an IANA name): since its local midnight today, 6 and 29 days before. A person's
    /// last time in a window that ends now is enough: <c>last_seen_at</c> of the rows of the UTC days the window touches.
    /// </summary>
    public async Task<IReadOnlyList<ActiveUsers>> ActiveUsersAsync(Guid schoolId, string timeZone, CancellationToken ct)
    {
        // A row without its time (migration 0017) counts from its UTC day's midnight.
        const string Seen = "coalesce(a.last_seen_at, a.day::timestamp AT TIME ZONE 'UTC')";
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<ActiveUsers>(new CommandDefinition(
            $$"""
            WITH since AS (SELECT {{LocalDays.Start("0")}} AS day, {{LocalDays.Start("6")}} AS week, {{LocalDays.Start("29")}} AS month),
            roles AS (
                SELECT m.account_id,
                       CASE WHEN m.is_admin OR m.is_teacher THEN 'staff'
                            WHEN EXISTS (SELECT 1 FROM students st WHERE st.school_id = m.school_id AND st.account_id = m.account_id) THEN 'student'
                            ELSE 'parent' END AS role
                FROM school_members m WHERE m.school_id = @schoolId
            )
            SELECT r.role,
                   count(DISTINCT a.account_id) FILTER (WHERE {{Seen}} >= since.day)::int AS day,
                   count(DISTINCT a.account_id) FILTER (WHERE {{Seen}} >= since.week)::int AS week,
                   count(DISTINCT a.account_id) FILTER (WHERE {{Seen}} >= since.month)::int AS month
            FROM roles r CROSS JOIN since
            LEFT JOIN daily_activity a ON a.school_id = @schoolId AND a.account_id = r.account_id
                 AND a.day >= (since.month AT TIME ZONE 'UTC')::date AND {{Seen}} >= since.month
            GROUP BY r.role ORDER BY r.role
            """,
            new { schoolId, timeZone }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Messages of the last <paramref name="days"/> days (today and the days before) by chat kind, per day of
    /// <paramref name="timeZone"/> (an IANA name): <c>Day</c> is the local date.
    /// </summary>
    public async Task<IReadOnlyList<MessagesPerDay>> MessagesPerDayAsync(Guid schoolId, int days, string timeZone, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<MessagesPerDay>(new CommandDefinition(
            $$"""
            SELECT {{LocalDays.Of("m.created_at")}} AS day, ch.kind AS chat_kind, count(*)::int AS messages
            FROM messages m JOIN chats ch ON ch.id = m.chat_id
            WHERE ch.school_id = @schoolId AND m.created_at >= {{LocalDays.Start("@days - 1")}}
            GROUP BY 1, 2 ORDER BY 1, 2
            """,
            new { schoolId, days, timeZone }, cancellationToken: ct))).AsList();
    }
}
