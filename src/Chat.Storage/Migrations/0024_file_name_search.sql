-- migrate: each statement on its own
-- Search finds a message of files by its caption and its files' names together, as one text (a parent looks for
-- «расписание» and the timetable came as «Расписание_звонков.docx» with no caption; «расписание звонков» finds the
-- caption «Расписание на неделю» with the file «звонки.pdf»). Dots, underscores and hyphens separate words in a file
-- name: without that «report.pdf» or «IMG_2034.jpg» would be one token each, found by nobody.
-- message_files_text is that text (the search's highlight reads it too); messages.files_search holds its vector for messages of files only (NULL for every other message, so the
-- hot path of text messages is untouched): set when the files are attached, kept when the caption is edited (the
-- trigger below), filled here for the files messages already stored. Its index is partial (files messages only) and,
-- as messages_search (0011), without a pending list. Built CONCURRENTLY, outside a transaction (first line): sends
-- and reads go on while it is built; every statement may run again after an interruption.
ALTER TABLE messages ADD COLUMN IF NOT EXISTS files_search tsvector;
CREATE OR REPLACE FUNCTION message_files_text(p_chat uuid, p_seq bigint, p_text text) RETURNS text LANGUAGE sql STABLE AS $$ SELECT p_text || coalesce((SELECT E'\n' || string_agg(translate(f.name, '._-', '   '), E'\n' ORDER BY mf.position) FROM message_files mf JOIN files f ON f.id = mf.file_id WHERE mf.chat_id = p_chat AND mf.message_seq = p_seq), '') $$;
CREATE OR REPLACE FUNCTION message_files_search(p_chat uuid, p_seq bigint, p_text text) RETURNS tsvector LANGUAGE sql STABLE AS $$ SELECT to_tsvector('russian', message_files_text(p_chat, p_seq, p_text)) $$;
CREATE OR REPLACE FUNCTION messages_files_search_on_edit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.files_search := message_files_search(NEW.chat_id, NEW.seq, NEW.text); RETURN NEW; END $$;
DROP TRIGGER IF EXISTS messages_files_search_on_edit ON messages;
CREATE TRIGGER messages_files_search_on_edit BEFORE UPDATE OF text ON messages FOR EACH ROW WHEN (NEW.files_search IS NOT NULL) EXECUTE FUNCTION messages_files_search_on_edit();
UPDATE messages SET files_search = message_files_search(chat_id, seq, text) WHERE kind = 'files' AND files_search IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS messages_files_search;
CREATE INDEX CONCURRENTLY messages_files_search ON messages USING gin (files_search) WITH (fastupdate = off) WHERE files_search IS NOT NULL;
