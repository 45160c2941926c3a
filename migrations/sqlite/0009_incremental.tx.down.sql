ALTER TABLE jobs DROP COLUMN backup_plan;
--bun:split
DROP INDEX snapshots_parent_idx;
--bun:split
ALTER TABLE snapshots DROP COLUMN config_hash;
--bun:split
ALTER TABLE snapshots DROP COLUMN chain_bytes;
--bun:split
ALTER TABLE snapshots DROP COLUMN chain_position;
--bun:split
ALTER TABLE snapshots DROP COLUMN full_snapshot_id;
--bun:split
ALTER TABLE snapshots DROP COLUMN parent_snapshot_id;
--bun:split
ALTER TABLE snapshots DROP COLUMN kind;
