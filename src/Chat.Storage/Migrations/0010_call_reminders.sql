-- Reminders of scheduled calls: "starts soon" (a configurable lead time before starts_at) and "starts now". Every chat
-- node polls for due reminders; each reminder is claimed by a conditional UPDATE (... IS NULL ... RETURNING), so
-- exactly one node sends it however many run. Cancelled plans and plans whose call has started get none.
ALTER TABLE call_plans ADD COLUMN reminded_at timestamptz;
ALTER TABLE call_plans ADD COLUMN start_reminded_at timestamptz;

-- The pollers' search: plans not yet reminded at their start, by start time.
CREATE INDEX call_plans_due_reminders ON call_plans (starts_at)
    WHERE start_reminded_at IS NULL AND cancelled_at IS NULL AND call_id IS NULL;
