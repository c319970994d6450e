using System.Text.Json;
using Chat.Storage.Infrastructure;
using Dapper;
using Npgsql;

namespace Chat.Storage.Audit;

/// <summary><c>SubjectName</c>: the person the event is about (its subject, or a join request's applicant), also after they left the school.</summary>
public sealed record AuditEvent(long Id, Guid? SchoolId, Guid? ActorId, string? ActorName, string Action, Guid? SubjectId, string Details, DateTime At, string? SubjectName = null);

/// <summary>The append-only log of what admins, teachers and moderators did (the table refuses updates and deletes).</summary>
public sealed class AuditLog(NpgsqlDataSource db)
{
    public Task AppendAsync(DbScope s, Guid? schoolId, Guid? actorId, string action, Guid? subjectId, object? details, CancellationToken ct)
    {
        var json = JsonSerializer.Serialize(details ?? new { });
        return s.Connection.ExecuteAsync(new CommandDefinition(
            "INSERT INTO audit_events (school_id, actor_id, action, subject_id, details) VALUES (@schoolId, @actorId, @action, @subjectId, @json::jsonb)",
            new { schoolId, actorId, action, subjectId, json }, s.Transaction, cancellationToken: ct));
    }

    public async Task<IReadOnlyList<AuditEvent>> ListAsync(Guid schoolId, long? beforeId, int limit, CancellationToken ct)
    {
        await using var c = await db.OpenConnectionAsync(ct);
        var rows = await c.QueryAsync<AuditEvent>(new CommandDefinition(
            """
            SELECT e.id, e.school_id, e.actor_id, a.display_name AS actor_name, e.action, e.subject_id, e.details::text AS details, e.at,
                   s.display_name AS subject_name
            FROM audit_events e LEFT JOIN accounts a ON a.id = e.actor_id
            LEFT JOIN accounts s ON s.id = CASE WHEN e.action LIKE 'join_request.%' THEN (e.details->>'AccountId')::uuid ELSE e.subject_id END
            WHERE e.school_id = @schoolId AND (@beforeId::bigint IS NULL OR e.id < @beforeId)
            ORDER BY e.id DESC LIMIT @limit
            """,
            new { schoolId, beforeId, limit }, cancellationToken: ct));
        return rows.AsList();
    }
}
