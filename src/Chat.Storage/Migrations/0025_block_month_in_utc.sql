-- A block lasts at most a month. The server checks that month in UTC (DateTime.AddMonths); the table's check added it
-- in the session's time zone, which differs around a month's end (2026-03-30 22:30 UTC is 31 March in Moscow: a month
-- later is 29 April 22:30 UTC there, 30 April 22:30 UTC in UTC), so a block the server allowed failed the insert with
-- a 500. Now both count the month in UTC. The server enforces the month exactly; the table is the backstop, with an hour
-- to spare for clocks: rows stored before took their start from the database's clock and their limit from the server's,
-- and lifting one (an update, which checks the row again) must not fail over a few seconds between the two. Rows stored
-- under the old check are not checked when it is added (NOT VALID).
ALTER TABLE chat_restrictions DROP CONSTRAINT chat_restrictions_check1;
ALTER TABLE chat_restrictions ADD CONSTRAINT chat_restrictions_block_month
    CHECK (kind <> 'block' OR ends_at <= ((starts_at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC' + interval '1 hour') NOT VALID;
