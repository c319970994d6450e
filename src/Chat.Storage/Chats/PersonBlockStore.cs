using Chat.Storage.Infrastructure;
using Dapper;

namespace Chat.Storage.Chats;

/// <summary>
/// One person blocking another (a pupil blocks a stranger): the block, and the blocked person's place in their direct
/// chats, change together. A blocked person leaves the direct chats with the blocker (they can neither write nor read
/// there) and comes back when the block is lifted, if still a member of that chat's school.
/// </summary>
public sealed class PersonBlockStore
{
    public static string DirectKey(Guid a, Guid b) => a.CompareTo(b) < 0 ? $"{a:N}:{b:N}" : $"{b:N}:{a:N}";

    public async Task<IReadOnlyList<MembershipChange>> SetAsync(DbScope s, Guid blocker, Guid blocked, bool block, CancellationToken ct)
    {
        var key = DirectKey(blocker, blocked);
        var sql = block
            ? """
              INSERT INTO person_blocks (blocker_id, blocked_id) VALUES (@blocker, @blocked) ON CONFLICT DO NOTHING;
              DELETE FROM chat_members cm USING chats c
              WHERE cm.chat_id = c.id AND c.kind = 'direct' AND c.direct_key = @key AND cm.account_id = @blocked
              RETURNING cm.chat_id, cm.account_id, false AS added;
              """
            : """
              WITH lifted AS (DELETE FROM person_blocks WHERE blocker_id = @blocker AND blocked_id = @blocked RETURNING 1)
              INSERT INTO chat_members (chat_id, account_id, role, source)
              SELECT c.id, @blocked, 'member', 'manual' FROM chats c
              WHERE c.kind = 'direct' AND c.direct_key = @key
                -- Only a block lifted brings back whom it took out, and only into a chat the blocker is in or is kept
                -- out of by the other's block of her (the two blocked each other: each unblocking brings one back): a
                -- chat the school's rules closed for both (a stranger unlinked from a child) stays closed.
                AND EXISTS (SELECT 1 FROM lifted)
                AND (EXISTS (SELECT 1 FROM chat_members me WHERE me.chat_id = c.id AND me.account_id = @blocker)
                     OR EXISTS (SELECT 1 FROM person_blocks pb WHERE pb.blocker_id = @blocked AND pb.blocked_id = @blocker))
                AND EXISTS (SELECT 1 FROM school_members sm JOIN accounts a ON a.id = sm.account_id AND a.deleted_at IS NULL
                            WHERE sm.school_id = c.school_id AND sm.account_id = @blocked)
              ON CONFLICT DO NOTHING
              RETURNING chat_id, account_id, true AS added;
              """;
        return (await s.Connection.QueryAsync<MembershipChange>(new CommandDefinition(sql, new { blocker, blocked, key }, s.Transaction, cancellationToken: ct))).AsList();
    }
}
