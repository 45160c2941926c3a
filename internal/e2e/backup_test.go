package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
)

// agentProc is a running agentd process.
type agentProc struct {
	cmd                 *exec.Cmd
	StateDir, Storage   string
	hubURL, enrollToken string
	strictEgress        bool // without --allow-loopback
}

// enrollToken creates an enrollment token for n agents.
func (h *hub) enrollToken(t *testing.T, uses int) string {
	t.Helper()
	var tok sdk.CreatedEnrollmentToken
	h.xvJSON(t, "", "", &tok, "agent", "enroll-token", "create", "--uses", itoa(uses))
	require.NotEmpty(t, tok.Token)
	return tok.Token
}

func itoa(i int) string { return strconv.Itoa(i) }

func atoi(t *testing.T, s string) int {
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

// startAgent runs agentd with its own state and storage dirs, allowed to
// reach loopback addresses.
func startAgent(t *testing.T, h *hub, enrollToken string, extra ...string) *agentProc {
	t.Helper()
	a := &agentProc{StateDir: t.TempDir(), Storage: t.TempDir(), hubURL: h.URL, enrollToken: enrollToken}
	a.start(t, extra...)
	return a
}

func (a *agentProc) start(t *testing.T, extra ...string) {
	t.Helper()
	args := []string{"--hub", a.hubURL, "--enroll-token", a.enrollToken,
		"--state-dir", a.StateDir, "--storage-dir", a.Storage, "--log-level", "debug"}
	if !a.strictEgress {
		args = append(args, "--allow-loopback") // the test servers listen on 127.0.0.1
	}
	args = append(args, extra...)
	a.cmd = exec.Command(bin.agentd, args...)
	a.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with the test binary
	a.cmd.Stdout, a.cmd.Stderr = logWriter(t, "agentd"), logWriter(t, "agentd")
	require.NoError(t, a.cmd.Start())
	t.Cleanup(func() { stopProcess(a.cmd) })
}

// fixture is a tenant with an SFTP source pointing at a private sshd.
type fixture struct {
	hub     *hub
	sshd    *sshd.Server
	tenant  string
	source  string
	root    string
	keyFile string
	credID  string
}

func newFixture(t *testing.T, h *hub, srv *sshd.Server, root string) *fixture {
	t.Helper()
	f := &fixture{hub: h, sshd: srv, root: root}
	var ten sdk.Tenant
	h.xvJSON(t, "", "", &ten, "tenant", "create", "acme-"+filepath.Base(t.TempDir()))
	f.tenant = ten.ID
	f.keyFile = filepath.Join(t.TempDir(), "client_key")
	require.NoError(t, os.WriteFile(f.keyFile, srv.ClientKey, 0o600))
	var cred sdk.Credential
	h.xvJSON(t, f.tenant, "", &cred, "credential", "create", "--name", "web1-key", "--private-key-file", f.keyFile)
	f.credID = cred.ID
	f.source = f.createSource(t, "web1", srv.User, cred.ID, root)
	return f
}

func (f *fixture) createSource(t *testing.T, name, user, credID, path string, extra ...string) string {
	t.Helper()
	var src sdk.Source
	args := append([]string{"source", "create", "--type", "sftp", "--name", name, "--host", f.sshd.Host,
		"--port", itoa(f.sshd.Port), "--user", user, "--path", path, "--credential", credID}, extra...)
	f.hub.xvJSON(t, f.tenant, "", &src, args...)
	return src.ID
}

// backup runs `xv backup run SRC --wait -o json` and returns the final job and exit code.
func (f *fixture) backup(t *testing.T, source string) (sdk.Job, int) {
	t.Helper()
	out, errOut, code := f.hub.xvCode(t, f.tenant, "", "-o", "json", "backup", "run", source, "--wait", "--poll-interval", "200ms")
	var job sdk.Job
	require.NoErrorf(t, json.Unmarshal([]byte(out), &job), "backup output %q, stderr %q", out, errOut)
	return job, code
}

func TestBackupRestoresWithStandardTools(t *testing.T) {
	srv := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "www")
	makeTree(t, root, 3000, 110<<20)

	h := startHub(t, "--no-agent")
	startAgent(t, h, h.enrollToken(t, 1))
	f := newFixture(t, h, srv, root)

	job, code := f.backup(t, f.source)
	require.Equalf(t, 0, code, "job: %+v", job)
	require.Equal(t, sdk.JobCompleted, job.Status, job.ErrorMessage)
	require.NotEmpty(t, job.SnapshotID)

	var snap sdk.Snapshot
	h.xvJSON(t, f.tenant, "", &snap, "snapshot", "show", job.SnapshotID)
	require.Equal(t, sdk.StorageLocalFS, snap.StorageBackend)
	artifact := filepath.Join(snap.LocalPath, "backup.tar.zst.age")
	sum, err := exec.Command("sha256sum", artifact).Output()
	require.NoError(t, err)
	require.Equal(t, snap.SHA256, strings.Fields(string(sum))[0], "sha256sum of the artifact")
	require.EqualValues(t, 3000+5, snap.FileCount)

	// The host key was recorded on first use and is visible on the source.
	var src sdk.Source
	h.xvJSON(t, f.tenant, "", &src, "source", "show", f.source)
	require.Equal(t, srv.HostKeyFingerprint, src.HostKeyFingerprint)

	keyFile := filepath.Join(t.TempDir(), "tenant.key")
	h.xv(t, f.tenant, "", "tenant", "key", "export", f.tenant, "--output", keyFile)
	out := t.TempDir()
	pipe := exec.Command("sh", "-c", `age -d -i "$1" "$2" | zstd -d | tar -x -p -C "$3"`, "sh", keyFile, artifact, out)
	b, err := pipe.CombinedOutput()
	require.NoErrorf(t, err, "age | zstd | tar: %s", b)
	require.Equal(t, describe(t, root), describe(t, filepath.Join(out, "files", strings.TrimPrefix(root, "/"))))
}

func TestBackupFailuresAreClear(t *testing.T) {
	srv := sshd.Start(t, sshd.Options{Password: true})
	h := startHub(t, "--no-agent")
	startAgent(t, h, h.enrollToken(t, 1))
	f := newFixture(t, h, srv, "/etc")

	t.Run("wrong password fails at once", func(t *testing.T) {
		var cred sdk.Credential
		h.xvJSON(t, f.tenant, "not-the-password\n", &cred, "credential", "create", "--name", "bad-pw", "--password-stdin")
		src := f.createSource(t, "bad-pw", srv.User, cred.ID, "/etc")
		job, code := f.backup(t, src)
		require.Equal(t, 4, code)
		require.Equal(t, sdk.JobFailed, job.Status)
		require.Equal(t, 1, job.Attempt, "authentication failures are not retried")
		require.Contains(t, strings.ToLower(job.ErrorMessage), "authentication failed")
	})
	t.Run("right password works", func(t *testing.T) {
		var cred sdk.Credential
		h.xvJSON(t, f.tenant, srv.Password+"\n", &cred, "credential", "create", "--name", "good-pw", "--password-stdin")
		src := f.createSource(t, "good-pw", srv.User, cred.ID, "/etc/hostname")
		job, code := f.backup(t, src)
		require.Equalf(t, 0, code, "job: %+v", job)
		require.Equal(t, sdk.JobCompleted, job.Status)
	})
	t.Run("unreachable host is a connection error", func(t *testing.T) {
		var src sdk.Source
		h.xvJSON(t, f.tenant, "", &src, "source", "create", "--type", "sftp", "--name", "gone", "--host", "127.0.0.1",
			"--port", itoa(closedPort(t)), "--user", srv.User, "--path", "/etc", "--credential", f.credID)
		job, code := f.backup(t, src.ID)
		require.Equal(t, 4, code)
		require.Equal(t, sdk.JobFailed, job.Status)
		require.Contains(t, job.ErrorMessage, "connect")
	})
	t.Run("changed host key fails without retries", func(t *testing.T) {
		var cred sdk.Credential // the password user cannot read the harness's authorized_keys
		h.xvJSON(t, f.tenant, srv.Password+"\n", &cred, "credential", "create", "--name", "tofu-pw", "--password-stdin")
		src := f.createSource(t, "tofu", srv.User, cred.ID, "/etc/hostname")
		job, code := f.backup(t, src)
		require.Equalf(t, 0, code, "first backup records the host key: %+v", job)
		srv.RestartWithNewHostKey(t)
		job, code = f.backup(t, src)
		require.Equal(t, 4, code)
		require.Equal(t, sdk.JobFailed, job.Status)
		require.Equal(t, 1, job.Attempt, "a changed host key is not retried")
		require.Regexp(t, `host key .*changed`, job.ErrorMessage)
	})
}

func closedPort(t *testing.T) int {
	addr := freeAddr(t)
	return atoi(t, addr[strings.LastIndex(addr, ":")+1:])
}

// waitJob polls a job until cond holds.
func (f *fixture) waitJob(t *testing.T, id string, timeout time.Duration, cond func(sdk.Job) bool) sdk.Job {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var job sdk.Job
		f.hub.xvJSON(t, f.tenant, "", &job, "job", "show", id)
		if cond(job) {
			return job
		}
		require.Truef(t, time.Now().Before(deadline), "job %s: condition not met in %s; last: %+v", id, timeout, job)
		time.Sleep(200 * time.Millisecond)
	}
}
