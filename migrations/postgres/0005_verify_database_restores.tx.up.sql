-- Issue 10: verification results on snapshots, verify drills on schedules,
-- and restores into a database (format 'database', a target source, the
-- request's options and a per-database report).
ALTER TABLE snapshots ADD COLUMN verified_at TIMESTAMPTZ;
--bun:split
ALTER TABLE snapshots ADD COLUMN verify_status TEXT CHECK (verify_status IN ('ok', 'failed', 'corrupt'));
--bun:split
ALTER TABLE snapshots ADD COLUMN verify_report JSONB;
--bun:split
ALTER TABLE schedules ADD COLUMN verify_mode TEXT CHECK (verify_mode IN ('latest', 'sample'));
--bun:split
ALTER TABLE schedules ADD COLUMN verify_every_minutes INTEGER CHECK (verify_every_minutes >= 1);
--bun:split
ALTER TABLE schedules ADD COLUMN next_verify_at TIMESTAMPTZ;
--bun:split
ALTER TABLE restores ADD COLUMN into_source_id TEXT REFERENCES sources (id) ON DELETE SET NULL;
--bun:split
ALTER TABLE restores ADD COLUMN options JSONB;
--bun:split
ALTER TABLE restores ADD COLUMN report JSONB;
--bun:split
ALTER TABLE restores DROP CONSTRAINT restores_format_check;
--bun:split
ALTER TABLE restores ADD CONSTRAINT restores_format_check CHECK (format IN ('zip', 'tar.zst', 'database'));
--bun:split
CREATE INDEX schedules_verify_due_idx ON schedules (next_verify_at);
