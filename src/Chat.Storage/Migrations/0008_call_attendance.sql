-- Call attendance: every stretch of time a person spent in a call. A participant row says who is in the call now;
-- this table keeps each interval (join .. leave), so a pupil who dropped and came back counts once with the sum of
-- both stretches. A trigger on call_participants writes it, so every path that changes presence (join, leave, remove,
-- end of the call) is recorded without the application having to remember.

CREATE TABLE call_attendance (
    id          bigserial PRIMARY KEY,
    call_id     uuid NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    account_id  uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    joined_at   timestamptz NOT NULL,
    -- NULL while the person is in the call.
    left_at     timestamptz,
    CHECK (left_at IS NULL OR left_at >= joined_at)
);
CREATE INDEX call_attendance_call ON call_attendance (call_id, account_id);
-- At most one open interval per person and call.
CREATE UNIQUE INDEX call_attendance_open ON call_attendance (call_id, account_id) WHERE left_at IS NULL;

CREATE FUNCTION call_attendance_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.present AND (TG_OP = 'INSERT' OR NOT OLD.present) THEN
        INSERT INTO call_attendance (call_id, account_id, joined_at) VALUES (NEW.call_id, NEW.account_id, clock_timestamp())
        ON CONFLICT (call_id, account_id) WHERE left_at IS NULL DO NOTHING;
    ELSIF NOT NEW.present AND TG_OP = 'UPDATE' AND OLD.present THEN
        UPDATE call_attendance SET left_at = clock_timestamp()
        WHERE call_id = NEW.call_id AND account_id = NEW.account_id AND left_at IS NULL;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER call_attendance_track AFTER INSERT OR UPDATE OF present ON call_participants
    FOR EACH ROW EXECUTE FUNCTION call_attendance_track();

-- Calls recorded before this migration: one interval each, from the participant row.
INSERT INTO call_attendance (call_id, account_id, joined_at, left_at)
SELECT p.call_id, p.account_id, p.joined_at,
       CASE WHEN p.present AND c.ended_at IS NULL THEN NULL ELSE greatest(p.joined_at, coalesce(p.left_at, c.ended_at, p.joined_at)) END
FROM call_participants p JOIN calls c ON c.id = p.call_id;

-- Screen sharing: the second published stream of a participant, and the host's permission for it in lesson mode.
ALTER TABLE call_participants ADD COLUMN share_allowed boolean NOT NULL DEFAULT false;
ALTER TABLE call_participants ADD COLUMN screen_feed_id bigint;
UPDATE call_participants SET share_allowed = speak_allowed;

-- Waiting room: the host opens the call to members of the same school outside the chat; they ask and wait, the host
-- admits or rejects each. Never anyone outside the school (closed space).
ALTER TABLE calls ADD COLUMN waiting_room boolean NOT NULL DEFAULT false;

CREATE TABLE call_guests (
    call_id     uuid NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    account_id  uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    status      text NOT NULL CHECK (status IN ('waiting', 'admitted', 'rejected')),
    asked_at    timestamptz NOT NULL DEFAULT now(),
    decided_at  timestamptz,
    decided_by  uuid REFERENCES accounts(id) ON DELETE SET NULL,
    PRIMARY KEY (call_id, account_id)
);

-- Broadcasts («трансляции»): presenters publish, everyone else in the chat only watches.
ALTER TABLE calls ADD COLUMN kind text NOT NULL DEFAULT 'call' CHECK (kind IN ('call', 'broadcast'));

-- Scheduled calls: a lesson at 10:00 announced in the chat, joinable a few minutes before. The first person who comes
-- in the window opens the call with the planned host as its host.
CREATE TABLE call_plans (
    id            uuid PRIMARY KEY,
    chat_id       uuid NOT NULL REFERENCES chats(id) ON DELETE CASCADE,
    host_id       uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('call', 'lesson', 'broadcast')),
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    starts_at     timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    cancelled_at  timestamptz,
    -- The call opened for this plan (once someone came).
    call_id       uuid REFERENCES calls(id) ON DELETE SET NULL
);
CREATE INDEX call_plans_chat ON call_plans (chat_id, starts_at);
