DROP INDEX IF EXISTS jobs_snapshot_idx;
--bun:split
DROP INDEX IF EXISTS schedules_due_idx;
--bun:split
DROP TABLE IF EXISTS retention_policies;
--bun:split
DROP TABLE IF EXISTS schedule_runs;
