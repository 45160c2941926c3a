package postgres

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/sdk"
)

// requireNothingArchived asserts a failed pull left no trace in the sink.
func requireNothingArchived(t *testing.T, c *Connector) error {
	t.Helper()
	rec, err := pull(t, c)
	require.Error(t, err)
	require.Nil(t, rec.Descriptor)
	require.Empty(t, rec.Objects)
	left, rerr := os.ReadDir(c.env.TempDir)
	require.NoError(t, rerr)
	require.Empty(t, left, "nothing left in the job's temp dir")
	return err
}

func TestPullUnknownDatabase(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	db, _ := fixtureDB(t, s)
	missing := unique("xvmissing_")
	for name, dbs := range map[string][]string{"first": {missing, db}, "later": {db, missing}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := newConnector(t, sdk.PostgresConfig{Host: s.host, Port: s.port, Username: pgAdmin, Databases: dbs}, nil, testEnv(t))
			err := requireNothingArchived(t, c)
			require.ErrorIs(t, err, connector.ErrPermanent)
			require.ErrorContains(t, err, `database "`+missing+`" does not exist`)
		})
	}
}

func TestPullMissingTools(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	c := newConnector(t, sdk.PostgresConfig{Host: s.host, Port: s.port, Username: pgAdmin, Databases: []string{pgAdmDB}}, nil, testEnv(t))
	c.toolDirs = []string{t.TempDir()}
	err := requireNothingArchived(t, c)
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "pg_dump, pg_dumpall, psql")
	require.ErrorContains(t, err, "hint: install postgresql-client")

	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Equal(t, "client programs", rep.Checks[len(rep.Checks)-1].Name)
}

// TestPullClientOlderThanServer puts a pg_dump that says it is 9.6 next to
// the real psql and pg_dumpall.
func TestPullClientOlderThanServer(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	real := serverBinDir()
	if real == "" {
		t.Skip("needs /usr/lib/postgresql/*/bin (apt-get install postgresql-client)")
	}
	dir := t.TempDir()
	for _, tool := range []string{"psql", "pg_dumpall"} {
		require.NoError(t, os.Symlink(filepath.Join(real, tool), filepath.Join(dir, tool)))
	}
	fake := "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pg_dump"), []byte(fake), 0o755))
	c := newConnector(t, sdk.PostgresConfig{Host: s.host, Port: s.port, Username: pgAdmin, Databases: []string{pgAdmDB}}, nil, testEnv(t))
	c.toolDirs = []string{dir}
	err := requireNothingArchived(t, c)
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "pg_dump 9.6.24")
	require.Regexp(t, `older than the server \(PostgreSQL 1\d\.\d+\).*hint: install postgresql-client-1\d on the agent`, err.Error())

	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Contains(t, rep.Server, "PostgreSQL ")
	var versionCheck *sdk.TestCheck
	for i := range rep.Checks {
		if rep.Checks[i].Name == "pg_dump version" {
			versionCheck = &rep.Checks[i]
		}
	}
	require.NotNil(t, versionCheck)
	require.False(t, versionCheck.OK)
	require.Contains(t, versionCheck.Detail, "9.6.24")
}

// TestPullDumpKilled kills pg_dump when it first writes, with much more to
// come (a table larger than the pipe).
func TestPullDumpKilled(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	db := unique("xvkill_")
	s.createDB(t, db)
	s.mustRun(t, db, "CREATE TABLE big AS SELECT i, md5(i::text) AS pad FROM generate_series(1, 50000) i")
	c := newConnector(t, sdk.PostgresConfig{Host: s.host, Port: s.port, Username: pgAdmin, Databases: []string{db},
		Format: sdk.PostgresFormatCustom}, nil, testEnv(t))
	c.onTool = func(tool string, p *os.Process, out io.Writer) io.Writer {
		if tool != "pg_dump" {
			return out
		}
		return &firstWrite{w: out, fn: func() { require.NoError(t, p.Kill()) }}
	}
	err := requireNothingArchived(t, c)
	require.ErrorContains(t, err, `pg_dump of database "`+db+`": signal: killed`)
	require.False(t, errors.Is(err, connector.ErrPermanent))
}

// TestEgressRefusesLoopback: without --allow-loopback, neither the address
// nor the local socket directory of the server may be used.
func TestEgressRefusesLoopback(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	for _, host := range []string{"127.0.0.1", "localhost", "/var/run/postgresql"} {
		t.Run(filepath.Base(host), func(t *testing.T) {
			t.Parallel()
			env := testEnv(t)
			env.Egress = egress.Policy{}
			c := newConnector(t, sdk.PostgresConfig{Host: host, Port: s.port, Username: pgAdmin, Databases: []string{pgAdmDB}}, nil, env)
			err := requireNothingArchived(t, c)
			require.ErrorIs(t, err, egress.ErrRefused)
			require.ErrorIs(t, err, connector.ErrPermanent)
			require.ErrorContains(t, err, "--allow-loopback")

			rep, err := c.Test(t.Context())
			require.NoError(t, err)
			require.False(t, rep.OK)
			require.Equal(t, "connect", rep.Checks[0].Name)
			require.Contains(t, rep.Checks[0].Detail, "--allow-loopback")
		})
	}
}

// TestPullLocalSocket reaches the server through its unix socket
// directory when loopback is allowed.
func TestPullLocalSocket(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	const dir = "/var/run/postgresql"
	if _, err := os.Stat(filepath.Join(dir, ".s.PGSQL.5432")); err != nil {
		t.Skip("the server has no unix socket in " + dir)
	}
	db, _ := fixtureDB(t, s)
	c := newConnector(t, sdk.PostgresConfig{Host: dir, Username: pgAdmin, Databases: []string{db}}, nil, testEnv(t))
	rec, err := pull(t, c)
	require.NoError(t, err)
	require.Equal(t, fixtureCounts, tableCounts(rec.Descriptor.Databases[0].Tables))
}

// TestPullIgnoresAgentEnvironment sets the libpq and psql variables an
// agent's environment might hold; none may reach the tools. It is not
// parallel (t.Setenv).
func TestPullIgnoresAgentEnvironment(t *testing.T) {
	s := requirePostgres(t)
	db, _ := fixtureDB(t, s)
	dir := t.TempDir()
	marker := filepath.Join(dir, "psqlrc-ran")
	rc := filepath.Join(dir, "psqlrc")
	require.NoError(t, os.WriteFile(rc, []byte(`\! touch `+marker+"\n"), 0o600))
	for k, v := range map[string]string{
		"PGSERVICE": "xv-no-such-service", "PGSERVICEFILE": "/nonexistent", "PGHOST": "/nonexistent",
		"PGHOSTADDR": "192.0.2.1", "PGPORT": "1", "PGDATABASE": "nope", "PGUSER": "nope", "PGSSLMODE": "require",
		"PGOPTIONS": "-c default_transaction_isolation=serializable", "PGPASSFILE": "/nonexistent",
		"PSQLRC": rc, "HOME": dir, "PGSYSCONFDIR": dir, "PGCLIENTENCODING": "LATIN1",
	} {
		t.Setenv(k, v)
	}
	c := newConnector(t, sdk.PostgresConfig{Host: s.host, Port: s.port, Username: pgAdmin, Databases: []string{db}}, nil, testEnv(t))
	rec, err := pull(t, c)
	require.NoError(t, err)
	require.Equal(t, fixtureCounts, tableCounts(rec.Descriptor.Databases[0].Tables))
	require.NotContains(t, string(rec.Objects[rec.Descriptor.Databases[0].File]), "LATIN1")
	_, err = os.Stat(marker)
	require.True(t, os.IsNotExist(err), "a psqlrc ran")
}

func TestPullCanceled(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	db := unique("xvcancel_")
	s.createDB(t, db)
	s.mustRun(t, db, "CREATE TABLE big AS SELECT i, md5(i::text) AS pad FROM generate_series(1, 50000) i")
	c := newConnector(t, sdk.PostgresConfig{Host: s.host, Port: s.port, Username: pgAdmin, Databases: []string{db}}, nil, testEnv(t))
	ctx, cancel := context.WithCancel(t.Context())
	c.onTool = func(tool string, _ *os.Process, out io.Writer) io.Writer {
		if tool != "pg_dump" {
			return out
		}
		return &firstWrite{w: out, fn: cancel}
	}
	rec := &connectortest.Recorder{}
	err := c.Pull(ctx, rec)
	require.ErrorIs(t, err, context.Canceled)
	require.Nil(t, rec.Descriptor)
	require.Empty(t, rec.Objects)
	left, err := os.ReadDir(c.env.TempDir)
	require.NoError(t, err)
	require.Empty(t, left)
}

// TestPullSSLModes: the shared server has a self-signed certificate, so
// require encrypts (the snapshot session is seen using TLS) and
// verify-full refuses it against the system's CAs.
func TestPullSSLModes(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	if s.mustRun(t, pgAdmDB, "SHOW ssl") != "on" {
		t.Skip("the server has ssl off")
	}
	db, _ := fixtureDB(t, s)
	c := newConnector(t, sdk.PostgresConfig{Host: s.host, Port: s.port, Username: pgAdmin, Databases: []string{db}, SSLMode: "require"},
		nil, testEnv(t))
	var tls string
	c.onTool = func(tool string, _ *os.Process, out io.Writer) io.Writer {
		if tool == "pg_dump" {
			tls = s.mustRun(t, pgAdmDB, "SELECT string_agg(s.ssl::text, ',') FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "+
				"WHERE a.datname = "+literal(db)+" AND a.application_name = 'psql'")
		}
		return out
	}
	_, err := pull(t, c)
	require.NoError(t, err)
	require.Equal(t, "true", tls, "the snapshot session uses TLS")

	c = newConnector(t, sdk.PostgresConfig{Host: "localhost", Port: s.port, Username: pgAdmin, Databases: []string{db}, SSLMode: "verify-full"},
		nil, testEnv(t))
	err = requireNothingArchived(t, c)
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "certificate verify failed")
	require.ErrorContains(t, err, "hint: the server's certificate did not verify")
}
