-- The active people of the statistics count days of the reader's time zone (docs/api.md, the statistics row): "today"
-- starts at local midnight, which is not a UTC day's start. A row of daily_activity (one per person, school and UTC day)
-- now also keeps the last time the person connected that day; a window that ends now (today, the last 7 or 30 local
-- days) counts the people whose last time is in it. Rows without it — written before, or during a rolling deploy by a
-- node that does not know the column yet — count from their UTC day's midnight (no backfill: the table may be large,
-- and an old node's insert must not fail on a NOT NULL it does not know).
ALTER TABLE daily_activity ADD COLUMN last_seen_at timestamptz;
