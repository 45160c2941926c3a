package postgres

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// TestPullAllDatabases dumps every database of a private server, where
// only this test's databases exist; without one (not root), of the shared
// server, and then it is not parallel so that it runs before this
// package's parallel tests create theirs.
func TestPullAllDatabases(t *testing.T) {
	var secret *sdk.SecretPayload
	s := shared
	if p := tryPrivateServer(t); p != nil {
		s, secret = p.server, &sdk.SecretPayload{Password: p.Password}
	} else {
		requirePostgres(t)
	}
	keep, _ := fixtureDB(t, s)
	excluded, closed := unique("xvexcl_"), unique("xvclosed_")
	s.createDB(t, excluded)
	s.createDB(t, closed)
	s.mustRun(t, "postgres", "ALTER DATABASE "+ident(closed)+" ALLOW_CONNECTIONS false")
	c := newConnector(t, sdk.PostgresConfig{Host: s.host, Port: s.port, Username: pgAdmin, AllDatabases: true,
		ExcludeDatabases: []string{excluded}}, secret, testEnv(t))
	rec, err := pull(t, c)
	require.NoError(t, err)

	var names []string
	for _, d := range rec.Descriptor.Databases {
		names = append(names, d.Name)
		require.Contains(t, rec.Objects, d.File)
		if d.Name == keep {
			require.Equal(t, fixtureCounts, tableCounts(d.Tables))
		}
	}
	require.True(t, slices.IsSorted(names), "%q", names)
	require.Contains(t, names, keep)
	require.Contains(t, names, "postgres")
	require.NotContains(t, names, excluded)
	require.NotContains(t, names, closed)
	require.NotContains(t, names, "template0")
	require.NotContains(t, names, "template1")
	require.Contains(t, rec.Descriptor.Warnings, fmt.Sprintf("database %q does not allow connections: not backed up", closed))
	require.Len(t, rec.Objects, len(names)+1)

	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.True(t, rep.OK, "%+v", rep.Checks)
	i := slices.IndexFunc(rep.Items, func(it sdk.TestItem) bool { return it.Name == keep })
	require.GreaterOrEqual(t, i, 0)
	require.Equal(t, "database", rep.Items[i].Kind)
	require.Greater(t, rep.Items[i].SizeBytes, int64(1<<20))
	require.False(t, slices.ContainsFunc(rep.Items, func(it sdk.TestItem) bool { return strings.HasPrefix(it.Name, "template") }))
}

// TestTestNamesMissingPrivileges checks a non-superuser who may read
// only part of a database: Test names each missing privilege, and a pull
// fails with a permanent error.
func TestTestNamesMissingPrivileges(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	db, _ := fixtureDB(t, s)
	role := unique("xvlimited_")
	s.createRole(t, role, "pw", "")
	s.mustRun(t, db, fmt.Sprintf(`GRANT SELECT ON customers TO %[1]s; GRANT SELECT ON empty_table TO %[1]s;
		ALTER TABLE customers ENABLE ROW LEVEL SECURITY;`, ident(role)))
	t.Cleanup(func() { _, _ = s.run(db, "DROP OWNED BY "+ident(role)) })
	c := newConnector(t, sdk.PostgresConfig{Host: s.host, Port: s.port, Username: role, Databases: []string{db}}, nil, testEnv(t))

	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Contains(t, rep.Warnings[0], "without their passwords")
	var priv sdk.TestCheck
	for _, ch := range rep.Checks {
		if strings.HasPrefix(ch.Name, "privileges on database") {
			priv = ch
		}
	}
	require.False(t, priv.OK)
	for _, want := range []string{
		`USAGE on schema "Odd Schema"`,
		`SELECT on table public.orders`,
		`SELECT on table "Odd Schema"."Mixed ""Case"" Table"`,
		`SELECT on sequence public.order_no`,
		`SELECT on sequence public.customers_id_seq`,
		`BYPASSRLS or ownership (row-level security) of table public.customers`,
	} {
		require.Contains(t, priv.Detail, want)
	}
	require.NotContains(t, priv.Detail, "public.empty_table")
	require.NotContains(t, priv.Detail, "SELECT on table public.customers")

	err = requireNothingArchived(t, c)
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "row counts of database")
	require.Regexp(t, `permission denied|row-level security`, err.Error())
	require.ErrorContains(t, err, "hint: ")
}

// TestPullHostileNames backs up a database whose name, user, schema and
// table hold shell and conninfo metacharacters, and restores it; a marker
// file proves no shell ever ran them.
func TestPullHostileNames(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	id := unique("")
	marker := "/tmp/" + id
	t.Cleanup(func() { _ = os.Remove(marker) })
	db := "d" + id + ";$(touch " + marker + ")`touch " + marker + "`'\"=\\\n x"
	user := "u" + id + "';$(touch " + marker + ")\" \\"
	require.LessOrEqual(t, len(db), maxNameLen)
	s.createRole(t, user, "pw", "SUPERUSER")
	s.createDB(t, db)
	table := ident("Odd Schema") + "." + ident("$(touch "+marker+"); --'\" x")
	s.mustRun(t, db, fixtureSQL+"CREATE TABLE "+table+" (x int); INSERT INTO "+table+" VALUES (1), (2);")

	for _, format := range []string{sdk.PostgresFormatPlain, sdk.PostgresFormatCustom} {
		c := newConnector(t, sdk.PostgresConfig{Host: s.host, Port: s.port, Username: user, Databases: []string{db}, Format: format},
			nil, testEnv(t))
		rec, err := pull(t, c)
		require.NoError(t, err)
		d := rec.Descriptor.Databases[0]
		require.Equal(t, db, d.Name)
		require.Regexp(t, regexp.MustCompile(`^databases/[A-Za-z0-9._%-]+\.(sql|dump)$`), d.File)
		require.Equal(t, archive.DatabaseEntry(db, map[string]string{"plain": "sql", "custom": "dump"}[format]), d.File)
		want := maps(fixtureCounts, table, 2)
		require.Equal(t, want, tableCounts(d.Tables))
		restored := s.restore(t, rec.Objects[d.File], d.Format)
		require.Equal(t, s.checksums(t, db), s.checksums(t, restored))
	}
	_, err := os.Stat(marker)
	require.True(t, os.IsNotExist(err), "a shell ran a name: %s exists", marker)
}

// maps returns a copy of m with k set to v.
func maps(m map[string]int64, k string, v int64) map[string]int64 {
	out := map[string]int64{k: v}
	for key, val := range m {
		out[key] = val
	}
	return out
}
