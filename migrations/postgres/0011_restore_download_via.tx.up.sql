-- Issue 13, downloads of S3 snapshots: download_via says where a restore's
-- file is served from. 'agent': the agent's download server (the link is
-- download_url + "/download/" + token, as before); 'bucket': the file is
-- written back to the snapshot's bucket and the link is a presigned GET URL.
-- That URL is a bearer secret, so it is never stored in clear:
-- download_url_sealed holds it sealed with the KEK (AEAD, additional data =
-- keys.DownloadURLAD: tenant id + restore id), like download_token_sealed.
ALTER TABLE restores ADD COLUMN download_via TEXT NOT NULL DEFAULT 'agent' CHECK (download_via IN ('agent', 'bucket'));
--bun:split
ALTER TABLE restores ADD COLUMN download_url_sealed BYTEA;
--bun:split
ALTER TABLE restores ADD COLUMN download_url_kek_id TEXT;
