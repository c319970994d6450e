-- A call's roster: who belonged to its chat when the call started, with their role then. The attendance list of a
-- lesson is this roster plus everyone who was in the call, so a pupil who left (or changed) the class later still
-- appears for the lessons of his old class, present or absent, and a pupil who came to the class later does not.
-- A trigger writes it, so every path that opens a call (StartCall, JoinScheduledCall, broadcasts) records it.
CREATE TABLE call_roster (
    call_id     uuid NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    account_id  uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    chat_role   text NOT NULL,
    PRIMARY KEY (call_id, account_id)
);

CREATE FUNCTION call_roster_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO call_roster (call_id, account_id, chat_role)
    SELECT NEW.id, m.account_id, m.role FROM chat_members m WHERE m.chat_id = NEW.chat_id;
    RETURN NEW;
END
$$;

CREATE TRIGGER call_roster_record AFTER INSERT ON calls
    FOR EACH ROW EXECUTE FUNCTION call_roster_record();

-- Calls recorded before this migration: their chat's members now, which is what their attendance showed until now.
INSERT INTO call_roster (call_id, account_id, chat_role)
SELECT c.id, m.account_id, m.role FROM calls c JOIN chat_members m ON m.chat_id = c.chat_id;
