-- Polls and file exchange. A poll and a message with files are messages of the chat's sequence (kinds 'poll' and
-- 'files'); closing a poll is a change in that sequence ('poll_closed'). Files are content addressed (SHA-256): the
-- bytes live in the file store (IFileStore) once per content, the rows below say who uploaded what and where it is shown.

-- Polls ------------------------------------------------------------------------------------------------------------

ALTER TABLE message_changes DROP CONSTRAINT message_changes_kind_check;
ALTER TABLE message_changes ADD CONSTRAINT message_changes_kind_check CHECK (kind IN ('edited', 'deleted', 'reactions', 'poll_closed'));

CREATE TABLE polls (
    chat_id         uuid NOT NULL,
    message_seq     bigint NOT NULL,
    question        text NOT NULL CHECK (length(question) BETWEEN 1 AND 300),
    options         text[] NOT NULL CHECK (cardinality(options) BETWEEN 2 AND 12),
    multiple        boolean NOT NULL DEFAULT false,
    anonymous       boolean NOT NULL DEFAULT false,
    quiz            boolean NOT NULL DEFAULT false,
    -- Quiz mode: the index of the right option; shown to a voter after they vote, to everyone once the poll is closed.
    correct_option  smallint,
    closes_at       timestamptz,
    closed_at       timestamptz,
    -- Who closed it early; null when it closed by itself at closes_at.
    closed_by       uuid REFERENCES accounts(id),
    PRIMARY KEY (chat_id, message_seq),
    UNIQUE (chat_id, message_seq, anonymous),
    FOREIGN KEY (chat_id, message_seq) REFERENCES messages(chat_id, seq) ON DELETE CASCADE,
    CHECK (quiz = (correct_option IS NOT NULL)),
    CHECK (NOT quiz OR NOT multiple),
    CHECK (correct_option IS NULL OR correct_option BETWEEN 0 AND cardinality(options) - 1)
);
-- Every node looks for polls that are due to close; this keeps that look cheap.
CREATE INDEX polls_due ON polls (closes_at) WHERE closed_at IS NULL AND closes_at IS NOT NULL;

-- One ballot per person per poll: the primary key says so. The voter is a keyed hash (HMAC with a server key that is not
-- in the database) of the poll and the account, so in an anonymous poll even this table does not link people to options;
-- the account id (and the time of the vote) is kept only in open polls, where everyone sees who voted for what.
CREATE TABLE poll_ballots (
    chat_id      uuid NOT NULL,
    message_seq  bigint NOT NULL,
    voter_key    bytea NOT NULL CHECK (length(voter_key) = 32),
    anonymous    boolean NOT NULL,
    account_id   uuid REFERENCES accounts(id) ON DELETE CASCADE,
    options      smallint[] NOT NULL CHECK (cardinality(options) BETWEEN 1 AND 12),
    voted_at     timestamptz,
    PRIMARY KEY (chat_id, message_seq, voter_key),
    FOREIGN KEY (chat_id, message_seq, anonymous) REFERENCES polls(chat_id, message_seq, anonymous) ON DELETE CASCADE,
    CHECK (anonymous = (account_id IS NULL)),
    CHECK (anonymous = (voted_at IS NULL))
);

-- The poll as everyone in the chat sees it (JSON, camelCase): question, options with counts and, in open polls, voters.
-- The right answer of a quiz is here only once the poll is closed.
CREATE FUNCTION message_poll_json(p_chat uuid, p_seq bigint) RETURNS text LANGUAGE sql STABLE AS $$
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
                'voters', CASE WHEN p.anonymous THEN NULL ELSE coalesce(t.voters, '[]'::json) END) ORDER BY o.i)
            FROM unnest(p.options) WITH ORDINALITY o(text, i)
            LEFT JOIN tally t ON t.option = o.i - 1)
    )::text
    FROM polls p WHERE p.chat_id = p_chat AND p.message_seq = p_seq
$$;

-- Files ------------------------------------------------------------------------------------------------------------

-- One row per stored content (the object's key in the file store is the hex SHA-256).
CREATE TABLE file_blobs (
    sha256      bytea PRIMARY KEY CHECK (length(sha256) = 32),
    size        bigint NOT NULL CHECK (size >= 0),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- An upload: who sent which content under which name, in which school. Retrying an upload with the same upload id
-- finds the stored one (unique per uploader).
CREATE TABLE files (
    id                uuid PRIMARY KEY,
    school_id         uuid NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    uploader_id       uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    upload_id         uuid NOT NULL,
    sha256            bytea NOT NULL REFERENCES file_blobs(sha256),
    name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    kind              text NOT NULL CHECK (kind IN ('image', 'audio', 'video', 'document')),
    content_type      text NOT NULL,
    size              bigint NOT NULL CHECK (size > 0),
    width             int,
    height            int,
    duration_ms       bigint,
    thumbnail_sha256  bytea REFERENCES file_blobs(sha256),
    created_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (uploader_id, upload_id)
);
CREATE INDEX files_school ON files (school_id);
CREATE INDEX files_sha256 ON files (sha256);
CREATE INDEX files_thumbnail ON files (thumbnail_sha256) WHERE thumbnail_sha256 IS NOT NULL;

-- Files shown in a message, in order. Access to a file follows the messages that show it.
CREATE TABLE message_files (
    chat_id      uuid NOT NULL,
    message_seq  bigint NOT NULL,
    position     smallint NOT NULL CHECK (position BETWEEN 0 AND 9),
    file_id      uuid NOT NULL REFERENCES files(id),
    PRIMARY KEY (chat_id, message_seq, position),
    FOREIGN KEY (chat_id, message_seq) REFERENCES messages(chat_id, seq) ON DELETE CASCADE
);
CREATE INDEX message_files_file ON message_files (file_id);

-- The files of a message as its readers see them (JSON, camelCase).
CREATE FUNCTION message_files_json(p_chat uuid, p_seq bigint) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT json_agg(json_build_object(
        'id', f.id,
        'name', f.name,
        'kind', f.kind,
        'contentType', f.content_type,
        'size', f.size,
        'width', f.width,
        'height', f.height,
        'durationMs', f.duration_ms,
        'hasThumbnail', f.thumbnail_sha256 IS NOT NULL) ORDER BY mf.position)::text
    FROM message_files mf JOIN files f ON f.id = mf.file_id
    WHERE mf.chat_id = p_chat AND mf.message_seq = p_seq
$$;
