package e2e

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
)

// tmuxSession runs a command in a detached tmux session of a fixed size.
type tmuxSession struct {
	t    *testing.T
	name string
}

func startTmux(t *testing.T, width, height int, env []string, argv ...string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv(sshd.EnvRequire) == "1" {
			t.Fatal("tmux is not installed")
		}
		t.Skip("tmux is not installed")
	}
	s := &tmuxSession{t: t, name: "xv-e2e-" + randHex(4)}
	// The session's shell starts from a clean environment plus env, so the
	// program sees exactly the settings of the test.
	args := []string{"new-session", "-d", "-s", s.name, "-x", itoa(width), "-y", itoa(height), "--", "env", "-i",
		"TERM=xterm-256color", "PATH=" + os.Getenv("PATH")}
	args = append(append(args, env...), argv...)
	out, err := exec.Command("tmux", args...).CombinedOutput()
	require.NoErrorf(t, err, "tmux new-session: %s", out)
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-session", "-t", s.name).Run() })
	return s
}

// screen is the pane's text now.
func (s *tmuxSession) screen() string {
	out, err := exec.Command("tmux", "capture-pane", "-p", "-t", s.name).Output()
	if err != nil {
		return "(pane gone: " + err.Error() + ")"
	}
	return string(out)
}

// waitFor waits until the screen satisfies cond, failing with the last screen.
func (s *tmuxSession) waitFor(what string, timeout time.Duration, cond func(string) bool) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		scr := s.screen()
		if cond(scr) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("monitor never showed %s within %s; screen:\n%s", what, timeout, scr)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (s *tmuxSession) keys(keys ...string) {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"send-keys", "-t", s.name}, keys...)...).CombinedOutput()
	require.NoErrorf(s.t, err, "tmux send-keys: %s", out)
}

// rowOf is the line of the screen holding the job's short id.
func rowOf(screen, jobID string) string {
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, jobID[:8]) {
			return line
		}
	}
	return ""
}

// TestMonitorInTmux drives `xv monitor` in a real terminal: a backup started
// from another "terminal" appears and finishes live, and `c` cancels a
// running job after a confirmation that defaults to No.
func TestMonitorInTmux(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "site"), 0o755))
	for i := range 20 {
		require.NoError(t, os.WriteFile(filepath.Join(root, "site", "f"+itoa(i)), []byte(strings.Repeat("x", 4096*i)), 0o644))
	}
	// A PostgreSQL table held under an exclusive lock: its backup blocks, running, until canceled.
	db, role := "xv_mon_"+randHex(4), "xv_mr_"+randHex(4)
	psqlRoot(t, "postgres", "CREATE ROLE "+role+" LOGIN PASSWORD 'pw'; CREATE DATABASE "+db+" OWNER "+role)
	psqlRoot(t, db, "SET ROLE "+role+"; CREATE TABLE t (id int); INSERT INTO t VALUES (1);")
	locker := exec.Command("psql", "-X", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", db)
	stdin, err := locker.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, locker.Start())
	_, err = io.WriteString(stdin, "BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE;\n")
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = locker.Wait()
		psqlRoot(t, "postgres", "DROP DATABASE IF EXISTS "+db+" WITH (FORCE); DROP ROLE IF EXISTS "+role)
	})

	h := startHub(t, "--no-agent")
	startAgent(t, h, h.enrollToken(t, 1), "--allow-local-root", root)
	tenant := h.tenant(t)
	var site, slow sdk.Source
	h.xvJSON(t, tenant, "", &site, "source", "create", "--type", "local", "--name", "site", "--path", filepath.Join(root, "site"))
	var cred sdk.Credential
	h.xvJSON(t, tenant, "pw\n", &cred, "credential", "create", "--name", "pg", "--password-stdin")
	h.xvJSON(t, tenant, "", &slow, "source", "create", "--type", "postgres", "--name", "slowdb",
		"--host", "127.0.0.1", "--user", role, "--database", db, "--credential", cred.ID)

	mon := startTmux(t, 120, 40, []string{"XV_HUB_URL=" + h.URL, "XV_TOKEN=" + h.Token, "XV_TENANT=" + tenant,
		"HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir()}, bin.xv, "monitor")
	mon.waitFor("the live link", 20*time.Second, func(s string) bool { return strings.Contains(s, "● live") })

	// A backup started elsewhere shows up and finishes, without a key pressed.
	var job sdk.Job
	h.xvJSON(t, tenant, "", &job, "backup", "run", site.ID)
	mon.waitFor("the backup completing", 30*time.Second, func(s string) bool {
		row := rowOf(s, job.ID)
		return strings.Contains(row, "site") && strings.Contains(row, "completed")
	})

	// A running backup is canceled with c, after the confirmation names it.
	var stuck sdk.Job
	h.xvJSON(t, tenant, "", &stuck, "backup", "run", slow.ID)
	mon.waitFor("the blocked backup running", 30*time.Second, func(s string) bool {
		return strings.Contains(rowOf(s, stuck.ID), "running")
	})
	mon.keys("g") // the newest job, at the top
	mon.keys("c")
	mon.waitFor("the confirmation", 10*time.Second, func(s string) bool {
		return strings.Contains(s, "Cancel backup job "+stuck.ID) && strings.Contains(s, "[y/N]")
	})
	mon.keys("n") // No is the default and leaves the job alone
	time.Sleep(500 * time.Millisecond)
	var got sdk.Job
	h.xvJSON(t, tenant, "", &got, "job", "show", stuck.ID)
	require.Equal(t, sdk.JobRunning, got.Status)
	mon.keys("c")
	mon.waitFor("the confirmation again", 10*time.Second, func(s string) bool { return strings.Contains(s, "[y/N]") })
	mon.keys("y")
	mon.waitFor("the job canceled", 30*time.Second, func(s string) bool {
		return strings.Contains(rowOf(s, stuck.ID), "canceled")
	})
	h.xvJSON(t, tenant, "", &got, "job", "show", stuck.ID)
	require.Equal(t, sdk.JobCanceled, got.Status)
	mon.keys("q")
}
