-- Issue 11, fleet health: what agents report in heartbeats (storage free and
-- total bytes), the platform admin's drain flag (a draining agent claims no
-- new jobs), a per-schedule alert_after (minutes; NULL = twice the
-- schedule's period plus 1 h) and when source.overdue was last raised for a
-- source (so it is raised once per overdue period, not on every sweep).
ALTER TABLE agents ADD COLUMN draining BOOLEAN NOT NULL DEFAULT false;
--bun:split
ALTER TABLE agents ADD COLUMN storage_free_bytes BIGINT CHECK (storage_free_bytes >= 0);
--bun:split
ALTER TABLE agents ADD COLUMN storage_total_bytes BIGINT CHECK (storage_total_bytes >= 0);
--bun:split
ALTER TABLE schedules ADD COLUMN alert_after_minutes INTEGER CHECK (alert_after_minutes >= 1);
--bun:split
ALTER TABLE sources ADD COLUMN overdue_raised_at TIMESTAMPTZ;
