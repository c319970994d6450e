-- Moderation by the school's rules, restrictions (blocks and mutes), reports, moderation cases of admins,
-- daily activity for statistics, and account deletion policy.

-- The school's rules of communication; every moderation action cites one of them.
CREATE TABLE school_rules (
    id          uuid PRIMARY KEY,
    school_id   uuid NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    number      int NOT NULL,
    text        text NOT NULL CHECK (length(text) BETWEEN 1 AND 1000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    archived_at timestamptz,
    UNIQUE (school_id, id)
);
CREATE UNIQUE INDEX school_rules_number ON school_rules (school_id, number) WHERE archived_at IS NULL;

-- A violation of a rule recorded by a moderator against a member of a chat; blocking needs more than three.
CREATE TABLE violations (
    id            uuid PRIMARY KEY,
    chat_id       uuid NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    account_id    uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    rule_id       uuid NOT NULL REFERENCES school_rules(id),
    message_seq   bigint,
    moderator_id  uuid NOT NULL REFERENCES accounts(id),
    note          text,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX violations_member ON violations (chat_id, account_id);

-- Blocks (up to a month, after more than three violations) and mutes (minutes to hours). Active while not lifted
-- and not yet ended; they end by themselves at ends_at.
CREATE TABLE chat_restrictions (
    id            uuid PRIMARY KEY,
    chat_id       uuid NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    account_id    uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('block', 'mute')),
    rule_id       uuid NOT NULL REFERENCES school_rules(id),
    reason        text NOT NULL,
    moderator_id  uuid NOT NULL REFERENCES accounts(id),
    starts_at     timestamptz NOT NULL DEFAULT now(),
    ends_at       timestamptz NOT NULL,
    lifted_at     timestamptz,
    lifted_by     uuid REFERENCES accounts(id),
    CHECK (ends_at > starts_at),
    CHECK (kind <> 'block' OR ends_at <= starts_at + interval '1 month'),
    CHECK (kind <> 'mute' OR ends_at <= starts_at + interval '24 hours')
);
CREATE INDEX chat_restrictions_active ON chat_restrictions (chat_id, account_id) WHERE lifted_at IS NULL;

-- "Пожаловаться": members report a message citing a rule; the chat's moderators resolve reports.
CREATE TABLE message_reports (
    id            uuid PRIMARY KEY,
    chat_id       uuid NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    message_seq   bigint NOT NULL,
    reporter_id   uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    rule_id       uuid NOT NULL REFERENCES school_rules(id),
    comment       text,
    status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    resolution    text CHECK (resolution IN ('deleted', 'warned', 'dismissed')),
    resolved_by   uuid REFERENCES accounts(id),
    resolved_at   timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (chat_id, message_seq) REFERENCES messages(chat_id, seq) ON DELETE CASCADE
);
CREATE UNIQUE INDEX message_reports_once ON message_reports (chat_id, message_seq, reporter_id) WHERE status = 'open';
CREATE INDEX message_reports_chat ON message_reports (chat_id, status, created_at);

-- An admin acts in a chat they are not a member of only through a logged case with a reason, for a limited time.
CREATE TABLE moderation_cases (
    id          uuid PRIMARY KEY,
    school_id   uuid NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    chat_id     uuid NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    admin_id    uuid NOT NULL REFERENCES accounts(id),
    reason      text NOT NULL,
    opened_at   timestamptz NOT NULL DEFAULT now(),
    closes_at   timestamptz NOT NULL
);
CREATE INDEX moderation_cases_open ON moderation_cases (chat_id, admin_id, closes_at);

-- Who was active on which day in which school (one row per person per school per day), for usage statistics.
CREATE TABLE daily_activity (
    school_id   uuid NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    account_id  uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    day         date NOT NULL,
    PRIMARY KEY (school_id, day, account_id)
);

-- What happens to a deleted account's messages: kept under «Удалённый пользователь», or removed (tombstones).
ALTER TABLE schools ADD COLUMN deleted_user_messages text NOT NULL DEFAULT 'keep' CHECK (deleted_user_messages IN ('keep', 'remove'));

-- A moderator's deletion of someone else's message names the rule.
ALTER TABLE messages ADD COLUMN deleted_rule_id uuid REFERENCES school_rules(id);
