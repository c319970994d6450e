-- migrate: each statement on its own
-- A forwarded copy now records whose words it carries (forwarded_from.senderId): when that person deletes their
-- account, the school's copies stop naming them, and under the «remove» policy go with their own messages. Forwards
-- are few, so the index is partial and small. Built CONCURRENTLY, outside a transaction (first line): sends go on
-- meanwhile; each statement may run again after an interruption. Copies forwarded before this carry no senderId and
-- keep the name they showed.
DROP INDEX CONCURRENTLY IF EXISTS messages_forwarded_sender;
CREATE INDEX CONCURRENTLY messages_forwarded_sender ON messages ((forwarded_from ->> 'senderId')) WHERE forwarded_from IS NOT NULL;
