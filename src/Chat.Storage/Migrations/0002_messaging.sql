-- Messaging: chats of every kind, members with read positions, messages with a gap-free per-chat sequence,
-- and change events (edits, deletions, reactions) that share that sequence so catch-up returns them too.

ALTER TABLE schools ADD COLUMN pupil_safe_mode boolean NOT NULL DEFAULT true;

CREATE TABLE chats (
    id                 uuid PRIMARY KEY,
    school_id          uuid NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    kind               text NOT NULL CHECK (kind IN ('direct', 'class', 'parents', 'staff_room', 'subject', 'group', 'channel')),
    -- Chats the server keeps in sync with the roster: 'class:<id>', 'parents:<id>', 'staff_room', 'school_channel', 'staff_channel'.
    system_key         text,
    class_id           uuid,
    title              text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    avatar_url         text,
    rules              text NOT NULL DEFAULT '',
    rules_version      int NOT NULL DEFAULT 1,
    -- In a read-only chat (a channel) only owners and moderators post.
    read_only          boolean NOT NULL DEFAULT false,
    slow_mode_seconds  int NOT NULL DEFAULT 0 CHECK (slow_mode_seconds BETWEEN 0 AND 86400),
    created_by         uuid REFERENCES accounts(id),
    created_at         timestamptz NOT NULL DEFAULT now(),
    archived_at        timestamptz,
    last_seq           bigint NOT NULL DEFAULT 0,
    last_message_at    timestamptz,
    -- For direct chats: the two account ids in order, so a pair has one chat per school.
    direct_key         text,
    FOREIGN KEY (school_id, class_id) REFERENCES classes(school_id, id)
);
CREATE UNIQUE INDEX chats_system_key ON chats (school_id, system_key) WHERE system_key IS NOT NULL;
CREATE UNIQUE INDEX chats_direct_key ON chats (school_id, direct_key) WHERE direct_key IS NOT NULL;
CREATE INDEX chats_school ON chats (school_id);

CREATE TABLE chat_members (
    chat_id                 uuid NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    account_id              uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role                    text NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'moderator', 'owner')),
    -- 'roster': added and removed by the server as the school's roster changes; 'manual': added by a person or a link.
    source                  text NOT NULL DEFAULT 'manual' CHECK (source IN ('roster', 'manual')),
    joined_at               timestamptz NOT NULL DEFAULT now(),
    rules_accepted_version  int,
    read_seq                bigint NOT NULL DEFAULT 0,
    pinned                  boolean NOT NULL DEFAULT false,
    muted_until             timestamptz,
    PRIMARY KEY (chat_id, account_id)
);
CREATE INDEX chat_members_account ON chat_members (account_id);

CREATE TABLE messages (
    chat_id        uuid NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    seq            bigint NOT NULL,
    sender_id      uuid REFERENCES accounts(id),
    client_id      uuid NOT NULL,
    kind           text NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'system', 'poll', 'files')),
    text           text NOT NULL DEFAULT '',
    reply_to_seq   bigint,
    forwarded_from jsonb,
    mentions       uuid[] NOT NULL DEFAULT '{}',
    created_at     timestamptz NOT NULL DEFAULT now(),
    edited_at      timestamptz,
    deleted_at     timestamptz,
    deleted_by     uuid REFERENCES accounts(id),
    -- The seq of the last change (edit, deletion, reaction) to this message; equals seq until it changes.
    version_seq    bigint NOT NULL,
    search         tsvector GENERATED ALWAYS AS (to_tsvector('russian', text)) STORED,
    PRIMARY KEY (chat_id, seq)
);
CREATE UNIQUE INDEX messages_client_id ON messages (chat_id, sender_id, client_id);
CREATE INDEX messages_sender ON messages (chat_id, sender_id, seq DESC);
CREATE INDEX messages_mentions ON messages USING gin (mentions);
CREATE INDEX messages_search ON messages USING gin (search);

-- Edits, deletions and reactions take their own place in the chat's sequence.
CREATE TABLE message_changes (
    chat_id      uuid NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    seq          bigint NOT NULL,
    message_seq  bigint NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('edited', 'deleted', 'reactions')),
    actor_id     uuid REFERENCES accounts(id),
    at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, seq),
    FOREIGN KEY (chat_id, message_seq) REFERENCES messages(chat_id, seq) ON DELETE CASCADE
);

-- Earlier texts of edited messages, for moderators.
CREATE TABLE message_edits (
    chat_id      uuid NOT NULL,
    message_seq  bigint NOT NULL,
    old_text     text NOT NULL,
    edited_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (chat_id, message_seq) REFERENCES messages(chat_id, seq) ON DELETE CASCADE
);
CREATE INDEX message_edits_message ON message_edits (chat_id, message_seq);

CREATE TABLE message_reactions (
    chat_id      uuid NOT NULL,
    message_seq  bigint NOT NULL,
    account_id   uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    emoji        text NOT NULL CHECK (length(emoji) BETWEEN 1 AND 16),
    at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chat_id, message_seq, account_id, emoji),
    FOREIGN KEY (chat_id, message_seq) REFERENCES messages(chat_id, seq) ON DELETE CASCADE
);

-- A person (a pupil, typically) blocks someone: that someone can no longer start a direct chat with them.
CREATE TABLE person_blocks (
    blocker_id  uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    blocked_id  uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (blocker_id, blocked_id),
    CHECK (blocker_id <> blocked_id)
);

-- Who belongs to which chat the server keeps in sync with the roster, and in which chat role.
CREATE FUNCTION roster_chat_members(p_school uuid)
RETURNS TABLE (chat_id uuid, account_id uuid, role text) LANGUAGE sql STABLE AS $$
    WITH live AS (
        SELECT m.* FROM school_members m JOIN accounts a ON a.id = m.account_id AND a.deleted_at IS NULL
        WHERE m.school_id = p_school
    ), sys AS (
        SELECT c.id, c.system_key FROM chats c WHERE c.school_id = p_school AND c.system_key IS NOT NULL AND c.archived_at IS NULL
    )
    -- The staff room: every teacher and admin; admins moderate.
    SELECT s.id, l.account_id, CASE WHEN l.is_admin THEN 'moderator' ELSE 'member' END
    FROM sys s JOIN live l ON l.is_teacher OR l.is_admin WHERE s.system_key = 'staff_room'
    UNION ALL
    -- The administration: admins and the director.
    SELECT s.id, l.account_id, CASE WHEN l.is_director THEN 'owner' ELSE 'moderator' END
    FROM sys s JOIN live l ON l.is_admin OR l.is_director WHERE s.system_key = 'administration'
    UNION ALL
    -- The school channel: everyone; admins post.
    SELECT s.id, l.account_id, CASE WHEN l.is_admin THEN 'owner' ELSE 'member' END
    FROM sys s CROSS JOIN live l WHERE s.system_key = 'school_channel'
    UNION ALL
    -- The staff channel: staff; admins post.
    SELECT s.id, l.account_id, CASE WHEN l.is_admin THEN 'owner' ELSE 'member' END
    FROM sys s JOIN live l ON l.is_teacher OR l.is_admin WHERE s.system_key = 'staff_channel'
    UNION ALL
    -- A class chat: the class's pupils, and its class teachers as moderators.
    SELECT s.id, st.account_id, 'member'
    FROM sys s JOIN students st ON s.system_key = 'class:' || st.class_id::text AND st.school_id = p_school
    JOIN live l ON l.account_id = st.account_id
    UNION ALL
    -- A parents' chat: parents of the class's pupils (once each, however many children).
    SELECT DISTINCT s.id, pl.parent_id, 'member'
    FROM sys s JOIN students st ON s.system_key = 'parents:' || st.class_id::text AND st.school_id = p_school
    JOIN parent_links pl ON pl.school_id = p_school AND pl.child_id = st.account_id
    JOIN live l ON l.account_id = pl.parent_id
    WHERE NOT EXISTS (SELECT 1 FROM class_teachers ct WHERE ct.class_id = st.class_id AND ct.account_id = pl.parent_id)
    UNION ALL
    SELECT s.id, ct.account_id, 'moderator'
    FROM sys s JOIN class_teachers ct ON ct.school_id = p_school
      AND (s.system_key = 'class:' || ct.class_id::text OR s.system_key = 'parents:' || ct.class_id::text)
    JOIN live l ON l.account_id = ct.account_id
$$;
