package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
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

// restoreEnv is a backed-up tree with an agent serving downloads.
type restoreEnv struct {
	*fixture
	agent    *agentProc
	snap     sdk.Snapshot
	rel      string // the tree's root as an entry name
	download string // the agent's download base URL
}

func newRestoreEnv(t *testing.T) *restoreEnv {
	t.Helper()
	return newRestoreEnvAfter(t, nil)
}

// newRestoreEnvAfter runs settle (if set) between making the tree and
// backing it up.
func newRestoreEnvAfter(t *testing.T, settle func()) *restoreEnv {
	t.Helper()
	srv := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "www")
	makeTree(t, root, 200, 3<<20)
	if settle != nil {
		settle()
	}
	h := startHub(t, "--no-agent")
	addr := freeAddr(t)
	ag := startAgent(t, h, h.enrollToken(t, 1), "--download-listen", addr)
	e := &restoreEnv{fixture: newFixture(t, h, srv, root), agent: ag, rel: "files/" + strings.TrimPrefix(root, "/"),
		download: "http://" + addr}
	job, code := e.backup(t, e.source)
	require.Equalf(t, 0, code, "backup: %+v", job)
	h.xvJSON(t, e.tenant, "", &e.snap, "snapshot", "show", job.SnapshotID)
	return e
}

// restore runs `xv snapshot restore SNAP --wait -o json ARGS…`.
func (e *restoreEnv) restore(t *testing.T, args ...string) (sdk.Restore, string, int) {
	t.Helper()
	all := append([]string{"-o", "json", "snapshot", "restore", e.snap.ID, "--wait", "--poll-interval", "200ms"}, args...)
	out, errOut, code := e.hub.xvCode(t, e.tenant, "", all...)
	var r sdk.Restore
	require.NoErrorf(t, jsonUnmarshal(out, &r), "restore output %q, stderr %q", out, errOut)
	return r, errOut, code
}

func TestRestoreEndToEnd(t *testing.T) {
	e := newRestoreEnv(t)
	want := describe(t, e.root)
	dir := t.TempDir()

	// zip, downloaded by xv, unpacked by the system's unzip.
	zipFile := filepath.Join(dir, "site.zip")
	r, errOut, code := e.restore(t, "--output", zipFile)
	require.Equalf(t, 0, code, "stderr: %s", errOut)
	require.Equal(t, sdk.RestoreReady, r.Status)
	require.True(t, strings.HasPrefix(r.DownloadURL, e.download+"/download/xvd_"), r.DownloadURL)
	fi, err := os.Stat(zipFile)
	require.NoError(t, err)
	require.Equal(t, r.SizeBytes, fi.Size())
	out := filepath.Join(dir, "unzip")
	b, err := exec.Command("unzip", "-q", zipFile, "-d", out).CombinedOutput()
	require.NoErrorf(t, err, "unzip: %s", b)
	require.Equal(t, want, describe(t, filepath.Join(out, e.rel)))

	// tar.zst, unpacked by zstd | tar.
	tzFile := filepath.Join(dir, "site.tar.zst")
	rt, errOut, code := e.restore(t, "--format", "tar.zst", "--output", tzFile)
	require.Equalf(t, 0, code, "stderr: %s", errOut)
	require.Equal(t, sdk.RestoreTarZst, rt.Format)
	out = filepath.Join(dir, "untar")
	require.NoError(t, os.Mkdir(out, 0o755))
	b, err = exec.Command("sh", "-c", `zstd -d -c "$1" | tar -x -p -C "$2"`, "sh", tzFile, out).CombinedOutput()
	require.NoErrorf(t, err, "zstd | tar: %s", b)
	require.Equal(t, want, describe(t, filepath.Join(out, e.rel)))

	// --path subset, unpacked by xv itself.
	sub := filepath.Join(dir, "subset")
	_, errOut, code = e.restore(t, "--path", "/"+e.rel+"/bin", "--extract-to", sub)
	require.Equalf(t, 0, code, "stderr: %s", errOut)
	require.Equal(t, describe(t, filepath.Join(e.root, "bin")), describe(t, filepath.Join(sub, e.rel, "bin")))
	entries, err := os.ReadDir(filepath.Join(sub, e.rel))
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the subset is restored")

	t.Run("range requests resume", func(t *testing.T) { e.checkRange(t, r, zipFile) })
	t.Run("tokens", func(t *testing.T) { e.checkTokens(t, r) })
	t.Run("download audit", func(t *testing.T) {
		var evs []sdk.AuditEvent
		e.hub.xvJSON(t, e.tenant, "", &evs, "audit", "list", "--action", "restore.download", "--object", r.ID)
		require.NotEmpty(t, evs)
	})
	t.Run("offline archive verify and extract with the hub stopped", func(t *testing.T) { e.checkOffline(t, want) })
}

func (e *restoreEnv) checkRange(t *testing.T, r sdk.Restore, zipFile string) {
	full, err := os.ReadFile(zipFile)
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, r.DownloadURL, nil)
	req.Header.Set("Range", "bytes=100-199")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusPartialContent, resp.StatusCode)
	require.Equal(t, full[100:200], body)
	require.Contains(t, resp.Header.Get("Content-Disposition"), "attachment; filename=restore-"+r.ID+".zip")

	// An interrupted download (FILE.partial) is resumed by xv.
	again := filepath.Join(t.TempDir(), "again.zip")
	require.NoError(t, os.WriteFile(again+".partial", full[:len(full)/3], 0o600))
	e.hub.xv(t, e.tenant, "", "restore", "download", r.ID, "--output", again)
	got, err := os.ReadFile(again)
	require.NoError(t, err)
	require.True(t, bytes.Equal(full, got), "resumed download differs")
}

func (e *restoreEnv) checkTokens(t *testing.T, r sdk.Restore) {
	token := r.DownloadURL[strings.LastIndex(r.DownloadURL, "/")+1:]
	require.Equal(t, http.StatusNotFound, httpStatus(t, e.download+"/download/xvd_"+strings.Repeat("A", 43)))
	require.Equal(t, http.StatusNotFound, httpStatus(t, e.download+"/download/../../etc/passwd"))

	// No raw token anywhere in the hub's data directory (database and WAL).
	require.NoError(t, filepath.Walk(e.hub.DataDir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NotContains(t, string(b), token, "raw download token in %s", p)
		require.NotContains(t, string(b), token[4:], "raw download token in %s", p)
		return nil
	}))

	// Another tenant sees nothing of this restore.
	var other sdk.Tenant
	e.hub.xvJSON(t, "", "", &other, "tenant", "create", "other-"+filepath.Base(t.TempDir()))
	out, _, code := e.hub.xvCode(t, other.ID, "", "-o", "json", "restore", "show", r.ID)
	require.Equal(t, 3, code)
	require.NotContains(t, out, token)
	var list []sdk.Restore
	e.hub.xvJSON(t, other.ID, "", &list, "restore", "list")
	require.Empty(t, list)

	// A short-lived link answers 410 Gone after its expiry.
	short, errOut, code := e.restore(t, "--expires-in", "1s")
	require.Equalf(t, 0, code, "stderr: %s", errOut)
	require.NotEmpty(t, short.DownloadURL)
	time.Sleep(1500 * time.Millisecond)
	require.Equal(t, http.StatusGone, httpStatus(t, short.DownloadURL))
	var shown sdk.Restore
	e.hub.xvJSON(t, e.tenant, "", &shown, "restore", "show", short.ID)
	require.Equal(t, sdk.RestoreExpired, shown.Status)
	require.Empty(t, shown.DownloadURL)

	// expires_in may not exceed the setting.
	_, errOut, code = e.hub.xvCode(t, e.tenant, "", "snapshot", "restore", e.snap.ID, "--expires-in", "3h")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "download_expiration_hours")
}

func (e *restoreEnv) checkOffline(t *testing.T, want map[string]entry) {
	keyFile := filepath.Join(t.TempDir(), "tenant.key")
	e.hub.xv(t, e.tenant, "", "tenant", "key", "export", e.tenant, "--output", keyFile)
	artifact := filepath.Join(e.snap.LocalPath, "backup.tar.zst.age")
	stopProcess(e.hub.cmd)
	e.hub.xv(t, "", "", "archive", "verify", artifact, "--sha256", e.snap.SHA256)
	e.hub.xv(t, "", "", "archive", "verify", artifact, "--identity", keyFile)
	_, errOut, code := e.hub.xvCode(t, "", "", "archive", "verify", artifact, "--sha256", strings.Repeat("0", 64))
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "sha256 mismatch")
	to := t.TempDir()
	e.hub.xv(t, "", "", "archive", "extract", artifact, "--identity", keyFile, "--to", to)
	require.Equal(t, want, describe(t, filepath.Join(to, e.rel)))
}

func TestRestoreFailuresLeaveNoLink(t *testing.T) {
	e := newRestoreEnv(t)
	artifact := filepath.Join(e.snap.LocalPath, "backup.tar.zst.age")
	orig, err := os.ReadFile(artifact)
	require.NoError(t, err)
	cases := []struct {
		name   string
		damage func() error
		want   string
	}{
		{"flipped byte", func() error {
			b := bytes.Clone(orig)
			b[len(b)/2] ^= 0x01
			return os.WriteFile(artifact, b, 0o600)
		}, "artifact check failed"},
		{"truncated", func() error { return os.WriteFile(artifact, orig[:len(orig)*2/3], 0o600) }, "artifact check failed"},
		{"deleted", func() error { return os.Remove(artifact) }, "missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.damage())
			r, errOut, code := e.restore(t)
			require.Equalf(t, 4, code, "stderr: %s", errOut)
			require.Equal(t, sdk.RestoreFailed, r.Status)
			require.Empty(t, r.DownloadURL)
			require.Contains(t, r.ErrorMessage, tc.want)
			_, err := os.Stat(filepath.Join(e.agent.Storage, "restores", r.ID))
			require.ErrorIs(t, err, os.ErrNotExist, "no restore file is left")
			var job sdk.Job
			e.hub.xvJSON(t, e.tenant, "", &job, "job", "show", r.JobID)
			require.Equal(t, 1, job.Attempt, "a damaged artifact is not retried")
		})
	}
	require.NoError(t, os.WriteFile(artifact, orig, 0o600))
	r, errOut, code := e.restore(t, "--format", "tar.zst")
	require.Equalf(t, 0, code, "the repaired artifact restores: %s", errOut)
	require.Equal(t, sdk.RestoreReady, r.Status)
}

func httpStatus(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
