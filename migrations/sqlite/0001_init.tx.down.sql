DROP TABLE IF EXISTS system_settings;
--bun:split
DROP TABLE IF EXISTS audit_events;
--bun:split
DROP TABLE IF EXISTS restores;
--bun:split
DROP TABLE IF EXISTS snapshots;
--bun:split
DROP TABLE IF EXISTS jobs;
--bun:split
DROP TABLE IF EXISTS schedules;
--bun:split
DROP TABLE IF EXISTS sources;
--bun:split
DROP TABLE IF EXISTS credentials;
--bun:split
DROP TABLE IF EXISTS tenant_keys;
--bun:split
DROP TABLE IF EXISTS enrollment_tokens;
--bun:split
DROP TABLE IF EXISTS api_tokens;
--bun:split
DROP TABLE IF EXISTS agents;
--bun:split
DROP TABLE IF EXISTS users;
--bun:split
DROP TABLE IF EXISTS tenants;
