-- migrate: each statement on its own
-- Sends got slower as a chat's history grew (docs/performance.md, found with EXPLAIN under load):
-- * messages_sender (chat_id, sender_id, seq DESC) looked as selective as the unique (chat_id, sender_id, client_id)
--   index to the planner (it takes chat and sender as independent), so the resend check of every send walked all of
--   the sender's earlier messages in the chat (78 index entries and 650 buffers per batch after 80 messages each).
--   Without it the unique index is the only one that matches a resend check.
-- * The slow-mode check read the same way (every message of the sender in the chat, filtered by time); by
--   (sender_id, created_at) it reads only the sender's messages inside the slow-mode window. The same index serves a
--   person's data export and the removal of a deleted account's messages, which had no index at all.
-- Built CONCURRENTLY, outside a transaction (first line): on a large table sends go on while it is built. (Databases
-- that applied this migration before it had that line built it inside the migration's transaction; the result is the
-- same index.) Each statement may run again after an interruption: a half-built index is invalid and dropped first.
-- The new index is built before the old one goes, so there is no moment with neither.
DROP INDEX CONCURRENTLY IF EXISTS messages_sender_time;
CREATE INDEX CONCURRENTLY messages_sender_time ON messages (sender_id, created_at DESC);
DROP INDEX CONCURRENTLY IF EXISTS messages_sender;
