package postgres

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk"
)

// procSample is what one look at every process found.
type procSample struct {
	hits  []string // "<pid> cmdline" where the canary was
	tools []string // command lines of the client programs seen
}

// sampleProcs reads /proc/*/cmdline and /proc/*/environ of every process.
func sampleProcs(canary string) procSample {
	var s procSample
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		for _, f := range []string{"cmdline", "environ"} {
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), f))
			if err != nil {
				continue
			}
			if bytes.Contains(b, []byte(canary)) {
				s.hits = append(s.hits, e.Name()+" "+f)
			}
			if f == "cmdline" && (bytes.Contains(b, []byte("pg_dump")) || bytes.Contains(b, []byte("psql\x00-X"))) {
				s.tools = append(s.tools, string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
			}
		}
	}
	return s
}

// firstWrite calls fn once, when a tool first writes output (it is
// running, mid-way), then passes everything on.
type firstWrite struct {
	once sync.Once
	fn   func()
	w    io.Writer
}

func (f *firstWrite) Write(p []byte) (int, error) {
	f.once.Do(f.fn)
	return f.w.Write(p)
}

// TestCanaryNeverExposed backs up from a server that really checks the
// password (SCRAM), as a non-superuser whose password is a canary, and
// looks at every process's command line and environment while pg_dumpall,
// pg_dump and the snapshot session run.
func TestCanaryNeverExposed(t *testing.T) {
	t.Parallel()
	p := startPrivateServer(t)
	role, db := unique("xvcanary_"), unique("xvcanarydb_")
	canary := unique("canary:pw\\") // ":" and "\" need escaping in a password file
	p.createRole(t, role, canary, "")
	p.createDB(t, db, role)
	p.mustRun(t, db, "SET ROLE "+ident(role)+";"+fixtureSQL)

	env := testEnv(t)
	c := newConnector(t, sdk.PostgresConfig{Host: p.host, Port: p.port, Username: role, Databases: []string{db}},
		&sdk.SecretPayload{Password: canary}, env)
	var mu sync.Mutex
	samples := map[string]procSample{}
	c.onTool = func(tool string, proc *os.Process, out io.Writer) io.Writer {
		// Stopped, the tool cannot finish (and vanish) before it is seen.
		require.NoError(t, proc.Signal(syscall.SIGSTOP))
		defer func() { require.NoError(t, proc.Signal(syscall.SIGCONT)) }()
		s := sampleProcs(canary)
		checkPassfile(t, env.TempDir, canary)
		mu.Lock()
		samples[tool] = s
		mu.Unlock()
		return out
	}
	rec, err := pull(t, c)
	require.NoError(t, err)

	require.Len(t, samples, 2)
	for tool, s := range samples {
		require.Empty(t, s.hits, "canary seen while %s ran", tool)
		require.NotEmpty(t, s.tools, "the sampler saw no client program while %s ran", tool)
	}
	require.Contains(t, strings.Join(samples["pg_dumpall"].tools, "\n"), "pg_dumpall --globals-only", "pg_dumpall was sampled")
	require.True(t, strings.Contains(strings.Join(samples["pg_dump"].tools, "\n"), "--snapshot="), "pg_dump was sampled")
	require.True(t, strings.Contains(strings.Join(samples["pg_dump"].tools, "\n"), "psql -X"), "the snapshot session was sampled")

	for name, b := range rec.Objects {
		require.NotContains(t, string(b), canary, name)
	}
	desc, err := json.Marshal(rec.Descriptor)
	require.NoError(t, err)
	require.NotContains(t, string(desc), canary)
	require.Contains(t, rec.Descriptor.Warnings[0], "without their passwords")
	require.Contains(t, string(rec.Objects["server/globals.sql"]), "CREATE ROLE "+role+";")
	left, err := os.ReadDir(env.TempDir)
	require.NoError(t, err)
	require.Empty(t, left, "the private dir (password file) is removed")
	require.Equal(t, fixtureCounts, tableCounts(rec.Descriptor.Databases[0].Tables))
}

// checkPassfile asserts the job's password file is private and holds the
// escaped password.
func checkPassfile(t *testing.T, tempDir, password string) {
	files, _ := filepath.Glob(filepath.Join(tempDir, "pg-*", "pgpass"))
	if len(files) != 1 {
		t.Errorf("password files: %v", files)
		return
	}
	fi, err := os.Stat(files[0])
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("password file %s: %v %v", files[0], fi.Mode(), err)
	}
	b, _ := os.ReadFile(files[0])
	if want := "*:*:*:*:" + strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(password) + "\n"; string(b) != want {
		t.Errorf("password file holds %q", b)
	}
}

func TestPullWrongPassword(t *testing.T) {
	t.Parallel()
	p := startPrivateServer(t)
	role := unique("xvpw_")
	p.createRole(t, role, "the-right-one", "")
	wrong := unique("wrong-password-")
	c := newConnector(t, sdk.PostgresConfig{Host: p.host, Port: p.port, Username: role, Databases: []string{"postgres"}},
		&sdk.SecretPayload{Password: wrong}, testEnv(t))
	rec, err := pull(t, c)
	t.Log(err)
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, fmt.Sprintf("password authentication failed for user %q", role))
	require.ErrorContains(t, err, "hint: check the password")
	require.NotContains(t, err.Error(), wrong)
	require.Nil(t, rec.Descriptor)
	require.Empty(t, rec.Objects)

	rep, err := c.Test(t.Context())
	require.NoError(t, err)
	require.False(t, rep.OK)
	require.Contains(t, rep.Checks[len(rep.Checks)-1].Detail, "password authentication failed")
}

// TestPullServerStoppedMidDump stops the server (immediate shutdown) while
// pg_dump streams a table larger than every buffer on the way.
func TestPullServerStoppedMidDump(t *testing.T) {
	t.Parallel()
	p := startPrivateServer(t)
	db := unique("xvstop_")
	p.createDB(t, db)
	p.mustRun(t, db, "CREATE TABLE big AS SELECT i, repeat(md5(i::text), 4) AS pad FROM generate_series(1, 200000) i")
	c := newConnector(t, sdk.PostgresConfig{Host: p.host, Port: p.port, Username: "postgres", Databases: []string{db}},
		&sdk.SecretPayload{Password: p.Password}, testEnv(t))
	c.onTool = func(tool string, _ *os.Process, out io.Writer) io.Writer {
		if tool != "pg_dump" {
			return out
		}
		return &firstWrite{w: out, fn: p.Stop}
	}
	rec, err := pull(t, c)
	t.Log(err)
	require.Error(t, err)
	require.ErrorContains(t, err, fmt.Sprintf("pg_dump of database %q", db))
	require.False(t, errors.Is(err, connector.ErrPermanent), "a server that went away may come back: %v", err)
	require.Nil(t, rec.Descriptor)
	require.Empty(t, rec.Objects)
}
