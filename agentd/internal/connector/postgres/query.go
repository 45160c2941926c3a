package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Metadata queries return one JSON value, so that names holding newlines,
// "|" or anything else come back intact. None of them interpolates a value:
// the database is chosen by the connection string.

// userRelations selects the relations of user schemas (schemas named pg_*
// are reserved for the system), without those that belong to an extension.
const userRelations = `FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
  WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e')`

const serverSQL = `SELECT pg_catalog.jsonb_build_object(
  'num', pg_catalog.current_setting('server_version_num')::int,
  'version', pg_catalog.current_setting('server_version'),
  'user', current_user,
  'superuser', r.rolsuper,
  'bypassrls', r.rolbypassrls,
  'read_authid', pg_catalog.has_table_privilege('pg_catalog.pg_authid', 'SELECT'))::text
FROM pg_catalog.pg_roles r WHERE r.rolname = current_user`

const databasesSQL = `SELECT coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
  'name', datname, 'allow_conn', datallowconn, 'template', datistemplate,
  'connect', pg_catalog.has_database_privilege(oid, 'CONNECT'),
  'size', CASE WHEN pg_catalog.has_database_privilege(oid, 'CONNECT') THEN pg_catalog.pg_database_size(oid) END)), '[]')::text
FROM pg_catalog.pg_database`

// serverInfo is what serverSQL returns.
type serverInfo struct {
	Num        int    `json:"num"`
	Version    string `json:"version"` // "15.20 (Debian 15.20-0+deb12u1)"
	User       string `json:"user"`
	Superuser  bool   `json:"superuser"`
	BypassRLS  bool   `json:"bypassrls"`
	ReadAuthid bool   `json:"read_authid"`
}

// shortVersion is the version without the packager's suffix: "15.20".
func (i serverInfo) shortVersion() string {
	v, _, _ := strings.Cut(i.Version, " ")
	return v
}

// databaseInfo is one row of databasesSQL.
type databaseInfo struct {
	Name      string `json:"name"`
	AllowConn bool   `json:"allow_conn"`
	Template  bool   `json:"template"`
	Connect   bool   `json:"connect"`
	Size      *int64 `json:"size"`
}

// psqlArgs are the arguments of every psql run: no psqlrc, quiet,
// unaligned tuples only, stop at the first error, never prompt.
func (s *session) psqlArgs(db string) []string {
	return []string{"-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "--no-password", "--dbname=" + s.conninfo(db, true)}
}

// readOnlySQL starts every metadata query: nothing it runs may write, and
// no object of the database's own schemas may shadow a catalog function.
const readOnlySQL = "SET default_transaction_read_only = on; SET search_path = pg_catalog"

// query runs sql (a fixed query returning one JSON value) in database db
// and decodes the answer into out.
func (s *session) query(ctx context.Context, db, sql string, out any) error {
	cmd := s.command(ctx, "psql", append(s.psqlArgs(db), "-c", readOnlySQL, "-c", sql)...)
	var stdout bytes.Buffer
	stderr := &headBuffer{}
	cmd.Stdout, cmd.Stderr = &stdout, stderr
	if err := cmd.Run(); err != nil {
		return s.toolError(ctx, fmt.Sprintf("psql on database %q", db), err, stderr.String())
	}
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), out); err != nil {
		return fmt.Errorf("psql on database %q: unexpected answer: %w", db, err)
	}
	return nil
}

// metadataDB is the database the connector first connects to: the first
// configured one, else postgres (template1 when postgres is missing or
// closed to the account, as pg_dumpall does).
func (s *session) metadataDB(ctx context.Context) (string, serverInfo, error) {
	var info serverInfo
	if !s.c.cfg.AllDatabases {
		db := s.c.cfg.Databases[0]
		return db, info, s.query(ctx, db, serverSQL, &info)
	}
	err := s.query(ctx, "postgres", serverSQL, &info)
	if err == nil || !(databaseMissing(err.Error()) || strings.Contains(err.Error(), "permission denied for database")) {
		return "postgres", info, err
	}
	if err2 := s.query(ctx, "template1", serverSQL, &info); err2 != nil {
		return "", info, errors.Join(err, err2)
	}
	return "template1", info, nil
}

// connect finds the client programs, reads the server's version and picks
// the installation that can dump it.
func (s *session) connect(ctx context.Context) (string, serverInfo, error) {
	if err := s.findToolsets(ctx); err != nil {
		return "", serverInfo{}, err
	}
	db, info, err := s.metadataDB(ctx)
	if err != nil {
		return "", info, err
	}
	t, err := chooseToolset(s.sets, serverMajor(info.Num), info.shortVersion())
	if err != nil {
		return "", info, err
	}
	s.tools = t
	return db, info, nil
}

// listDatabases returns every database of the server, sorted by name.
func (s *session) listDatabases(ctx context.Context, db string) ([]databaseInfo, error) {
	var dbs []databaseInfo
	if err := s.query(ctx, db, databasesSQL, &dbs); err != nil {
		return nil, err
	}
	slices.SortFunc(dbs, func(a, b databaseInfo) int { return strings.Compare(a.Name, b.Name) })
	return dbs, nil
}
