package mysql

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// TestSecretsNeverVisible samples every process's command line and
// environment while a dump runs: the canary password is in none of them.
// The option file that holds it is private and gone afterwards.
func TestSecretsNeverVisible(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	f.bigTable(t, root, 150_000)
	env := testEnv(t)
	c, err := New(f.config(), "", f.secret(), env)
	require.NoError(t, err)
	rec := &connectortest.Recorder{}
	done := make(chan error, 1)
	go func() { done <- c.Pull(t.Context(), rec) }()

	canary := []byte(f.password[:len(canaryPrefix)+10])
	var samples, sawDump int
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
		for _, pid := range dumpProcesses(f.db) {
			cmdline, _ := os.ReadFile(filepath.Join("/proc", itoa(pid), "cmdline"))
			environ, _ := os.ReadFile(filepath.Join("/proc", itoa(pid), "environ"))
			if len(cmdline) == 0 {
				continue
			}
			sawDump++
			require.NotContains(t, string(environ), "MYSQL_PWD")
			require.NotContains(t, string(environ), "HOME="+os.Getenv("HOME")+"\x00")
			arg := strings.Split(string(cmdline), "\x00")[1]
			require.True(t, strings.HasPrefix(arg, "--defaults-file="), arg)
			optFile = strings.TrimPrefix(arg, "--defaults-file=")
			if fi, err := os.Stat(optFile); err == nil {
				require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
				di, err := os.Stat(filepath.Dir(optFile))
				require.NoError(t, err)
				require.Equal(t, os.FileMode(0o700), di.Mode().Perm())
			}
		}
	}
	require.Positive(t, sawDump, "the dump client was never seen running (%d samples)", samples)
	t.Logf("%d samples, dump client seen in %d", samples, sawDump)
	_, err = os.Stat(optFile)
	require.ErrorIs(t, err, os.ErrNotExist, "option file removed")
	left, err := os.ReadDir(env.TempDir)
	require.NoError(t, err)
	require.Empty(t, left, "the session's directory is removed")
	big := rec.Descriptor.Databases[0].Tables[0]
	require.Equal(t, archive.Table{Name: "big", Rows: 150_000, Engine: "InnoDB"}, big)
}

// TestHostileNames: database, table and account names holding shell and
// SQL syntax, and a password with a line break, are passed as data: no
// command runs, the dump restores, and the archive name is escaped.
func TestHostileNames(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	marker := "/tmp/xvmk" + unique("")[:6]
	t.Cleanup(func() { os.Remove(marker) })
	db := "xi" + unique("")[:6] + ";$(touch " + marker + ")`touch " + marker + "`'\"\nz"
	require.LessOrEqual(t, len([]rune(db)), 64)
	exec1(t, root, "CREATE DATABASE "+quoteID(db))
	t.Cleanup(func() { _, _ = root.Exec("DROP DATABASE IF EXISTS " + quoteID(db)) })
	tables := []string{"--result-file=" + marker, "t;$(touch " + marker + ")\n-- x", "`; DROP TABLE x; --"}
	for _, tb := range tables {
		exec1(t, root, "CREATE TABLE "+quoteID(db)+"."+quoteID(tb)+" (id INT PRIMARY KEY, s TEXT) ENGINE=InnoDB")
		exec1(t, root, "INSERT INTO "+quoteID(db)+"."+quoteID(tb)+" VALUES (1, ?), (2, ?)", tb, "$(touch "+marker+")")
	}
	user := "xu" + unique("")[:6] + "'$(touch " + marker + ");`x`"
	password := "line1\nline2\t\"q\" \\ $(touch " + marker + ")"
	f := &fixture{}
	f.createUser(t, root, user, password)
	exec1(t, root, "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT ON "+quoteID(db)+".* TO "+sqlString(user)+"@'%'")

	c, err := New(sdk.MySQLConfig{Host: testHost, Port: testPort, Username: user, Databases: []string{db}}, "",
		&sdk.SecretPayload{Password: password}, testEnv(t))
	require.NoError(t, err)
	rec := &connectortest.Recorder{}
	require.NoError(t, c.Pull(t.Context(), rec))
	require.NoError(t, rec.Err)
	d := rec.Descriptor.Databases[0]
	require.Equal(t, db, d.Name)
	require.Equal(t, archive.DatabaseEntry(db, "sql"), d.File)
	require.NotContains(t, strings.TrimPrefix(d.File, archive.DatabasesPrefix), "/")
	require.Len(t, d.Tables, 3)
	for _, tb := range d.Tables {
		require.EqualValues(t, 2, tb.Rows, tb.Name)
	}
	restored := load(t, root, rec.Objects[d.File])
	require.Equal(t, checksums(t, root, db), checksums(t, root, restored))

	// The selected-tables form passes table names after "--" too.
	s, err := Open(t.Context(), Server{Host: testHost, Port: testPort, Username: user, Password: password}, testEnv(t))
	require.NoError(t, err)
	defer s.Close()
	one, err := s.Dump(t.Context(), db, tables[:1])
	require.NoError(t, err)
	one.Spool.Discard()
	require.EqualValues(t, 2, one.Database.Tables[0].Rows)

	time.Sleep(100 * time.Millisecond)
	_, err = os.Stat(marker)
	require.ErrorIs(t, err, os.ErrNotExist, "a command ran")
}
