package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
)

// An agent killed with SIGKILL mid-backup: the hub re-queues its job once the
// lease lapses, a second agent completes it, and exactly one snapshot exists.
func TestAgentKilledMidBackupIsRescued(t *testing.T) {
	srv := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "big")
	makeTree(t, root, 10, 600<<20)

	const lease = 4 * time.Second
	h := startHub(t, "--no-agent", "--lease", lease.String())
	token := h.enrollToken(t, 2)
	first := startAgent(t, h, token)
	f := newFixture(t, h, srv, root)

	var job sdk.Job
	h.xvJSON(t, f.tenant, "", &job, "backup", "run", f.source)
	f.waitJob(t, job.ID, time.Minute, func(j sdk.Job) bool {
		return j.Status == sdk.JobRunning && j.Progress != nil && j.Progress.BytesWritten > 0
	})
	require.NoError(t, first.cmd.Process.Signal(syscall.SIGKILL))
	_ = first.cmd.Wait()
	killedAt := time.Now()

	second := startAgent(t, h, token)
	requeued := f.waitJob(t, job.ID, 2*lease+30*time.Second, func(j sdk.Job) bool { return j.Attempt >= 2 })
	require.Less(t, time.Since(killedAt), 2*lease+30*time.Second)
	t.Logf("re-claimed after %s (attempt %d, status %s)", time.Since(killedAt), requeued.Attempt, requeued.Status)

	done := f.waitJob(t, job.ID, 5*time.Minute, func(j sdk.Job) bool { return !j.Status.Active() })
	require.Equal(t, sdk.JobCompleted, done.Status, done.ErrorMessage)

	var snaps []sdk.Snapshot
	h.xvJSON(t, f.tenant, "", &snaps, "snapshot", "list", "--source", f.source)
	require.Len(t, snaps, 1, "exactly one snapshot")
	require.Equal(t, done.SnapshotID, snaps[0].ID)
	require.True(t, strings.HasPrefix(snaps[0].LocalPath, second.Storage), "the second agent holds it")
	_, err := os.Stat(filepath.Join(snaps[0].LocalPath, "backup.tar.zst.age"))
	require.NoError(t, err)
	require.Empty(t, partials(t, second.Storage))

	// The killed agent left a partial; on restart it removes it.
	require.NotEmpty(t, partials(t, first.Storage), "the killed agent was mid-write")
	first.start(t)
	require.Eventually(t, func() bool { return len(partials(t, first.Storage)) == 0 }, 30*time.Second, 100*time.Millisecond)
}

// SIGTERM during a job: the agent exits within its grace period and the job
// ends up completed or back in the queue, never stuck running.
func TestAgentSIGTERMDuringBackup(t *testing.T) {
	srv := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "big")
	makeTree(t, root, 10, 600<<20)

	const lease, grace = 4 * time.Second, 2 * time.Second
	h := startHub(t, "--no-agent", "--lease", lease.String())
	a := startAgent(t, h, h.enrollToken(t, 1), "--shutdown-grace", grace.String())
	f := newFixture(t, h, srv, root)

	var job sdk.Job
	h.xvJSON(t, f.tenant, "", &job, "backup", "run", f.source)
	f.waitJob(t, job.ID, time.Minute, func(j sdk.Job) bool {
		return j.Status == sdk.JobRunning && j.Progress != nil && j.Progress.BytesWritten > 0
	})
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGTERM))
	exited := make(chan error, 1)
	go func() { exited <- a.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(grace + 10*time.Second):
		t.Fatal("agentd did not exit within its grace period")
	}
	final := f.waitJob(t, job.ID, 2*lease+30*time.Second, func(j sdk.Job) bool {
		return j.Status == sdk.JobCompleted || j.Status == sdk.JobQueued
	})
	t.Logf("after SIGTERM the job is %s (attempt %d)", final.Status, final.Attempt)
	require.Empty(t, partials(t, a.Storage), "an aborted job leaves nothing behind")
}

// partials lists *.partial files under dir.
func partials(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".partial") {
			out = append(out, p)
		}
		return err
	}))
	return out
}
