package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
)

// The README's quickstart: `hubd --dev` alone (embedded agent) backs up a
// server, and a restart with the same data dir keeps token, key and data.
func TestQuickstartDevHubWithEmbeddedAgent(t *testing.T) {
	srv := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "site")
	makeTree(t, root, 50, 1<<20)

	h := startHub(t)
	f := newFixture(t, h, srv, root)
	job, code := f.backup(t, f.source)
	require.Equalf(t, 0, code, "job: %+v", job)
	require.Equal(t, sdk.JobCompleted, job.Status)

	var snap sdk.Snapshot
	h.xvJSON(t, f.tenant, "", &snap, "snapshot", "show", job.SnapshotID)
	require.True(t, strings.HasPrefix(snap.LocalPath, filepath.Join(h.DataDir, "backups")), snap.LocalPath)
	_, err := os.Stat(filepath.Join(snap.LocalPath, "backup.tar.zst.age"))
	require.NoError(t, err)

	// Restart on the same data dir: same token, same data, the agent is not enrolled twice.
	stopProcess(h.cmd)
	h2 := restartHub(t, h)
	require.Equal(t, h.Token, h2.Token)
	var again sdk.Snapshot
	h2.xvJSON(t, f.tenant, "", &again, "snapshot", "show", job.SnapshotID)
	require.Equal(t, snap.SHA256, again.SHA256)
	var agents []sdk.Agent
	h2.xvJSON(t, "", "", &agents, "agent", "list")
	require.Len(t, agents, 1, "the embedded agent reuses its enrollment")

	f.hub = h2
	job2, code := f.backup(t, f.source)
	require.Equalf(t, 0, code, "second backup after restart: %+v", job2)
}
