ALTER TABLE snapshots DROP COLUMN storage_target_id;
--bun:split
ALTER TABLE tenants DROP COLUMN default_storage_id;
--bun:split
ALTER TABLE sources DROP COLUMN storage_id;
--bun:split
DROP TABLE storage_targets;
--bun:split
DELETE FROM credentials WHERE tenant_id IS NULL OR kind = 's3_access_key';
--bun:split
DROP INDEX credentials_platform_name_key;
--bun:split
ALTER TABLE credentials DROP CONSTRAINT credentials_kind_check;
--bun:split
ALTER TABLE credentials ADD CONSTRAINT credentials_kind_check CHECK (kind IN ('password', 'ssh_private_key'));
--bun:split
ALTER TABLE credentials ALTER COLUMN tenant_id SET NOT NULL;
