-- Issue 13, storage targets (control plane): S3-compatible buckets that
-- snapshots go to instead of an agent's disk. A target with tenant_id NULL
-- is platform-wide (made by a platform admin, usable by every tenant's
-- sources); otherwise it belongs to one tenant. Its credential is an
-- s3_access_key credential of the same scope: a tenant's own, or a
-- platform credential (credentials.tenant_id NULL, platform admins only).
--
-- credentials: SQLite cannot ALTER a constraint, and rebuilding the table
-- would have to rebuild sources (its foreign key). Dropping a NOT NULL and
-- widening a CHECK's IN-list are changes SQLite's ALTER TABLE documentation
-- allows through writable_schema (every existing row still satisfies the
-- new schema); RESET reloads the schema so it applies at once.
PRAGMA writable_schema = ON;
--bun:split
UPDATE sqlite_schema
   SET sql = replace(replace(sql,
       'tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,',
       'tenant_id      TEXT REFERENCES tenants (id) ON DELETE CASCADE,'),
       'CHECK (kind IN (''password'', ''ssh_private_key''))',
       'CHECK (kind IN (''password'', ''ssh_private_key'', ''s3_access_key''))')
 WHERE type = 'table' AND name = 'credentials';
--bun:split
PRAGMA writable_schema = RESET;
--bun:split
CREATE UNIQUE INDEX credentials_platform_name_key ON credentials (name) WHERE tenant_id IS NULL;
--bun:split
CREATE TABLE storage_targets (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    type          TEXT NOT NULL CHECK (type IN ('s3')),
    endpoint      TEXT NOT NULL,
    bucket        TEXT NOT NULL,
    region        TEXT NOT NULL DEFAULT '',
    prefix        TEXT NOT NULL DEFAULT '',
    path_style    BOOLEAN NOT NULL DEFAULT false,
    credential_id TEXT NOT NULL REFERENCES credentials (id),
    created_at    TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    updated_at    TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    -- a tenant target may only use a credential of its own tenant (a
    -- platform target's NULL tenant skips this check; the hub requires a
    -- platform credential there)
    FOREIGN KEY (tenant_id, credential_id) REFERENCES credentials (tenant_id, id)
);
--bun:split
CREATE UNIQUE INDEX storage_targets_tenant_name_key ON storage_targets (tenant_id, name) WHERE tenant_id IS NOT NULL;
--bun:split
CREATE UNIQUE INDEX storage_targets_platform_name_key ON storage_targets (name) WHERE tenant_id IS NULL;
--bun:split
CREATE INDEX storage_targets_credential_idx ON storage_targets (credential_id);
--bun:split
ALTER TABLE sources ADD COLUMN storage_id TEXT REFERENCES storage_targets (id);
--bun:split
CREATE INDEX sources_storage_idx ON sources (storage_id);
--bun:split
ALTER TABLE tenants ADD COLUMN default_storage_id TEXT REFERENCES storage_targets (id);
--bun:split
ALTER TABLE snapshots ADD COLUMN storage_target_id TEXT REFERENCES storage_targets (id);
--bun:split
CREATE INDEX snapshots_storage_target_idx ON snapshots (storage_target_id);
