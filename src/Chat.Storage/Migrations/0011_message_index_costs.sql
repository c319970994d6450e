-- Cheaper message inserts (docs/performance.md), found under load:
-- * messages_mentions was never used: mentions are only read with `= ANY(mentions)`, which a GIN index cannot serve,
--   and every insert (even of a message without mentions) added an entry to it.
-- * messages_search kept GIN's pending list (fastupdate): inserts are cheap until the list is full, then the insert
--   that finds it full merges the whole list into the index inside the sender's statement (a 583 ms batch statement,
--   a p99 spike for everyone behind it). Without the list every insert updates the index directly: a little more per
--   message, no stalls, and searches never scan an unsorted list.
DROP INDEX messages_mentions;
ALTER INDEX messages_search SET (fastupdate = off);
