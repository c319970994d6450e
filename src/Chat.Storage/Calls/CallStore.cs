using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Calls;

public sealed record CallRow(
    Guid Id, Guid ChatId, Guid HostId, bool LessonMode, bool Locked, string? SfuUrl, long? SfuRoom, string? SfuSecret,
    DateTime StartedAt, DateTime? EndedAt, bool WaitingRoom = false, string Kind = "call", Guid? StartedBy = null)
{
    /// <summary>Who started the call (the host unless someone took the place of a host who was away).</summary>
    public Guid Starter => StartedBy ?? HostId;
}

public sealed record CallParticipantRow(
    Guid CallId, Guid AccountId, bool Present, bool Removed, bool AudioMuted, bool VideoMuted, bool SpeakAllowed,
    bool HandRaised, long? FeedId, bool ShareAllowed, long? ScreenFeedId);

/// <summary>Calls and their participants. Changes go through <see cref="LockAsync"/> in a transaction, so two nodes never interleave.</summary>
public sealed class CallStore(NpgsqlDataSource db)
{
    private const string CallColumns = "id, chat_id, host_id, lesson_mode, locked, sfu_url, sfu_room, sfu_secret, started_at, ended_at, waiting_room, kind, started_by";
    private const string ParticipantColumns = "call_id, account_id, present, removed, audio_muted, video_muted, speak_allowed, hand_raised, feed_id, share_allowed, screen_feed_id";

    /// <summary>Inserts a live call; returns false when the chat already has one (the unique index decides).</summary>
    public async Task<bool> TryInsertAsync(DbScope s, CallRow call, CancellationToken ct)
    {
        var inserted = await s.Connection.ExecuteAsync(new CommandDefinition(
            $"""
            INSERT INTO calls ({CallColumns}) VALUES (@Id, @ChatId, @HostId, @LessonMode, @Locked, @SfuUrl, @SfuRoom, @SfuSecret, now(), NULL, @WaitingRoom, @Kind, coalesce(@StartedBy, @HostId))
            ON CONFLICT (chat_id) WHERE ended_at IS NULL DO NOTHING
            """, call, s.Transaction, cancellationToken: ct));
        return inserted == 1;
    }

    public async Task<CallRow?> GetAsync(Guid callId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<CallRow>(new CommandDefinition(
            $"SELECT {CallColumns} FROM calls WHERE id = @callId", new { callId }, cancellationToken: ct));
    }

    public async Task<CallRow?> LiveInChatAsync(Guid chatId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<CallRow>(new CommandDefinition(
            $"SELECT {CallColumns} FROM calls WHERE chat_id = @chatId AND ended_at IS NULL", new { chatId }, cancellationToken: ct));
    }

    /// <summary>
    /// Of these people, those present in a live call of a school they are no longer a member of (an admitted guest,
    /// who is in no chat of it, who then left the school), with the call.
    /// </summary>
    public async Task<IReadOnlyList<(CallRow Call, Guid AccountId)>> PresentOutsideTheirSchoolAsync(IReadOnlyCollection<Guid> accountIds, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var ids = (await c.QueryAsync<(Guid CallId, Guid AccountId)>(new CommandDefinition(
            """
            SELECT k.id, p.account_id
            FROM call_participants p JOIN calls k ON k.id = p.call_id AND k.ended_at IS NULL JOIN chats ch ON ch.id = k.chat_id
            WHERE p.account_id = ANY (@accountIds) AND p.present
              AND NOT EXISTS (SELECT 1 FROM school_members sm WHERE sm.school_id = ch.school_id AND sm.account_id = p.account_id)
            """, new { accountIds = accountIds.ToArray() }, cancellationToken: ct))).AsList();
        if (ids.Count == 0)
        {
            return [];
        }

        var live = (await c.QueryAsync<CallRow>(new CommandDefinition(
            $"SELECT {CallColumns} FROM calls WHERE id = ANY (@callIds) AND ended_at IS NULL",
            new { callIds = ids.Select(i => i.CallId).Distinct().ToArray() }, cancellationToken: ct))).ToDictionary(k => k.Id);
        return ids.Where(i => live.ContainsKey(i.CallId)).Select(i => (live[i.CallId], i.AccountId)).ToList();
    }

    /// <summary>The live calls of a school's chats.</summary>
    public async Task<IReadOnlyList<CallRow>> LiveInSchoolAsync(Guid schoolId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<CallRow>(new CommandDefinition(
            $"SELECT {CallColumns} FROM calls WHERE ended_at IS NULL AND chat_id IN (SELECT id FROM chats WHERE school_id = @schoolId)",
            new { schoolId }, cancellationToken: ct))).AsList();
    }

    /// <summary>The advisory lock key of a call (<c>@callId</c>): taken by <see cref="LockAsync"/> before the call's row.</summary>
    public const string LockKeySql = "hashtextextended('call:' || @callId::text, 0)";

    /// <summary>
    /// Locks the call row for the rest of the transaction and returns it with its participants: every one of a call;
    /// of a broadcast, those <paramref name="focus"/> names and those who are more than a viewer (the host, presenters,
    /// anyone publishing or with a raised hand), with the count of the present viewers left out (a broadcast may have
    /// thousands, and a viewer's join or leave must not read them all). <paramref name="shared"/>: a share lock, for
    /// changes of one's own row only that leave the call's flags as they are (joining a broadcast), so that such changes
    /// run side by side (and commit together) while every other change waits for them and they for it. The call's
    /// advisory lock (<see cref="LockKeySql"/>) is taken before its row: PostgreSQL queues those fairly, so a host's
    /// change waiting for a stream of joins is next, and later joins wait behind it (share locks of a row would let new
    /// joins in ahead of it for as long as they overlap).
    /// </summary>
    public async Task<(CallRow Call, IReadOnlyList<CallParticipantRow> Participants, int OtherViewers)?> LockAsync(
        DbScope s, Guid callId, IReadOnlyCollection<Guid> focus, CancellationToken ct, bool shared = false)
    {
        await s.Connection.ExecuteAsync(new CommandDefinition(
            $"SELECT {(shared ? "pg_advisory_xact_lock_shared" : "pg_advisory_xact_lock")}({LockKeySql})", new { callId }, s.Transaction, cancellationToken: ct));
        var call = await s.Connection.QuerySingleOrDefaultAsync<CallRow>(new CommandDefinition(
            $"SELECT {CallColumns} FROM calls WHERE id = @callId {(shared ? "FOR SHARE" : "FOR UPDATE")}", new { callId }, s.Transaction, cancellationToken: ct));
        if (call is null)
        {
            return null;
        }

        var (participants, others) = await ReadParticipantsAsync(s.Connection, s.Transaction, call, focus, ct);
        return (call, participants, others);
    }

    /// <summary>The call's participants as <see cref="LockAsync"/> reads them, without a lock.</summary>
    public async Task<(IReadOnlyList<CallParticipantRow> Participants, int OtherViewers)> ParticipantsAsync(
        CallRow call, IReadOnlyCollection<Guid> focus, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await ReadParticipantsAsync(c, null, call, focus, ct);
    }

    /// <summary>One participant of the call, or null.</summary>
    public async Task<CallParticipantRow?> ParticipantAsync(Guid callId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.QuerySingleOrDefaultAsync<CallParticipantRow>(new CommandDefinition(
            $"SELECT {ParticipantColumns} FROM call_participants WHERE call_id = @callId AND account_id = @accountId",
            new { callId, accountId }, cancellationToken: ct));
    }

    private static async Task<(IReadOnlyList<CallParticipantRow>, int)> ReadParticipantsAsync(
        NpgsqlConnection c, NpgsqlTransaction? tx, CallRow call, IReadOnlyCollection<Guid> focus, CancellationToken ct)
    {
        if (call.Kind != "broadcast")
        {
            return ((await c.QueryAsync<CallParticipantRow>(new CommandDefinition(
                $"SELECT {ParticipantColumns} FROM call_participants WHERE call_id = @callId", new { callId = call.Id }, tx, cancellationToken: ct))).AsList(), 0);
        }

        const string MoreThanAViewer =
            "account_id = ANY (@focus) OR account_id = @host OR speak_allowed OR hand_raised OR feed_id IS NOT NULL OR screen_feed_id IS NOT NULL";
        await using var read = await c.QueryMultipleAsync(new CommandDefinition(
            $"""
            SELECT {ParticipantColumns} FROM call_participants WHERE call_id = @callId AND ({MoreThanAViewer});
            SELECT count(*)::int FROM call_participants WHERE call_id = @callId AND present AND NOT ({MoreThanAViewer});
            """,
            new { callId = call.Id, host = call.HostId, focus = focus.ToArray() }, tx, cancellationToken: ct));
        var participants = (await read.ReadAsync<CallParticipantRow>()).AsList();
        return (participants, await read.ReadSingleAsync<int>());
    }

    /// <summary>
    /// Writes the call's flags and the given participants (insert or update); when the call ended, every participant
    /// still present leaves (also those the change did not read).
    /// </summary>
    /// <summary>The call's new host (someone took the place of a host who was away).</summary>
    public Task SetHostAsync(DbScope s, Guid callId, Guid hostId, CancellationToken ct) =>
        s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE calls SET host_id = @hostId WHERE id = @callId", new { callId, hostId }, s.Transaction, cancellationToken: ct));

    public async Task SaveAsync(DbScope s, Guid callId, bool locked, bool ended, IEnumerable<CallParticipantRow> participants, CancellationToken ct, bool? waitingRoom = null)
    {
        // Only when a flag changes: changes under a share lock (LockAsync) leave the row alone, so they never wait for each other.
        await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE calls SET locked = @locked, waiting_room = coalesce(@waitingRoom, waiting_room), ended_at = CASE WHEN @ended THEN coalesce(ended_at, now()) END
            WHERE id = @callId AND (locked <> @locked OR waiting_room <> coalesce(@waitingRoom, waiting_room) OR (ended_at IS NOT NULL) <> @ended)
            """,
            new { callId, locked, ended, waitingRoom }, s.Transaction, cancellationToken: ct));
        foreach (var p in participants)
        {
            await s.Connection.ExecuteAsync(new CommandDefinition(
                $"""
                INSERT INTO call_participants ({ParticipantColumns}) VALUES (@CallId, @AccountId, @Present, @Removed, @AudioMuted, @VideoMuted, @SpeakAllowed, @HandRaised, @FeedId, @ShareAllowed, @ScreenFeedId)
                ON CONFLICT (call_id, account_id) DO UPDATE SET present = excluded.present, removed = excluded.removed,
                    audio_muted = excluded.audio_muted, video_muted = excluded.video_muted, speak_allowed = excluded.speak_allowed,
                    hand_raised = excluded.hand_raised, feed_id = excluded.feed_id,
                    share_allowed = excluded.share_allowed, screen_feed_id = excluded.screen_feed_id,
                    left_at = CASE WHEN excluded.present THEN NULL ELSE coalesce(call_participants.left_at, now()) END
                """, p, s.Transaction, cancellationToken: ct));
        }

        if (ended)
        {
            // Whoever the change did not read (a broadcast's viewers) leaves with the call's end too.
            await s.Connection.ExecuteAsync(new CommandDefinition(
                """
                UPDATE call_participants SET present = false, feed_id = NULL, screen_feed_id = NULL, left_at = coalesce(left_at, now())
                WHERE call_id = @callId AND present
                """, new { callId }, s.Transaction, cancellationToken: ct));
        }
    }

    /// <summary>
    /// Gives the live call the room <paramref name="room"/> only if it has none (a room made without holding the call's
    /// lock: another node may have stored one meanwhile, or the call ended). Returns whether it did. One statement, which
    /// waits for nothing but the row, so it needs no call lock before it.
    /// </summary>
    public async Task<bool> TrySetSfuAsync(DbScope s, Guid callId, string url, long room, string secret, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE calls SET sfu_url = @url, sfu_room = @room, sfu_secret = @secret WHERE id = @callId AND sfu_room IS NULL AND ended_at IS NULL",
            new { callId, url, room, secret }, s.Transaction, cancellationToken: ct)) == 1;

    /// <summary>How many live calls each SFU instance holds (for placing a new call on the least loaded one).</summary>
    public async Task<IReadOnlyDictionary<string, int>> LiveCallsPerSfuAsync(CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<(string Url, long Count)>(new CommandDefinition(
            "SELECT sfu_url, count(*) FROM calls WHERE ended_at IS NULL AND sfu_url IS NOT NULL GROUP BY sfu_url", cancellationToken: ct));
        return rows.ToDictionary(r => r.Url, r => (int)r.Count);
    }

    /// <summary>Live calls on one SFU instance (to tell their participants after that instance restarted).</summary>
    public async Task<IReadOnlyList<CallRow>> LiveOnSfuAsync(string url, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<CallRow>(new CommandDefinition(
            $"SELECT {CallColumns} FROM calls WHERE ended_at IS NULL AND sfu_url = @url", new { url }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Forgets the call's room after its Janus instance restarted, only if it is still <paramref name="room"/> (a node
    /// that noticed late must not forget a room made since). Returns whether this call changed it.
    /// </summary>
    public async Task<bool> ForgetRoomAsync(DbScope s, Guid callId, long room, CancellationToken ct) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            "UPDATE calls SET sfu_url = NULL, sfu_room = NULL, sfu_secret = NULL WHERE id = @callId AND sfu_room = @room AND ended_at IS NULL",
            new { callId, room }, s.Transaction, cancellationToken: ct)) == 1;

    /// <summary>
    /// The hub connection <paramref name="connectionId"/> joined the call for the person (a join, a rejoin, a second
    /// device): it is one of theirs whose close counts, and whatever the close of an earlier one started is off.
    /// </summary>
    /// <paramref name="page"/>: the page it belongs to, which becomes the person's active page in the call (none: a
    /// connection that names no page, which leaves the active page as it was; no request of it is refused for its page). <paramref name="dropped"/>: connections of the person's other pages, which lost the call
    /// to this one and so no longer keep the person in it (their close then records nothing).
    public async Task MarkConnectedAsync(
        DbScope s, Guid callId, Guid accountId, string connectionId, CancellationToken ct, string? page = null, string[]? dropped = null) =>
        await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE call_participants
            SET connection_ids = array_append(
                    ARRAY(SELECT e FROM unnest(connection_ids) WITH ORDINALITY AS u(e, i)
                          WHERE e <> @connectionId AND NOT (e = ANY (@dropped)) ORDER BY i),
                    @connectionId),
                gone_since = NULL,
                active_page = coalesce(@page, active_page),
                active_connection = CASE WHEN @page IS NULL THEN active_connection ELSE @connectionId END
            WHERE call_id = @callId AND account_id = @accountId
            """, new { callId, accountId, connectionId, page, dropped = dropped ?? [] }, s.Transaction, cancellationToken: ct));

    /// <summary>
    /// The person's active page in the call (<c>active_page</c>: the page that joined last), whether the hub connection
    /// it joined from is still open (among their connections), and their connections; read under the call's lock
    /// before a join changes them.
    /// </summary>
    public async Task<(string? Page, bool Live, string[] Connections)> ActivePageAsync(DbScope s, Guid callId, Guid accountId, CancellationToken ct)
    {
        var (page, live, connections) = await s.Connection.QuerySingleOrDefaultAsync<(string?, bool, string[]?)>(new CommandDefinition(
            """
            SELECT active_page, coalesce(active_connection = ANY (connection_ids), false), connection_ids
            FROM call_participants WHERE call_id = @callId AND account_id = @accountId
            """, new { callId, accountId }, s.Transaction, cancellationToken: ct));
        return (page, live, connections ?? []);
    }

    /// <summary>The person's active page in the call (null: none recorded), for refusing media requests from other pages.</summary>
    public async Task<string?> ActivePageAsync(Guid callId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<string?>(new CommandDefinition(
            "SELECT active_page FROM call_participants WHERE call_id = @callId AND account_id = @accountId AND present",
            new { callId, accountId }, cancellationToken: ct));
    }

    /// <summary>
    /// A hub connection that joined the call for the person closed: it is forgotten, and when it was the last of
    /// theirs, they are gone since now unless one joins again in time. Returns whether that made them gone.
    /// </summary>
    public async Task<bool> ConnectionClosedAsync(Guid callId, Guid accountId, string connectionId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<bool?>(new CommandDefinition(
            """
            UPDATE call_participants
            SET connection_ids = array_remove(connection_ids, @connectionId),
                gone_since = CASE WHEN present AND gone_since IS NULL AND cardinality(array_remove(connection_ids, @connectionId)) = 0
                                  THEN now() ELSE gone_since END
            WHERE call_id = @callId AND account_id = @accountId AND @connectionId = ANY (connection_ids)
            RETURNING gone_since IS NOT NULL AND present
            """, new { callId, accountId, connectionId }, cancellationToken: ct)) == true;
    }

    /// <summary>
    /// Of these (call, person) pairs whose Janus handles the node <paramref name="node"/> holds, those whose handles are
    /// left over: the person is not present in a live call (<c>Moved</c> false), or is present only through hub
    /// connections of other nodes (<c>Moved</c> true: their page rejoined elsewhere and builds its media there). A person
    /// present with no connection at all keeps their handles: their page may be on its way back to this node.
    /// </summary>
    public async Task<IReadOnlyList<(Guid CallId, Guid AccountId, bool Moved)>> LeftOverAsync(
        IReadOnlyList<(Guid Call, Guid Account)> pairs, string node, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<(Guid, Guid, bool)>(new CommandDefinition(
            """
            SELECT h.call_id, h.account_id, p.account_id IS NOT NULL
            FROM unnest(@calls::uuid[], @accounts::uuid[]) AS h(call_id, account_id)
            LEFT JOIN (call_participants p JOIN calls k ON k.id = p.call_id AND k.ended_at IS NULL)
                ON p.call_id = h.call_id AND p.account_id = h.account_id AND p.present
            WHERE p.account_id IS NULL
               OR (cardinality(p.connection_ids) > 0
                   AND NOT EXISTS (SELECT 1 FROM unnest(p.connection_ids) AS e(entry) WHERE starts_with(e.entry, @prefix)))
            """,
            new { calls = pairs.Select(p => p.Call).ToArray(), accounts = pairs.Select(p => p.Account).ToArray(), prefix = node + "/" },
            cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// This node is alive: its row in <c>hub_nodes</c> says so, and is no longer swept. Returns null, or, if another node
    /// had swept it meanwhile (took it for dead and forgot its connections), how many connections were put back: those
    /// <paramref name="live"/> gives (asked only then), in the same transaction, each (call, person, entry) into the
    /// participant's connections if they are still present, and they are no longer gone — the mark is never cleared
    /// without them. The row is locked and read first: a sweep of this node that is being committed right now is waited
    /// for and seen (one statement would read <c>swept_at</c> from its snapshot, taken before that sweep committed, and
    /// clear it unseen). The calls are locked as the sweep locks them (advisory lock, then row, in id order) before
    /// their participant rows, so a sweep of another node in the same calls cannot deadlock with the put-back. Of a
    /// person who has an active page, only that page's connection is put back: another page's lost the call, and kept
    /// her present for ever had it come back (closing the active page would no longer take her out).
    /// </summary>
    public Task<int?> NodeSeenAsync(string node, Func<IReadOnlyList<(Guid Call, Guid Account, string Entry)>> live, CancellationToken ct) =>
        DbScope.InTransactionAsync(db, async s =>
        {
            var swept = await s.Connection.ExecuteScalarAsync<bool?>(new CommandDefinition(
                "SELECT swept_at IS NOT NULL FROM hub_nodes WHERE id = @node FOR UPDATE",
                new { node }, s.Transaction, cancellationToken: ct)) == true;
            await s.Connection.ExecuteAsync(new CommandDefinition(
                """
                INSERT INTO hub_nodes (id) VALUES (@node)
                ON CONFLICT (id) DO UPDATE SET seen_at = now(), stopped_at = NULL, swept_at = NULL
                """, new { node }, s.Transaction, cancellationToken: ct));
            if (!swept)
            {
                return (int?)null;
            }

            var back = live();
            if (back.Count > 0)
            {
                var callIds = back.Select(l => l.Call).Distinct().Order().ToArray();
                foreach (var callId in callIds)
                {
                    await s.Connection.ExecuteAsync(new CommandDefinition(
                        $"SELECT pg_advisory_xact_lock({LockKeySql})", new { callId }, s.Transaction, cancellationToken: ct));
                }

                await s.Connection.ExecuteAsync(new CommandDefinition(
                    "SELECT id FROM calls WHERE id = ANY (@callIds) ORDER BY id FOR UPDATE",
                    new { callIds }, s.Transaction, cancellationToken: ct));
                await s.Connection.ExecuteAsync(new CommandDefinition(
                    """
                    UPDATE call_participants p
                    SET connection_ids = ARRAY(SELECT DISTINCT e FROM unnest(p.connection_ids || ARRAY(
                            SELECT y FROM unnest(x.entries) AS y WHERE p.active_page IS NULL OR y = p.active_connection)) AS e),
                        gone_since = NULL
                    FROM (SELECT call_id, account_id, array_agg(entry) AS entries
                          FROM unnest(@calls::uuid[], @accounts::uuid[], @entries::text[]) AS u(call_id, account_id, entry)
                          GROUP BY call_id, account_id) x
                    WHERE p.call_id = x.call_id AND p.account_id = x.account_id AND p.present
                      AND (p.active_page IS NULL OR p.active_connection = ANY (x.entries))
                    """,
                    new { calls = back.Select(l => l.Call).ToArray(), accounts = back.Select(l => l.Account).ToArray(), entries = back.Select(l => l.Entry).ToArray() },
                    s.Transaction, cancellationToken: ct));
            }

            return back.Count;
        }, ct);

    /// <summary>This node stops: its connections close because it goes, so the other nodes forget them at once.</summary>
    public async Task NodeStoppedAsync(string node, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await c.ExecuteAsync(new CommandDefinition(
            "UPDATE hub_nodes SET stopped_at = now() WHERE id = @node", new { node }, cancellationToken: ct));
    }

    /// <summary>
    /// Forgets the call connections of nodes that stopped or were not seen for <paramref name="deadAfter"/>: a present
    /// participant left with none is gone since the node was last seen (or stopped), for the sweep to take out after
    /// the grace unless they join again meanwhile. Each dead node is swept once; rows of nodes dead for a day go.
    /// Returns how many participants lost a connection.
    /// </summary>
    public async Task<int> ForgetDeadNodesAsync(TimeSpan deadAfter, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        await using var tx = await c.BeginTransactionAsync(ct);
        var dead = (await c.QueryAsync<(string Id, DateTime LastSeen)>(new CommandDefinition(
            """
            UPDATE hub_nodes SET swept_at = now()
            WHERE swept_at IS NULL AND (stopped_at IS NOT NULL OR seen_at < now() - @deadAfter)
            RETURNING id, coalesce(stopped_at, seen_at)
            """, new { deadAfter }, tx, cancellationToken: ct))).AsList();
        var forgotten = 0;
        if (dead.Count > 0)
        {
            // The calls with connections of the dead nodes are locked first, in id order, as every change of a call
            // locks them: its advisory lock (LockKeySql; exclusive, so a broadcast's stream of joins, which share it,
            // queues behind the sweep instead of starving it), then its row. The row locks and the update are one
            // statement: the array is an init plan, so every row lock is taken before the first participant row is.
            // Each row's new value is computed from the row itself, so a participant changed by a call change this
            // statement waited for is re-read at its latest (not the statement's snapshot) and only its dead entries go.
            var ids = dead.Select(d => d.Id).ToArray();
            var callIds = (await c.QueryAsync<Guid>(new CommandDefinition(
                """
                SELECT k.id FROM calls k
                WHERE k.ended_at IS NULL AND EXISTS (
                    SELECT 1 FROM call_participants p CROSS JOIN LATERAL unnest(p.connection_ids) AS e(entry)
                    WHERE p.call_id = k.id AND strpos(e.entry, '/') > 0 AND split_part(e.entry, '/', 1) = ANY (@ids))
                ORDER BY k.id
                """, new { ids }, tx, cancellationToken: ct))).AsList();
            foreach (var callId in callIds)
            {
                await c.ExecuteAsync(new CommandDefinition($"SELECT pg_advisory_xact_lock({LockKeySql})", new { callId }, tx, cancellationToken: ct));
            }

            forgotten = await c.ExecuteAsync(new CommandDefinition(
                """
                WITH dead AS (SELECT * FROM unnest(@ids::text[], @seen::timestamptz[]) AS d(id, last_seen)),
                locked AS (SELECT k.id FROM calls k WHERE k.id = ANY (@callIds) AND k.ended_at IS NULL ORDER BY k.id FOR UPDATE)
                UPDATE call_participants p
                SET (connection_ids, gone_since) = (
                    SELECT coalesce(array_agg(e.entry ORDER BY e.n) FILTER (WHERE d.id IS NULL), '{}'),
                           CASE WHEN p.present AND p.gone_since IS NULL AND bool_and(d.id IS NOT NULL)
                                THEN least(max(d.last_seen), now()) ELSE p.gone_since END
                    FROM unnest(p.connection_ids) WITH ORDINALITY AS e(entry, n)
                    LEFT JOIN dead d ON strpos(e.entry, '/') > 0 AND d.id = split_part(e.entry, '/', 1))
                WHERE p.call_id = ANY (ARRAY(SELECT id FROM locked))
                  AND EXISTS (SELECT 1 FROM unnest(p.connection_ids) AS e(entry)
                              WHERE strpos(e.entry, '/') > 0 AND split_part(e.entry, '/', 1) IN (SELECT id FROM dead))
                """,
                new { ids, seen = dead.Select(d => d.LastSeen).ToArray(), callIds = callIds.ToArray() }, tx, cancellationToken: ct));
        }

        await c.ExecuteAsync(new CommandDefinition(
            "DELETE FROM hub_nodes WHERE swept_at < now() - interval '1 day'", transaction: tx, cancellationToken: ct));
        await tx.CommitAsync(ct);
        return forgotten;
    }

    /// <summary>Participants still present whose last joining connection closed longer than <paramref name="grace"/> ago.</summary>
    public async Task<IReadOnlyList<(Guid CallId, Guid AccountId)>> GoneAsync(TimeSpan grace, int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return (await c.QueryAsync<(Guid, Guid)>(new CommandDefinition(
            "SELECT call_id, account_id FROM call_participants WHERE present AND gone_since < now() - @grace ORDER BY gone_since LIMIT @limit",
            new { grace, limit }, cancellationToken: ct))).AsList();
    }

    /// <summary>
    /// Whether the person was taken out of the call because their page vanished (not by leaving, nor by the host): they
    /// may come back even into a call locked meanwhile.
    /// </summary>
    public async Task<bool> WasSweptAsync(Guid callId, Guid accountId, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        return await c.ExecuteScalarAsync<bool>(new CommandDefinition(
            """
            SELECT EXISTS (SELECT 1 FROM call_participants
                           WHERE call_id = @callId AND account_id = @accountId AND NOT present AND NOT removed AND gone_since IS NOT NULL)
            """, new { callId, accountId }, cancellationToken: ct));
    }

    /// <summary>Whether the participant is still gone for longer than <paramref name="grace"/> (checked under the call's lock).</summary>
    public async Task<bool> IsGoneAsync(DbScope s, Guid callId, Guid accountId, TimeSpan grace, CancellationToken ct) =>
        await s.Connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            """
            SELECT EXISTS (SELECT 1 FROM call_participants
                           WHERE call_id = @callId AND account_id = @accountId AND present AND gone_since < now() - @grace)
            """, new { callId, accountId, grace }, s.Transaction, cancellationToken: ct));
}
