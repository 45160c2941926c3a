-- Issue 10: verification results on snapshots, verify drills on schedules,
-- and restores into a database (format 'database', a target source, the
-- request's options and a per-database report).
ALTER TABLE snapshots ADD COLUMN verified_at TIMESTAMP;
--bun:split
ALTER TABLE snapshots ADD COLUMN verify_status TEXT CHECK (verify_status IN ('ok', 'failed', 'corrupt'));
--bun:split
ALTER TABLE snapshots ADD COLUMN verify_report TEXT;
--bun:split
ALTER TABLE schedules ADD COLUMN verify_mode TEXT CHECK (verify_mode IN ('latest', 'sample'));
--bun:split
ALTER TABLE schedules ADD COLUMN verify_every_minutes INTEGER CHECK (verify_every_minutes >= 1);
--bun:split
ALTER TABLE schedules ADD COLUMN next_verify_at TIMESTAMP;
--bun:split
ALTER TABLE restores ADD COLUMN into_source_id TEXT REFERENCES sources (id) ON DELETE SET NULL;
--bun:split
ALTER TABLE restores ADD COLUMN options TEXT;
--bun:split
ALTER TABLE restores ADD COLUMN report TEXT;
--bun:split
-- Widening an IN-list through writable_schema, as in 0004.
PRAGMA writable_schema = ON;
--bun:split
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (format IN (''zip'', ''tar.zst''))',
                          'CHECK (format IN (''zip'', ''tar.zst'', ''database''))')
 WHERE type = 'table' AND name = 'restores';
--bun:split
PRAGMA writable_schema = RESET;
--bun:split
CREATE INDEX schedules_verify_due_idx ON schedules (next_verify_at);
