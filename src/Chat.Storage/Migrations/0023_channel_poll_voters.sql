-- A channel's readers are not shown to each other (docs/policies.md): a poll in a read-only chat names no voters, as an
-- anonymous one does (its readers see the counts and their own choice). The school channel's poll of 2000 parents also
-- no longer carries 2000 account ids in every push.
CREATE OR REPLACE FUNCTION message_poll_json(p_chat uuid, p_seq bigint) RETURNS text LANGUAGE sql STABLE AS $$
    WITH tally AS (
        SELECT o AS option, count(*)::int AS votes,
               json_agg(b.account_id ORDER BY b.voted_at, b.account_id) FILTER (WHERE b.account_id IS NOT NULL) AS voters
        FROM poll_ballots b CROSS JOIN LATERAL unnest(b.options) o
        WHERE b.chat_id = p_chat AND b.message_seq = p_seq
        GROUP BY o
    )
    SELECT json_build_object(
        'question', p.question,
        'multiple', p.multiple,
        'anonymous', p.anonymous,
        'quiz', p.quiz,
        'closesAt', to_char(p.closes_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'closedAt', to_char(p.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'totalVoters', (SELECT count(*)::int FROM poll_ballots b WHERE b.chat_id = p_chat AND b.message_seq = p_seq),
        'correctOptionId', CASE WHEN p.closed_at IS NOT NULL THEN p.correct_option END,
        'options', (
            SELECT json_agg(json_build_object(
                'id', o.i - 1,
                'text', o.text,
                'votes', coalesce(t.votes, 0),
                'voters', CASE WHEN p.anonymous OR ch.read_only THEN NULL ELSE coalesce(t.voters, '[]'::json) END) ORDER BY o.i)
            FROM unnest(p.options) WITH ORDINALITY o(text, i)
            LEFT JOIN tally t ON t.option = o.i - 1)
    )::text
    FROM polls p JOIN chats ch ON ch.id = p.chat_id WHERE p.chat_id = p_chat AND p.message_seq = p_seq
$$;
