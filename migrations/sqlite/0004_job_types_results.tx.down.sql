DELETE FROM jobs WHERE type IN ('test_connection', 'verify', 'copy');
--bun:split
PRAGMA writable_schema = ON;
--bun:split
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (type IN (''backup'', ''restore'', ''delete_snapshot'', ''test_connection'', ''verify'', ''copy''))',
                          'CHECK (type IN (''backup'', ''restore'', ''delete_snapshot''))')
 WHERE type = 'table' AND name = 'jobs';
--bun:split
PRAGMA writable_schema = RESET;
--bun:split
ALTER TABLE jobs DROP COLUMN result;
