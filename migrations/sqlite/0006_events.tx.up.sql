-- Issue 11: the durable event log behind GET /api/v1/events (SSE) and
-- webhooks. Rows are written in the transaction of the change they
-- describe (a transactional outbox); id is the monotonic event id clients
-- resume from (Last-Event-ID). Old rows are pruned (docs/api.md).
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   TEXT,
    type        TEXT NOT NULL,
    object_id   TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);
--bun:split
CREATE INDEX events_tenant_id_idx ON events (tenant_id, id);
--bun:split
CREATE INDEX events_created_idx ON events (created_at);
