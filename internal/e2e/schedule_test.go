package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
)

// A `* * * * *` schedule backs a source up within about a minute; with
// keep_last_n=2, after four runs two snapshots remain and the other two
// are gone from the agent's disk and from the hub, each deletion explained.
func TestScheduleAndRetention(t *testing.T) {
	srv := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "www")
	makeTree(t, root, 20, 1<<10)
	h := startHub(t, "--no-agent")
	startAgent(t, h, h.enrollToken(t, 1))
	f := newFixture(t, h, srv, root)

	var sch sdk.Schedule
	h.xvJSON(t, f.tenant, "", &sch, "schedule", "create", "--source", f.source, "--cron", "* * * * *", "--keep-last", "2")
	require.NotNil(t, sch.NextRunAt)
	require.Equal(t, &sdk.RetentionPolicy{KeepLastN: 2}, sch.RetentionPolicy)

	first := waitSnapshots(t, f, 75*time.Second, func(s []sdk.Snapshot) bool { return len(s) >= 1 })[0]
	h.xv(t, f.tenant, "", "schedule", "pause", sch.ID) // the rest of the runs are triggered by hand
	var shown sdk.Schedule
	h.xvJSON(t, f.tenant, "", &shown, "schedule", "show", sch.ID)
	require.False(t, shown.Enabled)
	require.NotNil(t, shown.LastRunAt)

	ids, paths := []string{first.ID}, map[string]string{first.ID: first.LocalPath}
	for len(ids) < 4 {
		job, code := f.backup(t, f.source)
		require.Equalf(t, 0, code, "job: %+v", job)
		if slices.Contains(ids, job.SnapshotID) {
			continue // the scheduled run that was still active
		}
		var snap sdk.Snapshot
		h.xvJSON(t, f.tenant, "", &snap, "snapshot", "show", job.SnapshotID)
		ids, paths[snap.ID] = append(ids, snap.ID), snap.LocalPath
		time.Sleep(10 * time.Millisecond)
	}
	// Retention runs after each backup: the two oldest go, the two newest stay.
	left := waitSnapshots(t, f, 30*time.Second, func(s []sdk.Snapshot) bool { return len(s) == 2 })
	require.ElementsMatch(t, ids[2:], []string{left[0].ID, left[1].ID})
	for _, gone := range ids[:2] {
		_, err := os.Stat(paths[gone])
		require.Truef(t, os.IsNotExist(err), "snapshot dir %s still on the agent's disk", paths[gone])
		_, _, code := h.xvCode(t, f.tenant, "", "snapshot", "show", gone)
		require.Equal(t, 3, code, "snapshot record %s still on the hub", gone)
	}
	for _, kept := range ids[2:] {
		require.DirExists(t, paths[kept])
	}

	var preview []sdk.RetentionDecision
	h.xvJSON(t, f.tenant, "", &preview, "retention", "preview", f.source)
	require.Len(t, preview, 2)
	require.Equal(t, []string{"last 1", "newest completed snapshot (never deleted)"}, preview[0].Reasons)
	out := h.xv(t, f.tenant, "", "audit", "list", "--action", "snapshot.delete")
	require.Contains(t, out, ids[0])

	checkRetentionCLI(t, f)
}

// checkRetentionCLI: simulate on a file of times, and bad flags.
func checkRetentionCLI(t *testing.T, f *fixture) {
	h := f.hub
	times := filepath.Join(t.TempDir(), "times.txt")
	require.NoError(t, os.WriteFile(times, []byte("2026-11-20T10:00:00Z\n# comment\n2026-11-19T10:00:00Z\n2026-11-12T10:00:00Z\n"), 0o600))
	var sim []sdk.RetentionDecision
	h.xvJSON(t, "", "", &sim, "retention", "simulate", "--keep-weekly", "2", "--timezone", "Europe/Berlin", "--timestamps", times)
	require.Equal(t, []bool{true, false, true}, []bool{sim[0].Keep, sim[1].Keep, sim[2].Keep})
	require.Equal(t, []string{"weekly 2026-W46"}, sim[2].Reasons)
	_, errOut, code := h.xvCode(t, f.tenant, "", "schedule", "create", "--source", f.source, "--cron", "61 * * * *")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "cron")
	_, errOut, code = h.xvCode(t, f.tenant, "", "retention", "set", f.source, "--keep-daily", "-1")
	require.Equal(t, 2, code, errOut)
}

// waitSnapshots polls the source's completed snapshots (newest first) until cond holds.
func waitSnapshots(t *testing.T, f *fixture, timeout time.Duration, cond func([]sdk.Snapshot) bool) []sdk.Snapshot {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var all, done []sdk.Snapshot
		f.hub.xvJSON(t, f.tenant, "", &all, "snapshot", "list", "--source", f.source)
		for _, s := range all {
			if s.Status == sdk.SnapshotCompleted {
				done = append(done, s)
			}
		}
		if cond(done) {
			return done
		}
		require.Truef(t, time.Now().Before(deadline), "snapshots not as expected in %s: %s", timeout, summary(all))
		time.Sleep(time.Second)
	}
}

func summary(s []sdk.Snapshot) string {
	var b strings.Builder
	for _, x := range s {
		b.WriteString(x.ID + "=" + string(x.Status) + " ")
	}
	return b.String()
}
