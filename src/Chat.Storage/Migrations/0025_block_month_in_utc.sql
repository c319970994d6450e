-- A block lasts at most a month. The server checks that month in UTC (DateTime.AddMonths); the table's check added it
-- in the session's time zone, which differs around a month's end (2026-03-30 22:30 UTC is 31 March in Moscow: a month
-- later is 29 April 22:30 UTC there, 30 April 22:30 UTC in UTC), so a block the server allowed failed the insert with
-- a 500. Now both count the month in UTC. Rows stored under the old check are not re-checked (NOT VALID): either way
-- they are within a month.
ALTER TABLE chat_restrictions DROP CONSTRAINT chat_restrictions_check1;
ALTER TABLE chat_restrictions ADD CONSTRAINT chat_restrictions_block_month
    CHECK (kind <> 'block' OR ends_at <= ((starts_at AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC') NOT VALID;
