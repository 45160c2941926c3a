package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/s3server"
	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
)

// TestS3ChainContinuesOnAnotherAgent: a chain in a bucket is not tied to
// the agent that began it. Agent A makes the full and is gone for good;
// agent B continues the chain with an incremental (it reads the parent's
// index from the bucket: the index is encrypted to every agent that can
// reach object storage), then verifies and restores the chain.
func TestS3ChainContinuesOnAnotherAgent(t *testing.T) {
	s3 := s3server.Start(t)
	srv := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "www")
	makeTree(t, root, 80, 4<<20)
	h := startHub(t, "--no-agent")
	token := h.enrollToken(t, 2)
	agentB := startAgent(t, h, token)
	waitAgents(t, h, 1)
	stopProcess(agentB.cmd) // enrolled (its key is known), but away for the first backup
	agentA := startAgent(t, h, token)
	waitAgents(t, h, 2)
	f := newFixture(t, h, srv, root)
	target := f.s3Target(t, s3, "bucket", s3.SecretKey)
	src := f.createSource(t, "web", srv.User, f.credID, root, "--storage", target.ID)

	full := f.backupSnapshot(t, src)
	require.Equal(t, sdk.SnapshotFull, full.Kind)
	stopProcess(agentA.cmd) // for good
	added := filepath.Join(root, "added.txt")
	require.NoError(t, os.WriteFile(added, []byte("written after the full\n"), 0o644))
	old := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	require.NoError(t, os.Chtimes(added, old, old))
	want := describe(t, root)
	agentB.start(t, "--download-listen", freeAddr(t))

	inc := f.backupSnapshot(t, src)
	require.Equalf(t, sdk.SnapshotIncremental, inc.Kind, "agent B continues A's chain: %+v", inc)
	require.Equal(t, full.ID, inc.ParentSnapshotID)
	require.NotEqual(t, full.AgentID, inc.AgentID)
	require.Equal(t, sdk.StorageBackendS3, inc.StorageBackend)

	rep, code := h.verifyWait(t, f.tenant, inc.ID)
	require.Equalf(t, 0, code, "verify the chain on agent B: %+v", rep)
	env := &restoreEnv{fixture: f, snap: inc, rel: "files/" + root[1:]}
	tz := filepath.Join(t.TempDir(), "site.tar.zst")
	r, errOut, code := env.restore(t, "--format", "tar.zst", "--output", tz)
	require.Equalf(t, 0, code, "restore: %s", errOut)
	require.Equal(t, sdk.RestoreReady, r.Status)
	out := t.TempDir()
	b, err := exec.Command("sh", "-c", `zstd -d -c "$1" | tar -x -p -C "$2"`, "sh", tz, out).CombinedOutput()
	require.NoErrorf(t, err, "zstd | tar: %s", b)
	require.Equal(t, want, describe(t, filepath.Join(out, env.rel)))
}

// waitAgents waits until n agents are enrolled.
func waitAgents(t *testing.T, h *hub, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var agents []sdk.Agent
		h.xvJSON(t, "", "", &agents, "agent", "list")
		if len(agents) >= n {
			return
		}
		require.Truef(t, time.Now().Before(deadline), "%d of %d agents enrolled", len(agents), n)
		time.Sleep(200 * time.Millisecond)
	}
}
