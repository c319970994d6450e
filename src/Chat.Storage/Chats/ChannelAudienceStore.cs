using Chat.Storage.Infrastructure;
using Dapper;

namespace Chat.Storage.Chats;

/// <summary>Who an audience channel is for (migration 0009): roles, optionally of some classes. The roster sync does the rest.</summary>
public sealed class ChannelAudienceStore
{
    /// <summary>Marks the chat as a roster-kept audience channel and records its audience.</summary>
    public async Task SetAsync(DbScope s, Guid chatId, IReadOnlyCollection<string> roles, IReadOnlyCollection<Guid> classIds, CancellationToken ct)
    {
        await s.Connection.ExecuteAsync(new CommandDefinition(
            """
            UPDATE chats SET system_key = 'audience:' || id::text WHERE id = @chatId;
            INSERT INTO channel_audiences (chat_id, class_id, role)
            SELECT @chatId, c.class_id, r.role
            FROM unnest(@roles::text[]) r(role)
            CROSS JOIN (SELECT unnest(@classIds::uuid[]) AS class_id UNION ALL SELECT NULL WHERE cardinality(@classIds::uuid[]) = 0) c
            ON CONFLICT DO NOTHING;
            """,
            new { chatId, roles = roles.ToArray(), classIds = classIds.ToArray() }, s.Transaction, cancellationToken: ct));
    }
}
