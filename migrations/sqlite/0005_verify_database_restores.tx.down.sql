DELETE FROM restores WHERE format = 'database';
--bun:split
PRAGMA writable_schema = ON;
--bun:split
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (format IN (''zip'', ''tar.zst'', ''database''))',
                          'CHECK (format IN (''zip'', ''tar.zst''))')
 WHERE type = 'table' AND name = 'restores';
--bun:split
PRAGMA writable_schema = RESET;
--bun:split
DROP INDEX schedules_verify_due_idx;
--bun:split
ALTER TABLE restores DROP COLUMN report;
--bun:split
ALTER TABLE restores DROP COLUMN options;
--bun:split
ALTER TABLE restores DROP COLUMN into_source_id;
--bun:split
ALTER TABLE schedules DROP COLUMN next_verify_at;
--bun:split
ALTER TABLE schedules DROP COLUMN verify_every_minutes;
--bun:split
ALTER TABLE schedules DROP COLUMN verify_mode;
--bun:split
ALTER TABLE snapshots DROP COLUMN verify_report;
--bun:split
ALTER TABLE snapshots DROP COLUMN verify_status;
--bun:split
ALTER TABLE snapshots DROP COLUMN verified_at;
