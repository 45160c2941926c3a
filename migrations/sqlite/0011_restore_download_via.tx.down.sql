ALTER TABLE restores DROP COLUMN download_url_kek_id;
--bun:split
ALTER TABLE restores DROP COLUMN download_url_sealed;
--bun:split
ALTER TABLE restores DROP COLUMN download_via;
