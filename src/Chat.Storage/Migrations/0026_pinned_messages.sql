-- A chat's pinned message (a class teacher pins the homework or the meeting's time above the chat): one per chat, by
-- its seq. Pinning and unpinning are changes of the message in the chat's sequence (message_changes 'pinned' and
-- 'unpinned'), so a member who was offline catches them up like an edit. A deleted message stays referenced here
-- until something else is pinned; readers skip it.
ALTER TABLE chats ADD COLUMN pinned_seq bigint;
ALTER TABLE message_changes DROP CONSTRAINT message_changes_kind_check;
-- NOT VALID: the rows already stored are of the old kinds, all allowed still, and checking them would hold every send
-- (which writes chats) behind a scan of the whole table.
ALTER TABLE message_changes ADD CONSTRAINT message_changes_kind_check
    CHECK (kind IN ('edited', 'deleted', 'reactions', 'poll_closed', 'pinned', 'unpinned')) NOT VALID;
