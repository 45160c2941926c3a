package mysql

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/sdk"
)

func TestConfigValidation(t *testing.T) {
	t.Parallel()
	sec := &sdk.SecretPayload{Password: "x"}
	for _, tc := range []struct {
		cfg  sdk.MySQLConfig
		sec  *sdk.SecretPayload
		want string
	}{
		{sdk.MySQLConfig{Host: "h", Databases: []string{"a"}}, sec, "username is required"},
		{sdk.MySQLConfig{Host: "h", Username: "u"}, sec, "name the databases"},
		{sdk.MySQLConfig{Host: "h", Username: "u", Databases: []string{"a"}, AllDatabases: true}, sec, "exclude each other"},
		{sdk.MySQLConfig{Host: "h", Username: "u", Databases: []string{"a"}, ExcludeDatabases: []string{"b"}}, sec, "needs all_databases"},
		{sdk.MySQLConfig{Host: "h", Username: "u", Databases: []string{"mysql"}}, sec, "system schema"},
		{sdk.MySQLConfig{Host: "h", Username: "u", Databases: []string{"a\x00b"}}, sec, "NUL"},
		{sdk.MySQLConfig{Host: "h", Username: "u", Databases: []string{strings.Repeat("d", 65)}}, sec, "longer than 64"},
		{sdk.MySQLConfig{Host: "h", Username: "u\nx", Databases: []string{"a"}}, sec, "line breaks"},
		{sdk.MySQLConfig{Host: "h", Username: "u", Databases: []string{"a"}, TLS: "maybe"}, sec, "tls"},
		{sdk.MySQLConfig{Host: "h", Username: "u", Databases: []string{"a"}, Port: 70000}, sec, "out of range"},
		{sdk.MySQLConfig{Username: "u", Databases: []string{"a"}}, sec, "host or socket"},
		{sdk.MySQLConfig{Username: "u", Socket: "rel.sock", Databases: []string{"a"}}, sec, "absolute"},
		{sdk.MySQLConfig{Host: "h", Username: "u", Databases: []string{"a"}}, nil, "no credential"},
		{sdk.MySQLConfig{Username: "u", Databases: []string{"a"}, SSH: &sdk.DatabaseSSH{Host: "s", Username: "u"}}, sec, "no SSH credential"},
		{sdk.MySQLConfig{Username: "u", Databases: []string{"a"}, SSH: &sdk.DatabaseSSH{Host: "s"}}, sec, "ssh: host and username"},
	} {
		_, err := New(tc.cfg, "", tc.sec, connector.Env{})
		require.ErrorIs(t, err, connector.ErrPermanent, tc.want)
		require.ErrorContains(t, err, tc.want)
	}
	c, err := New(sdk.MySQLConfig{Username: "u", AllDatabases: true, SSH: &sdk.DatabaseSSH{Host: "s", Username: "u", HostKey: "SHA256:old"}},
		"SHA256:pinned", &sdk.SecretPayload{Password: "db", SSH: &sdk.SecretPayload{PrivateKey: "k"}}, connector.Env{})
	require.NoError(t, err)
	require.Equal(t, 3306, c.srv.Port)
	require.Equal(t, "SHA256:pinned", c.srv.SSH.HostKey)
	require.Equal(t, "k", c.srv.SSH.PrivateKey)
	require.Equal(t, sdk.MySQLTLSPreferred, c.srv.TLS)
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	srv := f.server()
	srv.Password = canaryPrefix + "wrong"
	_, err := Open(t.Context(), srv, testEnv(t))
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "authentication failed for user \""+f.user+"\"")
	require.NotContains(t, err.Error(), srv.Password)
	t.Log(err)
}

func TestUnknownDatabase(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	cfg := f.config()
	cfg.Databases = []string{"xv_no_such_db"}
	c, err := New(cfg, "", f.secret(), testEnv(t))
	require.NoError(t, err)
	rec := &connectortest.Recorder{}
	err = c.Pull(t.Context(), rec)
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, `database "xv_no_such_db" does not exist`)
	require.Nil(t, rec.Descriptor)
	require.Empty(t, rec.Objects)

	s, err := Open(t.Context(), f.server(), testEnv(t))
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Dump(t.Context(), "xv_no_such_db", nil)
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "xv_no_such_db")
	_, err = s.Dump(t.Context(), f.db, []string{"items", "nope"})
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, `table "nope"`)
}

func TestDumpSelectedTables(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	s, err := Open(t.Context(), f.server(), testEnv(t))
	require.NoError(t, err)
	defer s.Close()
	d, err := s.Dump(t.Context(), f.db, []string{"items", "tricky `name'"})
	require.NoError(t, err)
	defer d.Spool.Discard()
	require.Len(t, d.Database.Tables, 2)
	require.EqualValues(t, 4, d.Database.Tables[0].Rows)
	require.EqualValues(t, 3, d.Database.Tables[1].Rows)
	require.Empty(t, d.Warnings) // legacy (MyISAM) is not dumped
	r, err := d.Spool.Reader()
	require.NoError(t, err)
	buf := new(strings.Builder)
	_, err = ioCopy(buf, r)
	require.NoError(t, err)
	require.NotContains(t, buf.String(), "`legacy`")
	require.EqualValues(t, buf.Len(), d.Spool.Size())
}

func TestEgressRefused(t *testing.T) {
	t.Parallel()
	env := connector.Env{TempDir: t.TempDir()} // no --allow-loopback
	_, err := Open(t.Context(), Server{Host: "127.0.0.1", Username: "u"}, env)
	require.ErrorIs(t, err, egress.ErrRefused)
	_, err = Open(t.Context(), Server{Host: "localhost", Username: "u"}, env)
	require.ErrorIs(t, err, egress.ErrRefused)
	_, err = Open(t.Context(), Server{Socket: testSocket, Username: "u"}, env)
	require.ErrorIs(t, err, egress.ErrRefused)
	_, err = Open(t.Context(), Server{Host: "169.254.169.254", Username: "u"}, connector.Env{TempDir: t.TempDir(), Egress: egress.Policy{AllowLoopback: true, AllowPrivate: true}})
	require.ErrorIs(t, err, egress.ErrRefused)
	require.ErrorContains(t, err, "link-local")
}

// TestMissingTool points PATH at an empty directory: Open works (Test
// reports the missing client), Dump and Pull fail permanently.
func TestMissingTool(t *testing.T) {
	root := rootDB(t)
	f := newFixture(t, root)
	t.Setenv("PATH", t.TempDir())
	s, err := Open(t.Context(), f.server(), testEnv(t))
	require.NoError(t, err)
	defer s.Close()
	require.Zero(t, s.Tool())
	_, err = s.Dump(t.Context(), f.db, nil)
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "mariadb-dump or mysqldump")

	c, err := New(f.config(), "", f.secret(), testEnv(t))
	require.NoError(t, err)
	rec := &connectortest.Recorder{}
	require.ErrorIs(t, c.Pull(t.Context(), rec), connector.ErrPermanent)
	require.Nil(t, rec.Descriptor)
	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Contains(t, checkDetail(rep, "dump client"), "apt-get install mariadb-client")
}

// fakeTool installs a stand-in dump client that answers --version and
// --help like the real one and otherwise runs body (sh).
func fakeTool(t *testing.T, body string) {
	dir := t.TempDir()
	script := "#!/bin/sh\ncase \"$2\" in\n--version) echo 'mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for x'; exit 0;;\n--help) echo '--ssl'; exit 0;;\nesac\n" + body + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "mariadb-dump"), []byte(script), 0o755))
	t.Setenv("PATH", dir+":/usr/bin:/bin")
}

func TestDumpWithoutTrailerOrFailingFails(t *testing.T) {
	root := rootDB(t)
	f := newFixture(t, root)
	for _, tc := range []struct{ body, want string }{
		{"echo 'INSERT INTO `t` VALUES (1);'; exit 0", "lacks the completion trailer"},
		{"echo '-- Dump completed on x'; echo 'mariadb-dump: Got error: 2013: Lost connection' >&2; exit 2", "Lost connection"},
		{"echo 'mariadb-dump: Got error: 1044: Access denied for user' >&2; exit 2", "xv source test names the missing GRANT"},
	} {
		fakeTool(t, tc.body)
		c, err := New(f.config(), "", f.secret(), testEnv(t))
		require.NoError(t, err)
		rec := &connectortest.Recorder{}
		err = c.Pull(t.Context(), rec)
		require.ErrorContains(t, err, tc.want)
		require.Nil(t, rec.Descriptor)
		require.Empty(t, rec.Objects)
	}
}

// TestDumpKilledMidway kills the real client while it dumps a big table:
// the pull fails and nothing is archived.
func TestDumpKilledMidway(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	f.bigTable(t, root, 200_000)
	c, err := New(f.config(), "", f.secret(), testEnv(t))
	require.NoError(t, err)
	rec := &connectortest.Recorder{}
	done := make(chan error, 1)
	go func() { done <- c.Pull(t.Context(), rec) }()
	pid := waitForDumpProcess(t, f.db, done)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	err = <-done
	require.Error(t, err)
	require.ErrorContains(t, err, "dump of database "+f.db)
	require.ErrorContains(t, err, "signal: killed")
	t.Log(err)
	require.Nil(t, rec.Descriptor)
	require.Empty(t, rec.Objects)
}

// dumpProcesses lists the dump clients this test process started.
func dumpProcesses(db string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	me := strconv.Itoa(os.Getpid())
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(cmdline), "\x00"+db) || !strings.Contains(string(cmdline), "dump") {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == me {
			out = append(out, pid)
		}
	}
	return out
}

func waitForDumpProcess(t *testing.T, db string, done chan error) int {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if p := dumpProcesses(db); len(p) > 0 {
			return p[0]
		}
		select {
		case err := <-done:
			t.Fatalf("the pull ended before its dump client was seen: %v", err)
		default:
		}
	}
	t.Fatal("no dump client process appeared")
	return 0
}

// TestLockWaitBounded: a table locked by another session makes the dump
// fail after the lock-wait bound instead of waiting for the lock.
func TestLockWaitBounded(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	holder, err := root.Conn(context.Background())
	require.NoError(t, err)
	defer holder.Close()
	_, err = holder.ExecContext(t.Context(), "LOCK TABLES "+quoteID(f.db)+".items WRITE")
	require.NoError(t, err)
	defer holder.ExecContext(context.Background(), "UNLOCK TABLES") //nolint:errcheck
	c, err := New(f.config(), "", f.secret(), testEnv(t))
	require.NoError(t, err)
	c.lockWait = 2 * time.Second
	rec := &connectortest.Recorder{}
	err = c.Pull(t.Context(), rec)
	var lw *lockWaitError
	require.True(t, errors.As(err, &lw), "%v", err)
	require.ErrorContains(t, err, "waited more than 2s for a lock")
	t.Log(err)
	require.Nil(t, rec.Descriptor)
}

func checkDetail(rep *sdk.TestReport, name string) string {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c.Detail
		}
	}
	return "no check " + name
}

// TestTLSModes runs against a server without TLS (the test machine's):
// disabled and preferred connect and dump, required and verify_ca refuse,
// permanently, saying why.
func TestTLSModes(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	var haveSSL string
	require.NoError(t, root.QueryRow("SELECT @@have_ssl").Scan(&haveSSL))
	if haveSSL == "YES" {
		t.Skip("the server offers TLS; this test needs one that does not")
	}
	f := newFixture(t, root)
	for _, mode := range []string{sdk.MySQLTLSDisabled, sdk.MySQLTLSPreferred} {
		srv := f.server()
		srv.TLS = mode
		s, err := Open(t.Context(), srv, testEnv(t))
		require.NoError(t, err, mode)
		d, err := s.Dump(t.Context(), f.db, []string{"items"})
		require.NoError(t, err, mode)
		d.Spool.Discard()
		require.NoError(t, s.Close())
	}
	for _, mode := range []string{sdk.MySQLTLSRequired, sdk.MySQLTLSVerifyCA} {
		srv := f.server()
		srv.TLS = mode
		_, err := Open(t.Context(), srv, testEnv(t))
		require.ErrorIs(t, err, connector.ErrPermanent, mode)
		require.ErrorContains(t, err, "does not offer TLS", mode)
	}
}

// TestDumpConnectionKilledByServer ends the dump's connection on the
// server's side mid-dump (as a server going away would): the pull fails
// with the client's message and nothing is archived.
func TestDumpConnectionKilledByServer(t *testing.T) {
	t.Parallel()
	root := rootDB(t)
	f := newFixture(t, root)
	f.bigTable(t, root, 200_000)
	c, err := New(f.config(), "", f.secret(), testEnv(t))
	require.NoError(t, err)
	rec := &connectortest.Recorder{}
	done := make(chan error, 1)
	go func() { done <- c.Pull(t.Context(), rec) }()
	waitForDumpProcess(t, f.db, done)
	var id int64
	for deadline := time.Now().Add(time.Minute); id == 0 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		_ = root.QueryRow("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE '%SQL_NO_CACHE%big%'", f.user).Scan(&id)
	}
	require.NotZero(t, id, "the dump's SELECT on big was never seen")
	exec1(t, root, "KILL CONNECTION "+strconv.FormatInt(id, 10))
	err = <-done
	require.ErrorContains(t, err, "dump of database "+f.db+" with mariadb-dump failed")
	require.ErrorContains(t, err, "Lost connection")
	t.Log(err)
	require.Nil(t, rec.Descriptor)
	require.Empty(t, rec.Objects)
}
