package mysql

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk/archive"
)

// dumpOf dumps db with the package's own Dump, as the fixture's account.
func dumpOf(t testing.TB, srv Server, db string) ([]byte, archive.Database) {
	t.Helper()
	s, err := Open(t.Context(), srv, testEnv(t))
	require.NoError(t, err)
	defer s.Close()
	d, err := s.Dump(t.Context(), db, nil)
	require.NoError(t, err)
	defer d.Spool.Discard()
	r, err := d.Spool.Reader()
	require.NoError(t, err)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return b, d.Database
}

func rootServer() Server { return Server{Host: testHost, Port: testPort, Username: "root"} }

func newLoader(t testing.TB, srv Server) *Loader {
	t.Helper()
	needClient(t)
	l, err := NewLoader(t.Context(), srv, testEnv(t))
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

func opener(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// dropLater drops a database the test may leave behind.
func dropLater(t testing.TB, root *sql.DB, db string) {
	t.Cleanup(func() { _, _ = root.Exec("DROP DATABASE IF EXISTS " + quoteID(db)) })
}

// tempDatabases are the databases whose name starts with db + "__xv".
func tempDatabases(t testing.TB, root *sql.DB, db string) []string {
	t.Helper()
	rows, err := root.Query("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA")
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		if strings.HasPrefix(n, db+"__xv") {
			out = append(out, n)
		}
	}
	return out
}

func TestLoadRoundTrip(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	dump, rec := dumpOf(t, f.server(), f.db)
	l := newLoader(t, rootServer())
	target := unique("xvl_")
	dropLater(t, root, target)

	res, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Format: "sql", Create: true, Open: opener(dump)})
	require.NoError(t, err)
	require.Equal(t, rec.Tables, res.Tables, "row counts and engines as recorded at dump time")
	require.Equal(t, checksums(t, root, f.db), checksums(t, root, target))
	for _, q := range []string{
		"SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?",
		"SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?",
		"SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?",
		"SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?",
	} {
		require.Equal(t, 1, count(t, root, q, target), q)
	}
	require.Contains(t, res.Warnings, "4 DEFINER clauses rewritten to CURRENT_USER", "%q", res.Warnings)
	dbs, err := l.Databases(t.Context())
	require.NoError(t, err)
	require.Contains(t, dbs, target)

	// An existing target without Replace, a missing one without Create.
	_, err = l.Load(t.Context(), connector.LoadOptions{Database: target, Format: "sql", Create: true, Open: opener(dump)})
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "database "+target+" already exists on the server; pass --replace to replace it")
	missing := unique("xvl_")
	_, err = l.Load(t.Context(), connector.LoadOptions{Database: missing, Format: "sql", Open: opener(dump)})
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "database "+missing+" does not exist; pass --create-database")

	require.NoError(t, l.Drop(t.Context(), target))
	require.NoError(t, l.Drop(t.Context(), target), "dropping a missing database is no error")
	require.Zero(t, count(t, root, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", target))
	require.ErrorIs(t, l.Drop(t.Context(), "mysql"), connector.ErrPermanent)
}

// TestLoadReplace: a broken dump leaves the old data intact and no
// temporary database; a good one replaces the data.
func TestLoadReplace(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	oldDump, _ := dumpOf(t, f.server(), f.db)
	l := newLoader(t, rootServer())
	target := unique("xvl_")
	dropLater(t, root, target)
	_, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Create: true, Open: opener(oldDump)})
	require.NoError(t, err)
	old := checksums(t, root, target)

	exec1(t, root, "INSERT INTO "+quoteID(f.db)+".items VALUES (5, 'new', NULL, NULL, 9.99, NULL)")
	exec1(t, root, "DELETE FROM "+quoteID(f.db)+".legacy WHERE id = 1")
	newDump, rec := dumpOf(t, f.server(), f.db)
	require.NotEqual(t, old, checksums(t, root, f.db))

	cut := bytes.Index(newDump, []byte("INSERT INTO `items`")) + 40
	truncated := newDump[:cut]
	broken := append(append([]byte{}, truncated...), "\n"+endLine...) // syntactically broken, trailer present
	// An ordered list, not a map: each case checks its own error.
	for _, c := range []struct {
		name, want string
		dump       []byte
	}{
		{"truncated", `its last line is not the completion trailer "-- Dump completed"`, truncated},
		{"broken", "failed (exit status 1): ERROR 1064 (42000) at line ", broken}, // the client's own message, not its echo of the statement
	} {
		_, err = l.Load(t.Context(), connector.LoadOptions{Database: target, Replace: true, Open: opener(c.dump)})
		require.Error(t, err, c.name)
		require.ErrorContains(t, err, "database "+target+" is unchanged", c.name)
		require.ErrorContains(t, err, c.want, c.name)
		t.Logf("%s: %v", c.name, err)
		require.Equal(t, old, checksums(t, root, target), c.name)
		require.Empty(t, tempDatabases(t, root, target), c.name)
	}

	res, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Replace: true, Open: opener(newDump)})
	require.NoError(t, err)
	require.Equal(t, rec.Tables, res.Tables)
	require.Equal(t, checksums(t, root, f.db), checksums(t, root, target))
	require.Empty(t, tempDatabases(t, root, target))
	require.Equal(t, 1, count(t, root, "SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?", target))

	// Replace of a missing database creates it.
	other := unique("xvl_")
	dropLater(t, root, other)
	_, err = l.Load(t.Context(), connector.LoadOptions{Database: other, Replace: true, Open: opener(newDump)})
	require.NoError(t, err)
	require.Equal(t, checksums(t, root, f.db), checksums(t, root, other))
}

// TestLoadFailureDropsCreated: a database the loader created is gone
// after a failed load; a refused dump names its line.
func TestLoadFailureDropsCreated(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	l := newLoader(t, rootServer())
	for _, tc := range []struct{ dump, want string }{
		{"CREATE TABLE `a` (id INT);\nINSERT INTO `a` VALUES (1);\nUSE `mysql`;\n" + endLine, "line 3 of the dump: a USE statement"},
		{"CREATE TABLE `a` (id INT);\nINSERT INTO `a` VALUES (1),(2;\n" + endLine, "ERROR 1064"},
		{"CREATE TABLE `a` (id INT);\nINSERT INTO `a` VALUES (1);\n", "is incomplete"},
	} {
		db := unique("xvl_")
		dropLater(t, root, db)
		_, err := l.Load(t.Context(), connector.LoadOptions{Database: db, Create: true, Open: opener([]byte(tc.dump))})
		require.ErrorContains(t, err, tc.want)
		require.ErrorContains(t, err, "load into database "+db)
		require.Zero(t, count(t, root, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", db), tc.want)
	}
	for _, opts := range []connector.LoadOptions{
		{Database: "", Create: true},
		{Database: "mysql", Replace: true},
		{Database: "a/b", Create: true},
		{Database: "..", Create: true},
		{Database: "x ", Create: true},
		{Database: strings.Repeat("x", 65), Create: true},
		{Database: "ok", Format: "custom", Create: true},
		{Database: "ok", Create: true, TablePrefix: &connector.PrefixRename{From: "wp_", To: "x'; DROP"}},
		{Database: "ok", Create: true, TablePrefix: &connector.PrefixRename{From: "", To: "x_"}},
	} {
		if opts.Open == nil && opts.Format == "" && opts.Database == "ok" {
			opts.Open = opener(nil)
		}
		_, err := l.Load(t.Context(), opts)
		require.ErrorIs(t, err, connector.ErrPermanent, "%+v", opts)
	}
	// A name that looks like an option is a name.
	db := "--execute=DROP DATABASE x" + unique("")[:4]
	dropLater(t, root, db)
	res, err := l.Load(t.Context(), connector.LoadOptions{Database: db, Create: true,
		Open: opener([]byte("CREATE TABLE `a` (id INT);\nINSERT INTO `a` VALUES (1),(2);\n" + endLine))})
	require.NoError(t, err)
	require.Equal(t, []archive.Table{{Name: "a", Rows: 2, Engine: "InnoDB"}}, res.Tables)
}

// TestLoadDefinerAsNonRoot: views, routines and triggers defined by
// root@otherhost load as an account that has ALL on the target only.
func TestLoadDefinerAsNonRoot(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	other := "root" + unique("")[:4]
	exec1(t, root, "CREATE USER "+sqlString(other)+"@'otherhost'")
	t.Cleanup(func() { _, _ = root.Exec("DROP USER IF EXISTS " + sqlString(other) + "@'otherhost'") })
	exec1(t, root, "GRANT SELECT, INSERT ON "+quoteID(f.db)+".* TO "+sqlString(other)+"@'otherhost'")
	definer := quoteID(other) + "@`otherhost`"
	conn, err := root.Conn(context.Background())
	require.NoError(t, err)
	defer conn.Close()
	for _, stmt := range []string{
		"USE " + quoteID(f.db),
		"CREATE DEFINER=" + definer + " SQL SECURITY DEFINER VIEW v_other AS SELECT id, name FROM items",
		"CREATE DEFINER=" + definer + " PROCEDURE p_other(OUT n INT) BEGIN SELECT COUNT(*) INTO n FROM items; END",
		"CREATE DEFINER=" + definer + " TRIGGER legacy_bi BEFORE INSERT ON legacy FOR EACH ROW SET NEW.txt = UPPER(NEW.txt)",
	} {
		_, err := conn.ExecContext(context.Background(), stmt)
		require.NoError(t, err, stmt)
	}
	dump, rec := dumpOf(t, f.server(), f.db)
	require.Contains(t, string(dump), "DEFINER=`"+other+"`@`otherhost`")

	target := unique("xvl_")
	dropLater(t, root, target)
	user, password := unique("xvn_"), canaryPrefix+unique("")
	f.createUser(t, root, user, password)
	exec1(t, root, "GRANT ALL ON "+quoteID(target)+".* TO "+sqlString(user)+"@'%'")
	l := newLoader(t, Server{Host: testHost, Port: testPort, Username: user, Password: password})
	res, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Create: true, Open: opener(dump)})
	require.NoError(t, err)
	require.Equal(t, rec.Tables, res.Tables)
	require.Contains(t, res.Warnings, "7 DEFINER clauses rewritten to CURRENT_USER")

	// They exist and work, as the loading account.
	nonRoot := l.s.db
	var n int
	require.NoError(t, nonRoot.QueryRow("SELECT COUNT(*) FROM "+quoteID(target)+".v_other").Scan(&n))
	require.Equal(t, 4, n)
	c2, err := nonRoot.Conn(context.Background())
	require.NoError(t, err)
	defer c2.Close()
	_, err = c2.ExecContext(context.Background(), "CALL "+quoteID(target)+".p_other(@n)")
	require.NoError(t, err)
	require.NoError(t, c2.QueryRowContext(context.Background(), "SELECT @n").Scan(&n))
	require.Equal(t, 4, n)
	_, err = nonRoot.Exec("INSERT INTO " + quoteID(target) + ".legacy VALUES (9, 'lower')")
	require.NoError(t, err)
	var txt string
	require.NoError(t, nonRoot.QueryRow("SELECT txt FROM "+quoteID(target)+".legacy WHERE id = 9").Scan(&txt))
	require.Equal(t, "LOWER", txt, "the trigger ran")
	var def string
	require.NoError(t, root.QueryRow("SELECT DEFINER FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'v_other'", target).Scan(&def))
	require.Equal(t, user+"@%", def)

	// Without privileges on a database, loading into it is refused as permanent.
	denied := unique("xvl_")
	dropLater(t, root, denied)
	exec1(t, root, "CREATE DATABASE "+quoteID(denied))
	exec1(t, root, "GRANT SELECT ON "+quoteID(denied)+".* TO "+sqlString(user)+"@'%'")
	_, err = l.Load(t.Context(), connector.LoadOptions{Database: denied, Replace: true, Open: opener(dump)})
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "hint:")
	require.Empty(t, tempDatabases(t, root, denied))
}

// TestLoadSecretsNeverVisible samples every process's command line and
// environment while a load runs: the canary password is in none of them;
// the option file is private and gone afterwards.
func TestLoadSecretsNeverVisible(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	f.bigTable(t, root, 150_000)
	dump, _ := dumpOf(t, f.server(), f.db)
	target := unique("xvl_")
	dropLater(t, root, target)
	exec1(t, root, "GRANT ALL ON "+quoteID(target)+".* TO "+sqlString(f.user)+"@'%'")
	env := testEnv(t)
	needClient(t)
	l, err := NewLoader(t.Context(), f.server(), env)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Create: true, Open: opener(dump)})
		done <- err
	}()
	canary := []byte(f.password[:len(canaryPrefix)+10])
	var samples, seen int
	var optFile string
	for running := true; running; {
		select {
		case err := <-done:
			require.NoError(t, err)
			running = false
		default:
		}
		samples++
		procs, _ := filepath.Glob("/proc/[0-9]*")
		for _, p := range procs {
			for _, name := range []string{"cmdline", "environ"} {
				b, err := os.ReadFile(filepath.Join(p, name))
				if err == nil && bytes.Contains(b, canary) {
					t.Errorf("canary password in %s/%s: %q", p, name, b)
				}
			}
		}
		for _, pid := range clientProcesses(target) {
			cmdline, _ := os.ReadFile(filepath.Join("/proc", itoa(pid), "cmdline"))
			environ, _ := os.ReadFile(filepath.Join("/proc", itoa(pid), "environ"))
			if len(cmdline) == 0 {
				continue
			}
			seen++
			require.NotContains(t, string(environ), "MYSQL_PWD")
			args := strings.Split(string(cmdline), "\x00")
			require.True(t, strings.HasPrefix(args[1], "--defaults-file="), args[1])
			require.Contains(t, args, "--binary-mode")
			optFile = strings.TrimPrefix(args[1], "--defaults-file=")
			if fi, err := os.Stat(optFile); err == nil {
				require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
				di, err := os.Stat(filepath.Dir(optFile))
				require.NoError(t, err)
				require.Equal(t, os.FileMode(0o700), di.Mode().Perm())
			}
		}
	}
	require.Positive(t, seen, "the client was never seen running (%d samples)", samples)
	t.Logf("%d samples, client seen in %d", samples, seen)
	_, err = os.Stat(optFile)
	require.ErrorIs(t, err, os.ErrNotExist, "option file removed")
	require.NoError(t, l.Close())
	left, err := os.ReadDir(env.TempDir)
	require.NoError(t, err)
	require.Empty(t, left, "the session's directory is removed")
	require.Equal(t, 150_000, count(t, root, "SELECT COUNT(*) FROM "+quoteID(target)+".big"))
}

// clientProcesses lists the command-line clients this test process
// started for database db.
func clientProcesses(db string) []int {
	var out []int
	for _, pid := range childProcesses() {
		cmdline, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte("\x00--database="+db+"\x00")) {
			out = append(out, pid)
		}
	}
	return out
}

// childProcesses are the processes whose parent is this test process.
func childProcesses() []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	me := itoa(os.Getpid())
	for _, e := range entries {
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(fields) > 1 && fields[1] == me {
			var pid int
			for _, c := range e.Name() {
				pid = pid*10 + int(c-'0')
			}
			out = append(out, pid)
		}
	}
	return out
}

// TestLoadCancelled: cancelling the context kills the client, the error
// says interrupted, and the created database is dropped.
func TestLoadCancelled(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	f.bigTable(t, root, 150_000)
	dump, _ := dumpOf(t, f.server(), f.db)
	l := newLoader(t, rootServer())
	target := unique("xvl_")
	dropLater(t, root, target)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := l.Load(ctx, connector.LoadOptions{Database: target, Create: true, Open: opener(dump)})
		done <- err
	}()
	for deadline := time.Now().Add(time.Minute); len(clientProcesses(target)) == 0; time.Sleep(5 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "the client never started")
	}
	cancel()
	err := <-done
	require.ErrorContains(t, err, "load into database "+target+" with mariadb interrupted")
	require.ErrorIs(t, err, context.Canceled)
	require.Empty(t, clientProcesses(target))
	require.Zero(t, count(t, root, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", target))
}

// TestLoadTablePrefix renames a WordPress prefix: tables, a view, a
// foreign key, the user_roles option and the capability keys.
func TestLoadTablePrefix(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	q := quoteID(f.db)
	for _, stmt := range []string{
		"CREATE TABLE " + q + ".wp_options (option_id INT AUTO_INCREMENT PRIMARY KEY, option_name VARCHAR(191) UNIQUE, option_value LONGTEXT)",
		"INSERT INTO " + q + ".wp_options (option_name, option_value) VALUES ('wp_user_roles', 'a:1:{}'), ('siteurl', 'http://x')",
		"CREATE TABLE " + q + ".wp_usermeta (umeta_id INT AUTO_INCREMENT PRIMARY KEY, user_id INT, meta_key VARCHAR(255), meta_value LONGTEXT)",
		"INSERT INTO " + q + ".wp_usermeta (user_id, meta_key, meta_value) VALUES (1, 'wp_capabilities', 'a:1:{s:13:\"administrator\";b:1;}'), (1, 'wp_user_level', '10'), (1, 'nickname', 'wp_admin'), (1, 'WP_upper', 'x')",
		"CREATE TABLE " + q + ".wp_users (ID INT PRIMARY KEY) ENGINE=InnoDB",
		"INSERT INTO " + q + ".wp_users VALUES (1)",
		"CREATE TABLE " + q + ".wp_posts (ID INT PRIMARY KEY, author INT, CONSTRAINT wp_fk_author FOREIGN KEY (author) REFERENCES " + q + ".wp_users (ID)) ENGINE=InnoDB",
		"INSERT INTO " + q + ".wp_posts VALUES (1, 1)",
		"CREATE VIEW " + q + ".wp_v AS SELECT p.ID, u.ID AS uid FROM " + q + ".wp_posts p JOIN " + q + ".wp_users u ON u.ID = p.author",
	} {
		exec1(t, root, stmt)
	}
	dump, _ := dumpOf(t, f.server(), f.db)
	l := newLoader(t, rootServer())
	target := unique("xvl_")
	dropLater(t, root, target)
	res, err := l.Load(t.Context(), connector.LoadOptions{Database: target, Create: true, Open: opener(dump),
		TablePrefix: &connector.PrefixRename{From: "wp_", To: "shop_"}})
	require.NoError(t, err)
	var names []string
	for _, tb := range res.Tables {
		names = append(names, tb.Name)
	}
	require.Equal(t, []string{"empty_t", "items", "legacy", "log", "shop_options", "shop_posts", "shop_usermeta", "shop_users", "tricky `name'"}, names)
	require.Contains(t, res.Warnings, "table prefix wp_ renamed to shop_: 5 tables and views")
	require.Contains(t, res.Warnings, "table prefix: 2 shop_usermeta keys renamed from wp_… to shop_…")
	tq := quoteID(target)
	require.Equal(t, 1, count(t, root, "SELECT COUNT(*) FROM "+tq+".shop_options WHERE option_name = 'shop_user_roles'"))
	require.Equal(t, 1, count(t, root, "SELECT COUNT(*) FROM "+tq+".shop_v WHERE uid = 1"))
	rows, err := root.Query("SELECT meta_key FROM " + tq + ".shop_usermeta ORDER BY umeta_id")
	require.NoError(t, err)
	var keys []string
	for rows.Next() {
		var k string
		require.NoError(t, rows.Scan(&k))
		keys = append(keys, k)
	}
	require.NoError(t, rows.Close())
	require.Equal(t, []string{"shop_capabilities", "shop_user_level", "nickname", "WP_upper"}, keys)
	require.Equal(t, 1, count(t, root, `SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS
		WHERE CONSTRAINT_SCHEMA = ? AND REFERENCED_TABLE_NAME = 'shop_users'`, target))
}

func TestNewLoaderWithoutClient(t *testing.T) {
	rootDB(t)
	t.Setenv("PATH", t.TempDir())
	_, err := NewLoader(t.Context(), rootServer(), testEnv(t))
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "apt-get install mariadb-client")
}
