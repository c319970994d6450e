-- Resumable uploads (docs/files-and-polls.md, "Resumable upload"): a large file sent in chunks over a bad connection.
-- The bytes received so far live in the file store's folder (root/.staging/uploads/<id>.part, appended to by each
-- chunk; its length is the offset). The row says whose upload it is and what was promised, so every node (they share
-- the folder) answers the same, a restart loses nothing, and the cleanup finds expired uploads with one index scan.
-- Once the last byte arrived the upload is an ordinary file: files(uploader_id, upload_id = this id).
CREATE TABLE file_uploads (
    id           uuid PRIMARY KEY,
    school_id    uuid NOT NULL REFERENCES schools(id) ON DELETE CASCADE,
    uploader_id  uuid NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
    size         bigint NOT NULL CHECK (size > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- The last chunk (or the creation): an upload nobody continued for Files:UploadExpirySeconds is removed.
    touched_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX file_uploads_uploader ON file_uploads (uploader_id);
CREATE INDEX file_uploads_school ON file_uploads (school_id);
CREATE INDEX file_uploads_touched ON file_uploads (touched_at);
