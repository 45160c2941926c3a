-- Schedules fire once per slot; retention policies belong to sources.

-- One row per schedule slot that fired (or was skipped): UNIQUE (schedule_id,
-- slot) makes a slot fire once even with several hub replicas racing.
CREATE TABLE schedule_runs (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    slot        TIMESTAMP NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('queued', 'skipped_active', 'skipped_disabled')),
    job_id      TEXT,
    created_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);
--bun:split
CREATE UNIQUE INDEX schedule_runs_slot_key ON schedule_runs (schedule_id, slot);
--bun:split
-- The retention policy of a source (the one applied; a schedule's policy,
-- when given, is written here). No row = the empty policy (keep everything).
CREATE TABLE retention_policies (
    source_id  TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    policy     TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    updated_at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    FOREIGN KEY (tenant_id, source_id) REFERENCES sources (tenant_id, id) ON DELETE CASCADE
);
--bun:split
CREATE INDEX schedules_due_idx ON schedules (enabled, next_run_at);
--bun:split
CREATE INDEX jobs_snapshot_idx ON jobs (snapshot_id);
