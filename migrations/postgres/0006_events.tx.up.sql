-- Issue 11: the durable event log behind GET /api/v1/events (SSE) and
-- webhooks. Rows are written in the transaction of the change they
-- describe (a transactional outbox); id is the monotonic event id clients
-- resume from (Last-Event-ID). Old rows are pruned (docs/api.md).
CREATE TABLE events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   TEXT,
    type        TEXT NOT NULL,
    object_id   TEXT NOT NULL DEFAULT '',
    data        JSONB NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
--bun:split
CREATE INDEX events_tenant_id_idx ON events (tenant_id, id);
--bun:split
CREATE INDEX events_created_idx ON events (created_at);
