ALTER TABLE schedule_runs DROP COLUMN reason;
--bun:split
DELETE FROM schedule_runs WHERE outcome = 'skipped_refused';
--bun:split
ALTER TABLE schedule_runs DROP CONSTRAINT schedule_runs_outcome_check;
--bun:split
ALTER TABLE schedule_runs ADD CONSTRAINT schedule_runs_outcome_check
    CHECK (outcome IN ('queued', 'skipped_active', 'skipped_disabled'));
--bun:split
DROP INDEX jobs_storage_target_idx;
--bun:split
DELETE FROM jobs WHERE storage_target_id IS NOT NULL OR type = 'copy';
--bun:split
ALTER TABLE jobs DROP COLUMN storage_target_id;
