ALTER TABLE schedule_runs DROP COLUMN reason;
--bun:split
DELETE FROM schedule_runs WHERE outcome = 'skipped_refused';
--bun:split
PRAGMA writable_schema = ON;
--bun:split
UPDATE sqlite_schema
   SET sql = replace(sql,
       'CHECK (outcome IN (''queued'', ''skipped_active'', ''skipped_disabled'', ''skipped_refused''))',
       'CHECK (outcome IN (''queued'', ''skipped_active'', ''skipped_disabled''))')
 WHERE type = 'table' AND name = 'schedule_runs';
--bun:split
PRAGMA writable_schema = RESET;
--bun:split
DROP INDEX jobs_storage_target_idx;
--bun:split
DELETE FROM jobs WHERE storage_target_id IS NOT NULL OR type = 'copy';
--bun:split
ALTER TABLE jobs DROP COLUMN storage_target_id;
