-- Issue 13, jobs on a storage target: a test_connection job of a storage
-- target (xv storage test, no source) names the target it checks; a copy
-- job (xv snapshot copy) names the target it copies to (NULL: an agent's
-- disk). No foreign key: a finished job keeps its history after the target
-- is deleted; the hub refuses to delete a target an active job names.
ALTER TABLE jobs ADD COLUMN storage_target_id TEXT;
--bun:split
CREATE INDEX jobs_storage_target_idx ON jobs (storage_target_id);
--bun:split
-- A slot whose backup the hub refused to queue (its source's storage
-- target unusable, say) is recorded as skipped_refused with the reason,
-- instead of being retried every scheduler tick. Widening the CHECK's
-- IN-list through writable_schema as 0010 does (every row still fits).
PRAGMA writable_schema = ON;
--bun:split
UPDATE sqlite_schema
   SET sql = replace(sql,
       'CHECK (outcome IN (''queued'', ''skipped_active'', ''skipped_disabled''))',
       'CHECK (outcome IN (''queued'', ''skipped_active'', ''skipped_disabled'', ''skipped_refused''))')
 WHERE type = 'table' AND name = 'schedule_runs';
--bun:split
PRAGMA writable_schema = RESET;
--bun:split
ALTER TABLE schedule_runs ADD COLUMN reason TEXT;
