-- A member joins a chat with what was written before they joined read (docs/data-model.md, chat_members.read_seq).
-- Before, read_seq started at 0: a parent who joined a school found its channel and the class's parents' chat with up
-- to 1000 unread each (the count's cap), and so did a pupil moved to another class or a newly attached class teacher.
-- Every way of joining inserts a row here (roster sync, an invite link, a hand-made chat, a direct chat), so the rule
-- lives with the table. «Read by» of a message leaves out whoever joined after it was written (MessageService).
CREATE FUNCTION chat_members_join_read() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.read_seq := GREATEST(NEW.read_seq, coalesce((SELECT last_seq FROM chats WHERE id = NEW.chat_id), 0));
    RETURN NEW;
END $$;

CREATE TRIGGER chat_members_join_read BEFORE INSERT ON chat_members FOR EACH ROW EXECUTE FUNCTION chat_members_join_read();
