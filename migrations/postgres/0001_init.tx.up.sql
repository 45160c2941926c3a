-- xVault initial schema (PostgreSQL). Ids are TEXT (UUIDv4 strings) so that a
-- malformed id is simply "not found", never a cast error.

CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    plan       TEXT NOT NULL DEFAULT 'free',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
--bun:split
CREATE UNIQUE INDEX tenants_name_key ON tenants (name);
--bun:split
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email         TEXT NOT NULL,
    password_hash TEXT,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
--bun:split
CREATE UNIQUE INDEX users_email_key ON users (email);
--bun:split
CREATE TABLE agents (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'offline', 'draining')),
    version           TEXT NOT NULL DEFAULT '',
    public_key        TEXT NOT NULL DEFAULT '',
    capabilities      JSONB NOT NULL DEFAULT '{}',
    storage_base_path TEXT NOT NULL DEFAULT '',
    last_seen_at      TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now()
);
--bun:split
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('platform_admin', 'tenant', 'agent')),
    tenant_id    TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    agent_id     TEXT REFERENCES agents (id) ON DELETE CASCADE,
    role         TEXT CHECK (role IN ('owner', 'admin', 'member')),
    name         TEXT NOT NULL DEFAULT '',
    token_hash   BYTEA NOT NULL,
    created_by   TEXT REFERENCES api_tokens (id) ON DELETE SET NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at   TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    CHECK (kind <> 'tenant' OR (tenant_id IS NOT NULL AND role IS NOT NULL)),
    CHECK (kind <> 'agent' OR agent_id IS NOT NULL),
    CHECK (kind <> 'platform_admin' OR tenant_id IS NULL)
);
--bun:split
CREATE UNIQUE INDEX api_tokens_token_hash_key ON api_tokens (token_hash);
--bun:split
CREATE INDEX api_tokens_tenant_idx ON api_tokens (tenant_id, created_at);
--bun:split
CREATE TABLE enrollment_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    token_hash BYTEA NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    max_uses   INTEGER NOT NULL DEFAULT 1 CHECK (max_uses > 0),
    uses       INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0),
    created_by TEXT REFERENCES api_tokens (id) ON DELETE SET NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ
);
--bun:split
CREATE UNIQUE INDEX enrollment_tokens_token_hash_key ON enrollment_tokens (token_hash);
--bun:split
CREATE TABLE tenant_keys (
    id                    TEXT PRIMARY KEY,
    tenant_id             TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    algorithm             TEXT NOT NULL DEFAULT 'age-x25519',
    public_key            TEXT NOT NULL,
    encrypted_private_key BYTEA NOT NULL,
    kek_id                TEXT NOT NULL,
    key_status            TEXT NOT NULL DEFAULT 'active' CHECK (key_status IN ('active', 'rotated', 'disabled')),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
);
--bun:split
CREATE UNIQUE INDEX tenant_keys_one_active ON tenant_keys (tenant_id) WHERE key_status = 'active';
--bun:split
CREATE TABLE credentials (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('password', 'ssh_private_key')),
    ciphertext     BYTEA NOT NULL,
    kek_id         TEXT NOT NULL,
    has_passphrase BOOLEAN NOT NULL DEFAULT false,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id)
);
--bun:split
CREATE TABLE sources (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type                 TEXT NOT NULL CHECK (type IN ('ssh', 'sftp', 'ftp', 'mysql', 'postgres', 'wordpress', 'local')),
    name                 TEXT NOT NULL,
    status               TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    config               JSONB NOT NULL DEFAULT '{}',
    credential_id        TEXT,
    host_key_fingerprint TEXT,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id),
    -- a source may only use a credential of its own tenant
    FOREIGN KEY (tenant_id, credential_id) REFERENCES credentials (tenant_id, id)
);
--bun:split
CREATE INDEX sources_credential_idx ON sources (credential_id);
--bun:split
CREATE TABLE schedules (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source_id        TEXT NOT NULL,
    cron             TEXT,
    interval_minutes INTEGER CHECK (interval_minutes > 0),
    timezone         TEXT NOT NULL DEFAULT 'UTC',
    enabled          BOOLEAN NOT NULL DEFAULT true,
    retention_policy JSONB NOT NULL DEFAULT '{}',
    next_run_at      TIMESTAMPTZ,
    last_run_at      TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (cron IS NOT NULL OR interval_minutes IS NOT NULL),
    FOREIGN KEY (tenant_id, source_id) REFERENCES sources (tenant_id, id) ON DELETE CASCADE
);
--bun:split
CREATE INDEX schedules_next_run_idx ON schedules (next_run_at);
--bun:split
CREATE INDEX schedules_source_idx ON schedules (source_id);
--bun:split
CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source_id        TEXT REFERENCES sources (id) ON DELETE SET NULL,
    snapshot_id      TEXT,
    type             TEXT NOT NULL CHECK (type IN ('backup', 'restore', 'delete_snapshot')),
    status           TEXT NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'finalizing', 'completed', 'failed', 'canceled')),
    priority         INTEGER NOT NULL DEFAULT 0,
    target_agent_id  TEXT REFERENCES agents (id) ON DELETE SET NULL,
    agent_id         TEXT REFERENCES agents (id) ON DELETE SET NULL,
    attempt          INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
    lease_epoch      BIGINT NOT NULL DEFAULT 0,
    lease_expires_at TIMESTAMPTZ,
    run_after        TIMESTAMPTZ NOT NULL DEFAULT now(),
    cancel_requested BOOLEAN NOT NULL DEFAULT false,
    payload          JSONB NOT NULL DEFAULT '{}',
    progress         JSONB,
    warnings         JSONB,
    error_message    TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at       TIMESTAMPTZ,
    finished_at      TIMESTAMPTZ,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
--bun:split
CREATE INDEX jobs_claim_idx ON jobs (status, run_after, priority);
--bun:split
CREATE INDEX jobs_tenant_created_idx ON jobs (tenant_id, created_at);
--bun:split
CREATE INDEX jobs_source_idx ON jobs (source_id);
--bun:split
CREATE UNIQUE INDEX jobs_one_active_backup ON jobs (source_id)
    WHERE type = 'backup' AND status IN ('queued', 'running', 'finalizing');
--bun:split
CREATE TABLE snapshots (
    id                   TEXT PRIMARY KEY,
    tenant_id            TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    source_id            TEXT NOT NULL REFERENCES sources (id),
    job_id               TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    status               TEXT NOT NULL DEFAULT 'completed' CHECK (status IN ('completed', 'failed', 'deleting')),
    size_bytes           BIGINT NOT NULL DEFAULT 0,
    plain_bytes          BIGINT NOT NULL DEFAULT 0,
    file_count           BIGINT NOT NULL DEFAULT 0,
    sha256               TEXT NOT NULL DEFAULT '',
    encryption_algorithm TEXT NOT NULL DEFAULT 'age',
    encryption_recipient TEXT NOT NULL DEFAULT '',
    manifest_json        JSONB,
    storage_backend      TEXT NOT NULL DEFAULT 'local_fs' CHECK (storage_backend IN ('local_fs', 's3')),
    agent_id             TEXT NOT NULL DEFAULT '',
    local_path           TEXT NOT NULL DEFAULT '',
    started_at           TIMESTAMPTZ,
    finished_at          TIMESTAMPTZ,
    duration_ms          BIGINT NOT NULL DEFAULT 0,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
--bun:split
CREATE UNIQUE INDEX snapshots_job_id_key ON snapshots (job_id);
--bun:split
CREATE INDEX snapshots_tenant_source_created_idx ON snapshots (tenant_id, source_id, created_at);
--bun:split
CREATE INDEX snapshots_source_idx ON snapshots (source_id);
--bun:split
CREATE TABLE restores (
    id                  TEXT PRIMARY KEY,
    tenant_id           TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    snapshot_id         TEXT NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
    job_id              TEXT REFERENCES jobs (id) ON DELETE SET NULL,
    format              TEXT NOT NULL DEFAULT 'zip' CHECK (format IN ('zip', 'tar.zst')),
    paths               JSONB,
    status              TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'running', 'ready', 'failed', 'expired')),
    size_bytes          BIGINT NOT NULL DEFAULT 0,
    download_token_hash BYTEA,
    download_url        TEXT,
    expires_at          TIMESTAMPTZ,
    error_message       TEXT,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
--bun:split
CREATE UNIQUE INDEX restores_download_token_hash_key ON restores (download_token_hash);
--bun:split
CREATE INDEX restores_tenant_created_idx ON restores (tenant_id, created_at);
--bun:split
-- audit_events.tenant_id has no foreign key: the trail outlives a deleted tenant.
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   TEXT,
    details     JSONB,
    remote_addr TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
--bun:split
CREATE INDEX audit_events_tenant_created_idx ON audit_events (tenant_id, created_at);
--bun:split
CREATE TABLE system_settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
--bun:split
INSERT INTO system_settings (key, value, description) VALUES
    ('download_expiration_hours', '1', 'Hours a restore download link stays valid'),
    ('max_download_size_mb', '5000', 'Largest restore download offered, in MiB');
