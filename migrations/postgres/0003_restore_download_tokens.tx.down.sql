DROP INDEX IF EXISTS restores_snapshot_idx;
--bun:split
ALTER TABLE restores DROP COLUMN download_token_kek_id;
--bun:split
ALTER TABLE restores DROP COLUMN download_token_sealed;
