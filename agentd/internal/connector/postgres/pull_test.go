package postgres

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// fixtureDB creates a database holding fixtureSQL, and a role owning one
// of its tables (so the globals must hold it).
func fixtureDB(t *testing.T, s *server) (db, role string) {
	t.Helper()
	db, role = unique("xvpg_"), unique("xvrole_")
	s.createRole(t, role, "role-password", "")
	s.createDB(t, db)
	s.mustRun(t, db, fixtureSQL+"ALTER TABLE empty_table OWNER TO "+ident(role)+";")
	return db, role
}

func TestPullRestores(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	for _, format := range []string{sdk.PostgresFormatPlain, sdk.PostgresFormatCustom} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			db, role := fixtureDB(t, s)
			c := newConnector(t, sdk.PostgresConfig{Host: s.host, Port: s.port, Username: pgAdmin,
				Databases: []string{db}, Format: format}, nil, testEnv(t))
			rec, err := pull(t, c)
			require.NoError(t, err)

			ext, dbFormat := "sql", "sql"
			if format == sdk.PostgresFormatCustom {
				ext, dbFormat = "dump", "custom"
			}
			entry := archive.DatabaseEntry(db, ext)
			require.Equal(t, []string{"server/globals.sql", entry}, rec.ObjectOrder)
			checkDescriptor(t, rec, db, entry, dbFormat)
			require.Equal(t, "direct", rec.Mode)

			globals := string(rec.Objects["server/globals.sql"])
			require.Contains(t, globals, "CREATE ROLE "+role+";")
			require.Contains(t, globals, "SCRAM-SHA-256$", "a superuser's globals hold the role passwords (hashed)")
			require.NotContains(t, globals, "role-password")

			dump := rec.Objects[entry]
			if format == sdk.PostgresFormatCustom {
				require.True(t, bytes.HasPrefix(dump, []byte("PGDMP")))
			} else {
				require.Contains(t, string(dump), "-- PostgreSQL database dump complete")
				require.NotContains(t, string(dump), "CREATE DATABASE", "plain dumps load into a database of any name")
			}
			restored := s.restore(t, dump, dbFormat)
			want := s.checksums(t, db)
			require.Len(t, want, len(fixtureCounts)+3)
			require.Equal(t, want, s.checksums(t, restored))
			require.Equal(t, role, s.mustRun(t, restored, "SELECT tableowner FROM pg_tables WHERE tablename = 'empty_table'"))
		})
	}
}

func checkDescriptor(t *testing.T, rec *connectortest.Recorder, db, entry, format string) {
	t.Helper()
	d := rec.Descriptor
	require.NotNil(t, d)
	require.Equal(t, "postgres", d.Connector)
	require.Equal(t, "direct", d.TransferMode)
	require.Equal(t, "PostgreSQL", d.Server.Name)
	require.Regexp(t, `^\d+\.\d+$`, d.Server.Version)
	require.Len(t, d.Tools, 3)
	out, err := exec.Command("pg_dump", "--version").Output()
	require.NoError(t, err)
	require.Contains(t, string(out), " "+d.Tools[0].Version)
	require.Equal(t, []string{"server/globals.sql"}, d.Globals)
	require.Contains(t, d.Options, "--format="+map[string]string{"sql": "plain", "custom": "custom"}[format])
	require.Empty(t, d.Warnings)
	require.Len(t, d.Databases, 1)
	got := d.Databases[0]
	require.Equal(t, db, got.Name)
	require.Equal(t, entry, got.File)
	require.Equal(t, format, got.Format)
	require.Equal(t, fixtureCounts, tableCounts(got.Tables))
	require.True(t, slices.IsSortedFunc(got.Tables, func(a, b archive.Table) int { return strings.Compare(a.Name, b.Name) }))
}

// TestPullCountsMatchTheDump proves the counts and the dump share one
// snapshot: rows inserted while pg_dump runs are in neither.
func TestPullCountsMatchTheDump(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	db, _ := fixtureDB(t, s)
	c := newConnector(t, sdk.PostgresConfig{Host: s.host, Port: s.port, Username: pgAdmin, Databases: []string{db}}, nil, testEnv(t))
	inserted := false
	c.onTool = func(tool string, _ *os.Process, out io.Writer) io.Writer {
		if tool == "pg_dump" {
			s.mustRun(t, db, "INSERT INTO orders (customer, total) SELECT 1, 1 FROM generate_series(1, 7)")
			inserted = true
		}
		return out
	}
	rec, err := pull(t, c)
	require.NoError(t, err)
	require.True(t, inserted)
	require.Equal(t, "257", s.mustRun(t, db, "SELECT count(*) FROM orders"))
	tables := rec.Descriptor.Databases[0].Tables
	i := slices.IndexFunc(tables, func(tb archive.Table) bool { return tb.Name == "public.orders" })
	require.Equal(t, int64(250), tables[i].Rows)
	dump := string(rec.Objects[archive.DatabaseEntry(db, "sql")])
	copyRows := regexp.MustCompile(`(?s)COPY public\.orders .*?\n\\\.\n`).FindString(dump)
	require.Equal(t, 250+2, strings.Count(copyRows, "\n"), "the dump holds the 250 counted rows")
}

func tableCounts(tables []archive.Table) map[string]int64 {
	counts := map[string]int64{}
	for _, tb := range tables {
		counts[tb.Name] = tb.Rows
	}
	return counts
}
