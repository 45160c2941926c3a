package postgres

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// pulled is one database dumped by the connector.
type pulled struct {
	dump   []byte
	format string // "sql" or "custom"
	meta   archive.Database
}

// pullDB dumps db of s with the connector, as user (password) in format.
func pullDB(t *testing.T, s *server, db, user, password, format string) pulled {
	t.Helper()
	c := newConnector(t, sdk.PostgresConfig{Host: s.host, Port: s.port, Username: user, Databases: []string{db}, Format: format},
		&sdk.SecretPayload{Password: password}, testEnv(t))
	rec, err := pull(t, c)
	require.NoError(t, err)
	meta := rec.Descriptor.Databases[0]
	return pulled{dump: rec.Objects[meta.File], format: meta.Format, meta: meta}
}

func dumpPlain(t *testing.T, s *server, db string) string {
	t.Helper()
	return string(pullDB(t, s, db, pgAdmin, "", sdk.PostgresFormatPlain).dump)
}

func newLoader(t *testing.T, s *server, user, password string) *Loader {
	t.Helper()
	l, err := NewLoader(t.Context(), sdk.PostgresConfig{Host: s.host, Port: s.port, Username: user},
		"", &sdk.SecretPayload{Password: password}, testEnv(t))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	return l
}

func opener(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// dropLater drops db when the test ends, should it exist.
func (s *server) dropLater(t *testing.T, db string) {
	t.Cleanup(func() { _, _ = s.run("postgres", "DROP DATABASE IF EXISTS "+ident(db)+" WITH (FORCE)") })
}

// leftovers lists the server's databases named db__xv….
func (s *server) leftovers(t *testing.T, db string) string {
	return s.mustRun(t, "postgres", "SELECT string_agg(datname, ',') FROM pg_database WHERE starts_with(datname, "+literal(db+"__xv")+")")
}

var formats = []string{sdk.PostgresFormatPlain, sdk.PostgresFormatCustom}

func TestLoadRoundTrip(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	db, _ := fixtureDB(t, s)
	want := s.checksums(t, db)
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			p := pullDB(t, s, db, pgAdmin, "", format)
			l := newLoader(t, s, pgAdmin, "")
			target := unique("xvload_") + ` "Q" ☃`
			s.dropLater(t, target)
			res, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Format: p.format, Create: true, Open: opener(p.dump)})
			require.NoError(t, err)
			require.Equal(t, want, s.checksums(t, target))
			require.Equal(t, p.meta.Tables, res.Tables, "counted after the load, named and sorted as the descriptor")
			require.Empty(t, res.Warnings)
			require.Equal(t, pgAdmin, s.mustRun(t, target, "SELECT tableowner FROM pg_tables WHERE tablename = 'empty_table'"),
				"--no-owner: the loading user owns everything")
			dbs, err := l.Databases(t.Context())
			require.NoError(t, err)
			require.Contains(t, dbs, target)
			require.NotContains(t, dbs, "template1")

			require.NoError(t, l.Drop(t.Context(), target))
			require.NoError(t, l.Drop(t.Context(), target), "dropping a missing database is no error")
			dbs, err = l.Databases(t.Context())
			require.NoError(t, err)
			require.NotContains(t, dbs, target)
		})
	}
}

func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	db, _ := fixtureDB(t, s)
	p := pullDB(t, s, db, pgAdmin, "", sdk.PostgresFormatPlain)
	l := newLoader(t, s, pgAdmin, "")
	before := s.checksums(t, db)
	missing := unique("xvmissing_")
	for _, tc := range []struct {
		name string
		opts connector.LoadOptions
		err  string
	}{
		{"exists", connector.LoadOptions{Database: db, Create: true}, `database "` + db + `" already exists on the server; pass --replace to replace it`},
		{"missing", connector.LoadOptions{Database: missing}, `database "` + missing + `" does not exist; pass --create-database`},
		{"template", connector.LoadOptions{Database: "template1", Replace: true}, "template database"},
		{"bad name", connector.LoadOptions{Database: strings.Repeat("x", 64), Create: true}, "1-63 bytes"},
		{"format", connector.LoadOptions{Database: missing, Create: true, Format: "tar"}, `dump format "tar"`},
	} {
		if tc.opts.Format == "" {
			tc.opts.Format = "sql"
		}
		tc.opts.Open = opener(p.dump)
		_, err := l.Load(t.Context(), tc.opts)
		require.ErrorIs(t, err, connector.ErrPermanent, tc.name)
		require.ErrorContains(t, err, tc.err, tc.name)
	}
	require.Equal(t, before, s.checksums(t, db))
	require.Equal(t, "0", s.mustRun(t, "postgres", "SELECT count(*) FROM pg_database WHERE datname = "+literal(missing)))
}

// TestLoadReplace replaces a database holding other data: a dump cut
// short leaves it as it was, a good one replaces it; no temporary
// database is left either way.
func TestLoadReplace(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	db, _ := fixtureDB(t, s)
	want := s.checksums(t, db)
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			p := pullDB(t, s, db, pgAdmin, "", format)
			l := newLoader(t, s, pgAdmin, "")
			target := unique("xvreplace_")
			s.createDB(t, target)
			s.mustRun(t, target, "CREATE TABLE old_data (x int); INSERT INTO old_data VALUES (42)")

			cut := bytes.Index(p.dump, []byte("Ada")) // in the customers rows
			require.Positive(t, cut)
			_, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Format: p.format, Replace: true, Open: opener(p.dump[:cut])})
			t.Log(err)
			require.Error(t, err)
			require.ErrorContains(t, err, "untouched")
			if format == sdk.PostgresFormatPlain {
				require.ErrorContains(t, err, "ends inside the COPY data")
			}
			require.Equal(t, "42", s.mustRun(t, target, "SELECT x FROM old_data"))
			require.Empty(t, s.leftovers(t, target))

			res, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Format: p.format, Replace: true, Open: opener(p.dump)})
			require.NoError(t, err)
			require.Equal(t, p.meta.Tables, res.Tables)
			require.Equal(t, want, s.checksums(t, target))
			require.Empty(t, s.leftovers(t, target))
			require.Equal(t, "", s.mustRun(t, target, "SELECT to_regclass('old_data')"))
		})
	}
}

// TestLoadReplaceMaintenanceDatabase replaces the very database the
// loader's source names (its maintenance connection).
func TestLoadReplaceMaintenanceDatabase(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	db, _ := fixtureDB(t, s)
	p := pullDB(t, s, db, pgAdmin, "", sdk.PostgresFormatPlain)
	s.mustRun(t, db, "DELETE FROM orders")
	l, err := NewLoader(t.Context(), sdk.PostgresConfig{Host: s.host, Port: s.port, Username: pgAdmin, Databases: []string{db}}, "", nil, testEnv(t))
	require.NoError(t, err)
	defer l.Close()
	_, err = l.Load(t.Context(), connector.LoadOptions{Database: db, Format: p.format, Replace: true, Open: opener(p.dump)})
	require.NoError(t, err)
	require.Equal(t, "250", s.mustRun(t, db, "SELECT count(*) FROM orders"))
}

// TestLoadOwners loads as a role that is neither superuser nor owner of
// the dump's objects. Source A's objects belong to another role (with a
// grant to a third): by default the load succeeds and the loading role
// owns everything, without the grant; KeepOwners fails naming the owner.
// Source B's objects belong to the loading role itself: KeepOwners
// succeeds and keeps its grant.
func TestLoadOwners(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	owner, loader, grantee := unique("xvowner_"), unique("xvloader_"), unique("xvgrantee_")
	s.createRole(t, owner, "x", "")
	s.createRole(t, loader, "x", "CREATEDB")
	s.createRole(t, grantee, "x", "")
	fixture := func(role string) string {
		db := unique("xvowned_")
		s.createDB(t, db, role)
		s.mustRun(t, db, "SET ROLE "+ident(role)+";"+fixtureSQL+"GRANT SELECT ON orders TO "+ident(grantee)+";")
		return db
	}
	dbA, dbB := fixture(owner), fixture(loader)
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			a := pullDB(t, s, dbA, pgAdmin, "", format)
			b := pullDB(t, s, dbB, pgAdmin, "", format)
			l := newLoader(t, s, loader, "")
			load := func(p pulled, keep bool) (string, error) {
				target := unique("xvownload_")
				s.dropLater(t, target)
				_, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Format: p.format, Create: true, KeepOwners: keep, Open: opener(p.dump)})
				return target, err
			}
			granted := func(db string) string {
				return s.mustRun(t, db, "SELECT has_table_privilege("+literal(grantee)+", 'public.orders', 'SELECT')")
			}

			target, err := load(a, false)
			require.NoError(t, err)
			require.Equal(t, loader, s.mustRun(t, target, "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname IN ('public', 'Odd Schema')"))
			require.Equal(t, "f", granted(target), "--no-acl")

			target, err = load(a, true)
			t.Log(err)
			require.ErrorIs(t, err, connector.ErrPermanent)
			require.ErrorContains(t, err, `"`+owner+`"`)
			require.ErrorContains(t, err, "hint: the dump's objects are owned by roles")
			require.Equal(t, "0", s.mustRun(t, "postgres", "SELECT count(*) FROM pg_database WHERE datname = "+literal(target)),
				"the database created for the load is dropped")

			target, err = load(b, true)
			require.NoError(t, err)
			require.Equal(t, loader, s.mustRun(t, target, "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'"))
			require.Equal(t, "t", granted(target), "KeepOwners keeps the grants")
		})
	}
}

// TestLoadRestrict loads a dump of this machine's pg_dump (which writes
// \restrict) with the local psql, as it is and as for a psql too old to
// know \restrict; and a dump without \restrict, which runs restricted anyway.
func TestLoadRestrict(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	db, _ := fixtureDB(t, s)
	want := s.checksums(t, db)
	p := pullDB(t, s, db, pgAdmin, "", sdk.PostgresFormatPlain)
	l := newLoader(t, s, pgAdmin, "")
	if !knowsRestrict(l.psql.version) || !bytes.Contains(p.dump, []byte("\n\\restrict ")) {
		t.Skipf("psql %s and its pg_dump predate \\restrict", l.psql.version)
	}
	load := func(dump []byte) *connector.LoadResult {
		target := unique("xvrestrict_")
		s.dropLater(t, target)
		res, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Format: "sql", Create: true, Open: opener(dump)})
		require.NoError(t, err)
		require.Equal(t, want, s.checksums(t, target))
		return res
	}
	require.Empty(t, load(p.dump).Warnings)

	unrestricted := regexpReplace(p.dump, `(?m)^\\(un)?restrict .*\n`, "")
	require.NotContains(t, string(unrestricted), "restrict ")
	require.Empty(t, load(unrestricted).Warnings)

	old := *l
	old.psql.version = "15.13"
	l = &old
	res := load(p.dump)
	require.Len(t, res.Warnings, 1)
	require.Contains(t, res.Warnings[0], `the dump's \restrict lines were dropped: psql 15.13`)
}

// TestLoadCanceled cancels a load while psql reads the dump: psql is
// killed, the database created for it dropped.
func TestLoadCanceled(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	db := unique("xvcancel_")
	s.createDB(t, db)
	s.mustRun(t, db, "CREATE TABLE big AS SELECT i, md5(i::text) AS pad FROM generate_series(1, 50000) i")
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			p := pullDB(t, s, db, pgAdmin, "", format)
			l := newLoader(t, s, pgAdmin, "")
			ctx, cancel := context.WithCancel(t.Context())
			l.c.onTool = func(_ string, _ *os.Process, w io.Writer) io.Writer { return &firstWrite{w: w, fn: cancel} }
			target := unique("xvcanceled_")
			s.dropLater(t, target)
			_, err := l.Load(ctx, connector.LoadOptions{Database: target, Format: p.format, Create: true, Open: opener(p.dump)})
			require.ErrorIs(t, err, context.Canceled)
			require.Equal(t, "0", s.mustRun(t, "postgres", "SELECT count(*) FROM pg_database WHERE datname = "+literal(target)))
		})
	}
}

// TestLoadCanaryNeverExposed loads, as a role whose password is a canary
// and that a SCRAM server really checks, and looks at every process's
// command line and environment while psql and pg_restore run.
func TestLoadCanaryNeverExposed(t *testing.T) {
	t.Parallel()
	srv := startPrivateServer(t)
	role, db := unique("xvcanary_"), unique("xvcanarydb_")
	canary := unique("canary:pw\\")
	srv.createRole(t, role, canary, "CREATEDB")
	srv.createDB(t, db)
	srv.mustRun(t, db, fixtureSQL)
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			p := pullDB(t, srv.server, db, pgAdmin, srv.Password, format)
			env := testEnv(t)
			l, err := NewLoader(t.Context(), sdk.PostgresConfig{Host: srv.host, Port: srv.port, Username: role}, "",
				&sdk.SecretPayload{Password: canary}, env)
			require.NoError(t, err)
			var mu sync.Mutex
			var samples []procSample
			var tools []string
			l.c.onTool = func(tool string, proc *os.Process, w io.Writer) io.Writer {
				require.NoError(t, proc.Signal(syscall.SIGSTOP))
				defer func() { require.NoError(t, proc.Signal(syscall.SIGCONT)) }()
				smp := sampleProcs(canary)
				checkPassfile(t, env.TempDir, canary)
				mu.Lock()
				samples, tools = append(samples, smp), append(tools, cmdlinesOf(proc.Pid))
				mu.Unlock()
				return w
			}
			target := unique("xvcanaryload_")
			srv.dropLater(t, target)
			res, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Format: p.format, Create: true, Open: opener(p.dump)})
			require.NoError(t, err)
			require.Equal(t, fixtureCounts, tableCounts(res.Tables))
			require.Len(t, samples, 1)
			require.Empty(t, samples[0].hits, "canary seen while loading")
			tool := map[string]string{"sql": "psql", "custom": "pg_restore"}[p.format]
			require.Contains(t, tools[0], "/"+tool+" ", "the loading tool was sampled")
			require.NotContains(t, tools[0], canary)
			require.NoError(t, l.Close())
			left, err := os.ReadDir(env.TempDir)
			require.NoError(t, err)
			require.Empty(t, left, "the private dir (password file) is removed")
		})
	}

	wrong := unique("wrong-password-")
	_, err := NewLoader(t.Context(), sdk.PostgresConfig{Host: srv.host, Port: srv.port, Username: role}, "",
		&sdk.SecretPayload{Password: wrong}, testEnv(t))
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "password authentication failed")
	require.ErrorContains(t, err, "hint: check the password")
	require.NotContains(t, err.Error(), wrong)
}

func cmdlinesOf(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	return string(bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
}

func regexpReplace(b []byte, re, with string) []byte {
	return regexp.MustCompile(re).ReplaceAll(b, []byte(with))
}

// TestLoadThroughSSH loads through the SSH tunnel of a source whose
// database list names a database that does not exist yet (the
// maintenance connection falls back to postgres).
func TestLoadThroughSSH(t *testing.T) {
	t.Parallel()
	s := requirePostgres(t)
	ssh := sshd.Start(t, sshd.Options{})
	db, _ := fixtureDB(t, s)
	p := pullDB(t, s, db, pgAdmin, "", sdk.PostgresFormatCustom)
	target := unique("xvsshload_")
	s.dropLater(t, target)
	secret := &sdk.SecretPayload{SSH: &sdk.SecretPayload{PrivateKey: string(ssh.ClientKey)}}
	l, err := NewLoader(t.Context(), sshSource(ssh, target, s.port), "", secret, testEnv(t))
	require.NoError(t, err)
	defer l.Close()
	require.Equal(t, "postgres", l.metaDB)
	res, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Format: p.format, Create: true, Open: opener(p.dump)})
	require.NoError(t, err)
	require.Equal(t, p.meta.Tables, res.Tables)
	require.Equal(t, s.checksums(t, db), s.checksums(t, target))
}
