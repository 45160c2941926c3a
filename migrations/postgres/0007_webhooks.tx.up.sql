-- Issue 11: signed webhooks (Standard Webhooks). A webhook is a tenant's
-- URL with the event types it wants; its whsec_ secret is sealed with the
-- KEK (AD = keys.WebhookSecretAD). The dispatcher fans events out of the
-- events table into webhook_deliveries (one row per webhook and event,
-- UNIQUE so replicas cannot double it), advancing webhook_cursor; workers
-- claim due deliveries by pushing next_attempt_at forward (a lease) and
-- fence their result with claim_token.
CREATE TABLE webhooks (
    id                TEXT PRIMARY KEY,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url               TEXT NOT NULL,
    events            JSONB NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    secret_ciphertext BYTEA NOT NULL,
    kek_id            TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
--bun:split
CREATE INDEX webhooks_tenant_idx ON webhooks (tenant_id, created_at);
--bun:split
CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    tenant_id        TEXT NOT NULL,
    event_id         BIGINT,
    event_type       TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    claim_token      TEXT NOT NULL DEFAULT '',
    last_attempt_at  TIMESTAMPTZ,
    last_status_code INTEGER,
    last_error       TEXT NOT NULL DEFAULT '',
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (webhook_id, event_id)
);
--bun:split
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
--bun:split
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at);
--bun:split
CREATE TABLE webhook_cursor (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_event_id BIGINT NOT NULL
);
--bun:split
INSERT INTO webhook_cursor (id, last_event_id) SELECT 1, COALESCE(MAX(id), 0) FROM events;
