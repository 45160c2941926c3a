DELETE FROM jobs WHERE type IN ('test_connection', 'verify', 'copy');
--bun:split
ALTER TABLE jobs DROP CONSTRAINT jobs_type_check;
--bun:split
ALTER TABLE jobs ADD CONSTRAINT jobs_type_check CHECK (type IN ('backup', 'restore', 'delete_snapshot'));
--bun:split
ALTER TABLE jobs DROP COLUMN result;
