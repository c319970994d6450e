-- Search finds a message by the names of its files too (a parent looks for «расписание» and the timetable came as
-- «Расписание_звонков.docx» with no caption). Dots, underscores and hyphens separate words in a file name: without
-- that «report.pdf» or «IMG_2034.jpg» would be one token each, found by nobody.
ALTER TABLE files ADD COLUMN name_search tsvector
    GENERATED ALWAYS AS (to_tsvector('russian', translate(name, '._-', '   '))) STORED;
CREATE INDEX files_name_search ON files USING gin (name_search);
