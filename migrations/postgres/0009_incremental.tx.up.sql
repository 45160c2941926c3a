-- Issue 12, incremental backups (docs/incremental.md section 4): a snapshot
-- is a full or an incremental of its parent; full_snapshot_id names the
-- chain's full (NULL for a full), chain_position counts the links below it
-- (0 for a full), chain_bytes sums the stored bytes of the chain up to it,
-- config_hash identifies the paths and excludes it was taken with (NULL: it
-- starts no chain). No foreign key: delete jobs complete in any order, and
-- retention and manual deletes keep every ancestor of a live snapshot.
-- jobs.backup_plan keeps what the claim planned for a backup
-- ({"incremental": {...}, "full_reason": "..."}), which completion checks.
ALTER TABLE snapshots ADD COLUMN kind TEXT NOT NULL DEFAULT 'full' CHECK (kind IN ('full', 'incremental'));
--bun:split
ALTER TABLE snapshots ADD COLUMN parent_snapshot_id TEXT;
--bun:split
ALTER TABLE snapshots ADD COLUMN full_snapshot_id TEXT;
--bun:split
ALTER TABLE snapshots ADD COLUMN chain_position INTEGER NOT NULL DEFAULT 0 CHECK (chain_position >= 0);
--bun:split
ALTER TABLE snapshots ADD COLUMN chain_bytes BIGINT NOT NULL DEFAULT 0 CHECK (chain_bytes >= 0);
--bun:split
UPDATE snapshots SET chain_bytes = size_bytes;
--bun:split
ALTER TABLE snapshots ADD COLUMN config_hash TEXT;
--bun:split
CREATE INDEX snapshots_parent_idx ON snapshots (parent_snapshot_id);
--bun:split
ALTER TABLE jobs ADD COLUMN backup_plan JSONB;
