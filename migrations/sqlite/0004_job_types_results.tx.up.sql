-- Issue 9: test_connection jobs (and the verify and copy jobs of later
-- issues) and a result column for what a job reports besides a snapshot
-- (a test_connection report).
ALTER TABLE jobs ADD COLUMN result TEXT;
--bun:split
-- SQLite cannot ALTER a CHECK constraint, and rebuilding jobs would cascade
-- into snapshots (ON DELETE CASCADE). Widening an IN-list is the kind of
-- change SQLite's ALTER TABLE documentation allows through writable_schema
-- (every existing row still satisfies the new constraint); RESET reloads the
-- schema so the new constraint applies at once.
PRAGMA writable_schema = ON;
--bun:split
UPDATE sqlite_schema
   SET sql = replace(sql, 'CHECK (type IN (''backup'', ''restore'', ''delete_snapshot''))',
                          'CHECK (type IN (''backup'', ''restore'', ''delete_snapshot'', ''test_connection'', ''verify'', ''copy''))')
 WHERE type = 'table' AND name = 'jobs';
--bun:split
PRAGMA writable_schema = RESET;
