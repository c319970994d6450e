-- A refresh whose answer was lost (docs/api.md, "Renewing the tokens"): the client renews with a random renewal id and
-- repeats the same id when it retries with the same refresh token. The session remembers the id's hash and when it
-- rotated, so a retry with both within Auth:RefreshRetrySeconds gets a new pair instead of being taken for a copied
-- token; a spent token without the id (or after the window) still revokes the session.
ALTER TABLE sessions
    ADD COLUMN rotated_at       timestamptz,
    ADD COLUMN rotation_id_hash bytea;
