-- Issue 9: test_connection jobs (and the verify and copy jobs of later
-- issues) and a result column for what a job reports besides a snapshot.
ALTER TABLE jobs ADD COLUMN result JSONB;
--bun:split
ALTER TABLE jobs DROP CONSTRAINT jobs_type_check;
--bun:split
ALTER TABLE jobs ADD CONSTRAINT jobs_type_check
    CHECK (type IN ('backup', 'restore', 'delete_snapshot', 'test_connection', 'verify', 'copy'));
