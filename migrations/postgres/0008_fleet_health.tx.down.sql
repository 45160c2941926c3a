ALTER TABLE sources DROP COLUMN overdue_raised_at;
--bun:split
ALTER TABLE schedules DROP COLUMN alert_after_minutes;
--bun:split
ALTER TABLE agents DROP COLUMN storage_total_bytes;
--bun:split
ALTER TABLE agents DROP COLUMN storage_free_bytes;
--bun:split
ALTER TABLE agents DROP COLUMN draining;
