-- Issue 5: restore download links. The raw download token is never stored:
-- download_token_hash (0001) holds its sha256 for lookups, and
-- download_token_sealed holds it sealed with the KEK (AEAD, additional data =
-- tenant id + restore id), so that operators can be shown the link again
-- while a copy of the database alone yields no working link.
ALTER TABLE restores ADD COLUMN download_token_sealed BLOB;
--bun:split
ALTER TABLE restores ADD COLUMN download_token_kek_id TEXT;
--bun:split
CREATE INDEX restores_snapshot_idx ON restores (snapshot_id);
