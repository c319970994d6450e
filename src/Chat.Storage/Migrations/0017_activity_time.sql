-- The active people of the statistics count days of the reader's time zone (docs/api.md, the statistics row): "today"
-- starts at local midnight, which is not a UTC day's start. A row of daily_activity (one per person, school and UTC day)
-- now also keeps the last time the person connected that day; a window that ends now (today, the last 7 or 30 local
-- days) counts the people whose last time is in it. Rows written before keep only their day: they count from that UTC
-- day's midnight.
ALTER TABLE daily_activity ADD COLUMN last_seen_at timestamptz;
UPDATE daily_activity SET last_seen_at = day::timestamp AT TIME ZONE 'UTC';
ALTER TABLE daily_activity ALTER COLUMN last_seen_at SET NOT NULL;
