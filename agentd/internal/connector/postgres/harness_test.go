package postgres

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/sdk"
)

// The shared PostgreSQL server of the machine (trust authentication).
const (
	pgHost  = "127.0.0.1"
	pgPort  = 5432
	pgAdmin = "postgres"
	pgAdmDB = "test"
)

const envRequire = "XV_TEST_REQUIRE_SERVICES"

// server is a PostgreSQL server the tests administer with psql.
type server struct {
	host string
	port int
	// env is the environment of the harness's own psql (a password for
	// the private server; never the connector's).
	env []string
}

var shared = &server{host: pgHost, port: pgPort}

// skipOrFail skips with hint, or fails under XV_TEST_REQUIRE_SERVICES=1.
func skipOrFail(t testing.TB, hint string) {
	t.Helper()
	if os.Getenv(envRequire) == "1" {
		t.Fatalf("%s=1: %s", envRequire, hint)
	}
	t.Skip(hint)
}

// requirePostgres returns the shared server, or skips when it or the
// client programs are missing.
func requirePostgres(t testing.TB) *server {
	t.Helper()
	for _, tool := range []string{"psql", "pg_dump", "pg_dumpall", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			skipOrFail(t, "the PostgreSQL client programs are missing (hint: apt-get install postgresql-client)")
		}
	}
	if _, err := shared.run("postgres", "SELECT 1"); err != nil {
		skipOrFail(t, fmt.Sprintf("no PostgreSQL at %s:%d with trust authentication for user postgres: %v", pgHost, pgPort, err))
	}
	return shared
}

// run feeds sql to psql (as the superuser, in database db) on stdin and
// returns the unaligned, tuples-only output.
func (s *server) run(db, sql string) (string, error) {
	cmd := exec.Command("psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "--dbname="+s.conninfo(db))
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "LC_ALL=C"}, s.env...)
	cmd.Stdin = strings.NewReader(sql)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("psql: %w: %s", err, errb.String())
	}
	return strings.TrimRight(out.String(), "\n"), nil
}

// conninfo is the harness's connection string for database db (any name).
func (s *server) conninfo(db string) string {
	return connString("host", s.host, "port", fmt.Sprint(s.port), "user", pgAdmin, "dbname", db)
}

func (s *server) mustRun(t testing.TB, db, sql string) string {
	t.Helper()
	out, err := s.run(db, sql)
	require.NoError(t, err)
	return out
}

// ident quotes a name as an SQL identifier; literal as a string literal.
func ident(s string) string   { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
func literal(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

// unique returns prefix and 8 random hex digits: names no parallel run shares.
func unique(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// createDB creates database name (dropped when the test ends).
func (s *server) createDB(t testing.TB, name string, owner ...string) {
	t.Helper()
	sql := "CREATE DATABASE " + ident(name) + " TEMPLATE template0"
	if len(owner) > 0 {
		sql += " OWNER " + ident(owner[0])
	}
	s.mustRun(t, "postgres", sql)
	t.Cleanup(func() {
		_, err := s.run("postgres", "DROP DATABASE IF EXISTS "+ident(name)+" WITH (FORCE)")
		if err != nil && !strings.Contains(err.Error(), "Connection refused") { // a private server the test stopped
			t.Logf("cleanup: %v", err)
		}
	})
}

// createRole creates a login role with password (dropped when the test ends).
func (s *server) createRole(t testing.TB, name, password, attrs string) {
	t.Helper()
	s.mustRun(t, "postgres", fmt.Sprintf("CREATE ROLE %s LOGIN %s PASSWORD %s", ident(name), attrs, literal(password)))
	t.Cleanup(func() {
		if _, err := s.run("postgres", "DROP ROLE IF EXISTS "+ident(name)); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
}

// fixtureSQL fills a database with the kinds of objects a dump must keep.
const fixtureSQL = `
CREATE SCHEMA "Odd Schema";
CREATE SEQUENCE order_no START 1000;
CREATE TABLE customers (
  id serial PRIMARY KEY, name text NOT NULL, profile json, prefs jsonb, avatar bytea,
  tags text[], scores int[], created timestamptz DEFAULT '2024-01-02 03:04:05+00');
INSERT INTO customers (name, profile, prefs, avatar, tags, scores) VALUES
  ('Ada', '{"lang": "en", "n": 1}', '{"theme": "dark", "list": [1, 2]}', '\x00ff10', '{a,b}', '{1,2,3}'),
  ('Zoë ☃ 🐘', '{"quote": "it''s \"x\""}', '{}', '', '{"with space","comma,inside"}', '{}'),
  ('null person', NULL, NULL, NULL, NULL, NULL);
CREATE TABLE orders (no int PRIMARY KEY DEFAULT nextval('order_no'), customer int REFERENCES customers, total numeric(10,2));
INSERT INTO orders (customer, total) SELECT 1 + i % 3, i * 1.5 FROM generate_series(1, 250) i;
CREATE TABLE "Odd Schema"."Mixed ""Case"" Table" (k text PRIMARY KEY, v bytea);
INSERT INTO "Odd Schema"."Mixed ""Case"" Table" VALUES ('x;y', decode('deadbeef', 'hex')), (E'new\nline', NULL);
CREATE TABLE empty_table (x int);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE total > 100;
CREATE FUNCTION order_total(c int) RETURNS numeric LANGUAGE sql STABLE AS $$ SELECT sum(total) FROM orders WHERE customer = c $$;
SELECT setval('order_no', 5000);
`

// fixtureCounts are the rows of fixtureSQL's tables, as the descriptor names them.
var fixtureCounts = map[string]int64{
	`"Odd Schema"."Mixed ""Case"" Table"`: 2,
	"public.customers":                    3,
	"public.empty_table":                  0,
	"public.orders":                       250,
}

// checksums returns md5(string_agg(row::text ORDER BY row::text)) of every
// user table of db, with the sequence's value, the view's row count and
// the function's result.
func (s *server) checksums(t testing.TB, db string) map[string]string {
	t.Helper()
	tables := s.mustRun(t, db, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
		WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`)
	names := append(strings.Split(tables, "\n"), "sequence", "view", "function")
	var sql strings.Builder
	for _, tb := range names[:len(names)-3] {
		fmt.Fprintf(&sql, "SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), 'empty') FROM %s t;\n", tb)
	}
	sql.WriteString("SELECT last_value FROM order_no; SELECT count(*) FROM big_orders; SELECT order_total(2);\n")
	values := strings.Split(s.mustRun(t, db, sql.String()), "\n")
	require.Len(t, values, len(names))
	sums := map[string]string{}
	for i, name := range names {
		sums[name] = values[i]
	}
	return sums
}

// testEnv is a job environment allowing loopback.
func testEnv(t testing.TB) connector.Env {
	return connector.Env{
		Logger:  slog.New(slog.DiscardHandler),
		TempDir: shortTempDir(t),
		Egress:  egress.Policy{AllowLoopback: true},
		OnHostKey: func(string) error {
			return nil
		},
	}
}

// shortTempDir is a private temp dir with a short path (unix socket paths
// are limited to 107 bytes; t.TempDir's are long).
func shortTempDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "xvpg")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o700))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// pull runs a pull into a fresh recorder.
func pull(t testing.TB, c *Connector) (*connectortest.Recorder, error) {
	t.Helper()
	rec := &connectortest.Recorder{}
	err := c.Pull(t.Context(), rec)
	require.NoError(t, rec.Err, "sink contract")
	return rec, err
}

func newConnector(t testing.TB, cfg sdk.PostgresConfig, secret *sdk.SecretPayload, env connector.Env) *Connector {
	t.Helper()
	c, err := New(cfg, "", secret, env)
	require.NoError(t, err)
	return c
}

// restore loads a dump into a fresh database (dropped when the test ends)
// with the stock tools: psql for plain dumps, pg_restore for custom ones.
func (s *server) restore(t testing.TB, dump []byte, format string) string {
	t.Helper()
	db := unique("xvrestore_")
	s.createDB(t, db)
	file := filepath.Join(t.TempDir(), "dump")
	require.NoError(t, os.WriteFile(file, dump, 0o600))
	var cmd *exec.Cmd
	conn := []string{"--dbname=" + s.conninfo(db)}
	if format == "custom" {
		cmd = exec.Command("pg_restore", append(conn, "--exit-on-error", file)...)
	} else {
		cmd = exec.Command("psql", append(conn, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", file)...)
	}
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "LC_ALL=C"}, s.env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "restore: %s", out)
	return db
}
