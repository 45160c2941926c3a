DROP INDEX snapshots_storage_target_idx;
--bun:split
ALTER TABLE snapshots DROP COLUMN storage_target_id;
--bun:split
ALTER TABLE tenants DROP COLUMN default_storage_id;
--bun:split
DROP INDEX sources_storage_idx;
--bun:split
ALTER TABLE sources DROP COLUMN storage_id;
--bun:split
DROP TABLE storage_targets;
--bun:split
DELETE FROM credentials WHERE tenant_id IS NULL OR kind = 's3_access_key';
--bun:split
DROP INDEX credentials_platform_name_key;
--bun:split
PRAGMA writable_schema = ON;
--bun:split
UPDATE sqlite_schema
   SET sql = replace(replace(sql,
       'tenant_id      TEXT REFERENCES tenants (id) ON DELETE CASCADE,',
       'tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,'),
       'CHECK (kind IN (''password'', ''ssh_private_key'', ''s3_access_key''))',
       'CHECK (kind IN (''password'', ''ssh_private_key''))')
 WHERE type = 'table' AND name = 'credentials';
--bun:split
PRAGMA writable_schema = RESET;
