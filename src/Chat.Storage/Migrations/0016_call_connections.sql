-- A participant whose page vanished (the tab closed, the phone died, the network went for good) leaves the call by
-- itself (docs/calls.md, "A page that vanished"). The hub connections that joined for the person are remembered (a
-- second device joins on its own connection); when the last of them closes and none joins again within
-- Calls:Presence:GoneAfter, a sweeper on any node takes them out of the call, and their attendance ends when that
-- connection closed, not when it was noticed. gone_since stays on a row the sweep took out: such a person may come
-- back into a call locked meanwhile.
ALTER TABLE call_participants
    ADD COLUMN connection_ids text[] NOT NULL DEFAULT '{}',
    ADD COLUMN gone_since     timestamptz;

CREATE INDEX call_participants_gone ON call_participants (gone_since) WHERE present AND gone_since IS NOT NULL;

CREATE OR REPLACE FUNCTION call_attendance_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.present AND (TG_OP = 'INSERT' OR NOT OLD.present) THEN
        INSERT INTO call_attendance (call_id, account_id, joined_at) VALUES (NEW.call_id, NEW.account_id, clock_timestamp())
        ON CONFLICT (call_id, account_id) WHERE left_at IS NULL DO NOTHING;
    ELSIF NOT NEW.present AND TG_OP = 'UPDATE' AND OLD.present THEN
        -- Gone with its last connection: the stretch ended when that closed.
        UPDATE call_attendance SET left_at = greatest(joined_at, least(clock_timestamp(), coalesce(NEW.gone_since, clock_timestamp())))
        WHERE call_id = NEW.call_id AND account_id = NEW.account_id AND left_at IS NULL;
    END IF;
    RETURN NEW;
END
$$;
