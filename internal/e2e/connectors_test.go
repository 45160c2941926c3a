package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// tenant creates a tenant and returns its id.
func (h *hub) tenant(t *testing.T) string {
	t.Helper()
	var ten sdk.Tenant
	h.xvJSON(t, "", "", &ten, "tenant", "create", "t-"+filepath.Base(t.TempDir()))
	return ten.ID
}

// backupWait runs `xv backup run SRC --wait -o json`: the final job and exit code.
func (h *hub) backupWait(t *testing.T, tenant, source string) (sdk.Job, int) {
	t.Helper()
	out, errOut, code := h.xvCode(t, tenant, "", "-o", "json", "backup", "run", source, "--wait", "--poll-interval", "200ms")
	var job sdk.Job
	require.NoErrorf(t, json.Unmarshal([]byte(out), &job), "backup output %q, stderr %q", out, errOut)
	return job, code
}

// openSnapshot decrypts a snapshot's artifact with the age CLI and the
// exported tenant key, and extracts it with zstd and tar into a new
// directory, which it returns with the snapshot's descriptor.
func (h *hub) openSnapshot(t *testing.T, tenant, snapshotID string) (string, archive.Descriptor) {
	t.Helper()
	var snap sdk.Snapshot
	h.xvJSON(t, tenant, "", &snap, "snapshot", "show", snapshotID)
	keyFile := filepath.Join(t.TempDir(), "tenant.key")
	h.xv(t, tenant, "", "tenant", "key", "export", tenant, "--output", keyFile)
	out := t.TempDir()
	artifact := filepath.Join(snap.LocalPath, archive.ArtifactName)
	b, err := exec.Command("sh", "-c", `age -d -i "$1" "$2" | zstd -d | tar -x -p -C "$3"`, "sh", keyFile, artifact, out).CombinedOutput()
	require.NoErrorf(t, err, "age | zstd | tar: %s", b)
	// xvault.json is the first entry.
	list, err := exec.Command("sh", "-c", `age -d -i "$1" "$2" | zstd -d | tar -t | head -n 1`, "sh", keyFile, artifact).Output()
	require.NoError(t, err)
	require.Equal(t, archive.DescriptorName, strings.TrimSpace(string(list)))
	var d archive.Descriptor
	raw, err := os.ReadFile(filepath.Join(out, archive.DescriptorName))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &d))
	require.Equal(t, archive.LayoutVersion, d.LayoutVersion)
	return out, d
}

// sourceTest runs `xv source test ID -o json`: the report and exit code.
func (h *hub) sourceTest(t *testing.T, tenant, source string) (sdk.TestReport, int) {
	t.Helper()
	out, errOut, code := h.xvCode(t, tenant, "", "-o", "json", "source", "test", source, "--poll-interval", "200ms")
	var rep sdk.TestReport
	if out != "" {
		require.NoErrorf(t, json.Unmarshal([]byte(out), &rep), "source test output %q, stderr %q", out, errOut)
	}
	return rep, code
}

func (h *hub) createSourceJSON(t *testing.T, tenant, typ, name, cred string, cfg any) string {
	t.Helper()
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	args := []string{"source", "create", "--type", typ, "--name", name, "--config-json", string(b)}
	if cred != "" {
		args = append(args, "--credential", cred)
	}
	var src sdk.Source
	h.xvJSON(t, tenant, "", &src, args...)
	return src.ID
}

func TestLocalSource(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	require.NoError(t, err)
	allowed := filepath.Join(base, "allowed")
	site := filepath.Join(allowed, "site")
	makeTree(t, site, 50, 1<<20)
	require.NoError(t, os.WriteFile(filepath.Join(site, ".htaccess"), []byte("Deny from all\n"), 0o644))
	outside := filepath.Join(base, "outside")
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, os.Symlink(outside, filepath.Join(allowed, "escape")))

	h := startHub(t, "--no-agent")
	startAgent(t, h, h.enrollToken(t, 1), "--allow-local-root", allowed)
	tenant := h.tenant(t)

	src := h.createSourceJSON(t, tenant, "local", "site", "", sdk.LocalConfig{Paths: []string{site}})
	rep, code := h.sourceTest(t, tenant, src)
	require.Equal(t, 0, code, "test report: %+v", rep)
	require.True(t, rep.OK)
	job, code := h.backupWait(t, tenant, src)
	require.Equal(t, 0, code, job.ErrorMessage)
	dir, d := h.openSnapshot(t, tenant, job.SnapshotID)
	require.Equal(t, "local", d.SourceType)
	require.Equal(t, describe(t, site), describe(t, filepath.Join(dir, "files", strings.TrimPrefix(site, "/"))))

	for name, path := range map[string]string{"outside": outside, "escape": filepath.Join(allowed, "escape")} {
		bad := h.createSourceJSON(t, tenant, "local", name, "", sdk.LocalConfig{Paths: []string{path}})
		rep, code := h.sourceTest(t, tenant, bad)
		require.Equal(t, 4, code)
		require.False(t, rep.OK)
		job, code := h.backupWait(t, tenant, bad)
		require.Equal(t, 4, code)
		require.Equal(t, 1, job.Attempt, "a refused path is not retried")
		require.Contains(t, job.ErrorMessage, "outside the agent's allowed roots")
		var snaps []sdk.Snapshot
		h.xvJSON(t, tenant, "", &snaps, "snapshot", "list", "--source", bad)
		require.Empty(t, snaps)
	}
}

func TestEgressRefusedWithoutAllowFlags(t *testing.T) {
	h := startHub(t, "--no-agent")
	a := &agentProc{StateDir: t.TempDir(), Storage: t.TempDir(), hubURL: h.URL, enrollToken: h.enrollToken(t, 1), strictEgress: true}
	a.start(t)
	tenant := h.tenant(t)
	var cred sdk.Credential
	h.xvJSON(t, tenant, "pw\n", &cred, "credential", "create", "--name", "pw", "--password-stdin")
	for host, want := range map[string]string{
		"127.0.0.1":       "127.0.0.1 is a loopback address",
		"169.254.169.254": "169.254.169.254 is a link-local address",
		"10.1.2.3":        "10.1.2.3 is a private address",
	} {
		src := h.createSourceJSON(t, tenant, "sftp", "web-"+host, cred.ID,
			sdk.SSHConfig{Host: host, Port: 22, Username: "u", Paths: []string{"/var/www"}})
		job, code := h.backupWait(t, tenant, src)
		require.Equal(t, 4, code)
		require.Equal(t, 1, job.Attempt, "an egress refusal is permanent")
		require.Contains(t, job.ErrorMessage, "egress policy refused the address")
		require.Contains(t, job.ErrorMessage, want)
	}
}
