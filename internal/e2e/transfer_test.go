package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// TestTransferModes: auto streams a remote tar on a normal account and uses
// SFTP on an SFTP-only one (ForceCommand internal-sftp); the mode is on the
// job and in the manifest; exec forced on the SFTP-only account fails
// clearly; every artifact opens with age | zstd | tar and holds the tree.
func TestTransferModes(t *testing.T) {
	normal := sshd.Start(t, sshd.Options{})
	me, err := user.Current()
	require.NoError(t, err)
	restricted := sshd.Start(t, sshd.Options{Config: []string{"Match User " + me.Username, "    ForceCommand internal-sftp"}})
	root := filepath.Join(t.TempDir(), "www")
	makeTree(t, root, 300, 3<<20)

	h := startHub(t, "--no-agent")
	startAgent(t, h, h.enrollToken(t, 1))
	f := newFixture(t, h, normal, root) // default transfer: auto
	keyFile := filepath.Join(t.TempDir(), "tenant.key")
	h.xv(t, f.tenant, "", "tenant", "key", "export", f.tenant, "--output", keyFile)

	check := func(source, wantMode, wantLevel string) {
		t.Helper()
		job, code := f.backup(t, source)
		require.Equalf(t, 0, code, "job: %+v", job)
		require.Equal(t, sdk.JobCompleted, job.Status, job.ErrorMessage)
		require.NotNil(t, job.Progress)
		require.Equal(t, wantMode, job.Progress.TransferMode)
		var snap sdk.Snapshot
		h.xvJSON(t, f.tenant, "", &snap, "snapshot", "show", job.SnapshotID)
		var m archive.Manifest
		b, err := os.ReadFile(filepath.Join(snap.LocalPath, archive.ManifestName))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &m))
		require.Equal(t, wantMode, m.TransferMode)
		require.Equal(t, wantLevel, m.Level)
		out := t.TempDir()
		pipe := exec.Command("sh", "-c", `age -d -i "$1" "$2" | zstd -d | tar -x -p -C "$3"`,
			"sh", keyFile, filepath.Join(snap.LocalPath, archive.ArtifactName), out)
		o, err := pipe.CombinedOutput()
		require.NoErrorf(t, err, "age | zstd | tar: %s", o)
		require.Equal(t, describe(t, root), describe(t, filepath.Join(out, "files", strings.TrimPrefix(root, "/"))))
	}
	check(f.source, "exec", "default")
	check(f.createSource(t, "web1-sftp", normal.User, f.credID, root, "--transfer", "sftp", "--compression", "none"), "sftp", "none")

	lockedKey := filepath.Join(t.TempDir(), "locked_key")
	require.NoError(t, os.WriteFile(lockedKey, restricted.ClientKey, 0o600))
	var cred sdk.Credential
	h.xvJSON(t, f.tenant, "", &cred, "credential", "create", "--name", "locked-key", "--private-key-file", lockedKey)
	sftpOnly := func(name string, extra ...string) string {
		var src sdk.Source
		args := append([]string{"source", "create", "--type", "ssh", "--name", name, "--host", restricted.Host,
			"--port", itoa(restricted.Port), "--user", restricted.User, "--path", root, "--credential", cred.ID}, extra...)
		h.xvJSON(t, f.tenant, "", &src, args...)
		return src.ID
	}
	check(sftpOnly("locked-auto", "--compression", "fastest"), "sftp", "fastest")

	job, code := f.backup(t, sftpOnly("locked-exec", "--transfer", "exec"))
	require.Equal(t, 4, code)
	require.Equal(t, sdk.JobFailed, job.Status)
	require.Contains(t, job.ErrorMessage, "transfer exec")
	require.Contains(t, job.ErrorMessage, "ForceCommand internal-sftp")
	require.Equal(t, 1, job.Attempt, "a permanent failure is not retried")
}
