-- Calls: one live call per chat, its participants and where its SFU room lives. The state is here (not only in a
-- node's memory) so a call survives a chat-server restart and any node can serve it.

CREATE TABLE calls (
    id           uuid PRIMARY KEY,
    chat_id      uuid NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    -- The teacher who started the call; only the host moderates and ends it.
    host_id      uuid NOT NULL REFERENCES accounts(id),
    -- Lesson mode: pupils join muted with the camera off and speak when the host allows.
    lesson_mode  boolean NOT NULL DEFAULT false,
    locked       boolean NOT NULL DEFAULT false,
    -- The Janus instance (its configured URL) and VideoRoom room of this call; the room secret never leaves the server.
    sfu_url      text,
    sfu_room     bigint,
    sfu_secret   text,
    started_at   timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz
);
-- At most one live call per chat.
CREATE UNIQUE INDEX calls_live_per_chat ON calls (chat_id) WHERE ended_at IS NULL;
CREATE INDEX calls_live_by_sfu ON calls (sfu_url) WHERE ended_at IS NULL;

CREATE TABLE call_participants (
    call_id        uuid NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    account_id     uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    present        boolean NOT NULL DEFAULT true,
    removed        boolean NOT NULL DEFAULT false,
    audio_muted    boolean NOT NULL DEFAULT true,
    video_muted    boolean NOT NULL DEFAULT true,
    speak_allowed  boolean NOT NULL DEFAULT false,
    hand_raised    boolean NOT NULL DEFAULT false,
    -- The Janus publisher id while the participant publishes.
    feed_id        bigint,
    joined_at      timestamptz NOT NULL DEFAULT now(),
    left_at        timestamptz,
    PRIMARY KEY (call_id, account_id)
);
CREATE INDEX call_participants_account ON call_participants (account_id);
