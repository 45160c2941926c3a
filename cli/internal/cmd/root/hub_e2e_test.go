package root_test

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// TestAgainstRealHub builds hubd, runs `hubd --dev` (no agent) on a temp data
// dir and drives xv in-process against it: the quickstart plus the
// error paths whose wording comes from the real hub. cli/ may not import
// hubd/internal, so the hub runs as its own process, as an operator's would.
func TestAgainstRealHub(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts hubd; skipped with -short")
	}
	hubURL, admin := startHubd(t)
	env := func(extra ...string) map[string]string {
		e := map[string]string{"XV_HUB_URL": hubURL, "XV_TOKEN": admin}
		for i := 0; i+1 < len(extra); i += 2 {
			e[extra[i]] = extra[i+1]
		}
		return e
	}
	jsonOK := func(v any, stdin string, e map[string]string, args ...string) {
		t.Helper()
		r := xv(t, e, stdin, append([]string{"-o", "json"}, args...)...)
		require.Equal(t, 0, r.Code, "xv %v: %s", args, r.Stderr)
		require.NoError(t, json.Unmarshal([]byte(r.Stdout), v), "xv %v: %s", args, r.Stdout)
	}

	var st sdk.Status
	jsonOK(&st, "", env(), "status")
	require.Equal(t, sdk.TokenPlatformAdmin, st.Caller.Kind)

	var ten sdk.Tenant
	jsonOK(&ten, "", env(), "tenant", "create", "acme")
	require.NotEmpty(t, ten.ID)
	require.True(t, strings.HasPrefix(ten.PublicKey, "age1"), ten.PublicKey)

	// A platform admin must name the tenant on tenant-scoped commands.
	r := xv(t, env(), "", "credential", "list")
	require.NotEqual(t, 0, r.Code)
	require.Contains(t, r.Stderr, "xv: ")

	var cred sdk.Credential
	jsonOK(&cred, "hunter2\n", env("XV_TENANT", ten.ID), "credential", "create", "--name", "web1", "--password-stdin")
	require.Equal(t, sdk.CredentialPassword, cred.Kind)

	// Field problems come back in one line, all at once.
	r = xv(t, env(), "", "source", "create", "--tenant", ten.ID, "--type", "sftp", "--name", "bad", "--host", "h",
		"--port", "70000", "--user", "u", "--path", "relative", "--credential", cred.ID)
	require.Equal(t, 1, r.Code, r.Stderr)
	require.Equal(t, 1, strings.Count(strings.TrimSpace(r.Stderr), "\n")+1, r.Stderr)
	require.Contains(t, r.Stderr, "port")

	var src sdk.Source
	jsonOK(&src, "", env(), "source", "create", "--tenant", ten.ID, "--type", "sftp", "--name", "web1",
		"--host", "127.0.0.1", "--port", "2222", "--user", "backup", "--path", "/var/www", "--exclude", "*.log",
		"--credential", cred.ID)
	var cfg sdk.SSHConfig
	require.NoError(t, json.Unmarshal(src.Config, &cfg))
	require.Equal(t, sdk.SSHConfig{Host: "127.0.0.1", Port: 2222, Username: "backup", Paths: []string{"/var/www"},
		Exclude: []string{"*.log"}}, cfg)

	r = xv(t, env("XV_TENANT", ten.ID), "", "backup", "run", src.ID)
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Regexp(t, `Status:\s+queued`, r.Stdout)

	var jobs []sdk.Job
	jsonOK(&jobs, "", env("XV_TENANT", ten.ID), "job", "list", "--source", src.ID)
	require.Len(t, jobs, 1)
	require.Equal(t, sdk.JobBackup, jobs[0].Type)

	// A second trigger returns the active job.
	var again sdk.Job
	jsonOK(&again, "", env("XV_TENANT", ten.ID), "backup", "run", src.ID)
	require.Equal(t, jobs[0].ID, again.ID)

	var job sdk.Job
	jsonOK(&job, "", env("XV_TENANT", ten.ID), "job", "show", jobs[0].ID)
	require.Equal(t, src.ID, job.SourceID)

	// Not found is exit 3, from the real hub's answer.
	r = xv(t, env("XV_TENANT", ten.ID), "", "source", "show", "src_does_not_exist")
	require.Equal(t, 3, r.Code, r.Stderr)

	// A read-only token cannot write; its own tenant is implied.
	var tok sdk.CreatedToken
	jsonOK(&tok, "", env("XV_TENANT", ten.ID), "token", "create", "--role", "member", "--name", "viewer")
	require.NotEmpty(t, tok.Token)
	require.Equal(t, ten.ID, tok.TenantID)
	member := map[string]string{"XV_HUB_URL": hubURL, "XV_TOKEN": tok.Token}
	var srcs []sdk.Source
	jsonOK(&srcs, "", member, "source", "list")
	require.Len(t, srcs, 1)
	r = xv(t, member, "", "backup", "run", src.ID)
	require.Equal(t, 1, r.Code, r.Stderr)
	require.Contains(t, r.Stderr, "read-only")

	// A tenant token naming another tenant is refused by the hub.
	var other sdk.Tenant
	jsonOK(&other, "", env(), "tenant", "create", "globex")
	r = xv(t, member, "", "source", "list", "--tenant", other.ID)
	require.NotEqual(t, 0, r.Code)
	require.Contains(t, r.Stderr, "hint")

	var snaps []sdk.Snapshot
	jsonOK(&snaps, "", env("XV_TENANT", ten.ID), "snapshot", "list", "--source", src.ID)
	require.Empty(t, snaps)

	var events []sdk.AuditEvent
	jsonOK(&events, "", env("XV_TENANT", ten.ID), "audit", "list", "--object", src.ID)
	require.NotEmpty(t, events)

	// Update keeps the fields it is not told about.
	var upd sdk.Source
	jsonOK(&upd, "", env("XV_TENANT", ten.ID), "source", "update", src.ID, "--path", "/srv", "--disable")
	require.Equal(t, sdk.SourceDisabled, upd.Status)
	require.NoError(t, json.Unmarshal(upd.Config, &cfg))
	require.Equal(t, []string{"/srv"}, cfg.Paths)
	require.Equal(t, 2222, cfg.Port)

	// A credential in use cannot be deleted.
	r = xv(t, env("XV_TENANT", ten.ID), "", "credential", "delete", cred.ID)
	require.Equal(t, 1, r.Code, r.Stderr)
	require.Contains(t, r.Stderr, "xv: hint: point the sources")

	var canceled sdk.Job
	jsonOK(&canceled, "", env("XV_TENANT", ten.ID), "job", "cancel", job.ID)
	require.True(t, canceled.CancelRequested || canceled.Status == sdk.JobCanceled, "%+v", canceled)

	keyFile := filepath.Join(t.TempDir(), "key.txt")
	r = xv(t, env(), "", "tenant", "key", "export", ten.ID, "--output", keyFile)
	require.Equal(t, 0, r.Code, r.Stderr)
	key, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	require.Contains(t, string(key), "AGE-SECRET-KEY-1")

	var revoked sdk.APIToken
	jsonOK(&revoked, "", env("XV_TENANT", ten.ID), "token", "revoke", tok.ID)
	require.NotNil(t, revoked.RevokedAt)
	r = xv(t, member, "", "source", "list")
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, "hint")

	var enroll sdk.CreatedEnrollmentToken
	jsonOK(&enroll, "", env(), "agent", "enroll-token", "create", "--name", "host2", "--uses", "2", "--expires", "1h")
	require.NotEmpty(t, enroll.Token)
	require.Equal(t, 2, enroll.MaxUses)
	var enrolls []sdk.EnrollmentToken
	jsonOK(&enrolls, "", env(), "agent", "enroll-token", "list")
	require.Len(t, enrolls, 1)
	var agents []sdk.Agent
	jsonOK(&agents, "", env(), "agent", "list")
}

// startHubd builds hubd and runs it in dev mode; it returns the hub URL and
// the platform admin token.
func startHubd(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "hubd")
	build := exec.Command("go", "build", "-o", bin, "github.com/xvault/xvault/hubd")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "build hubd: %s", out)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	dataDir := filepath.Join(dir, "data")
	args := []string{"--dev", "--data-dir", dataDir, "--listen", addr}
	help, _ := exec.Command(bin, "--help").CombinedOutput()
	if bytes.Contains(help, []byte("--no-agent")) {
		args = append(args, "--no-agent") // jobs stay queued
	}
	cmd := exec.Command(bin, args...)
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XV_") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("hubd output:\n%s", logs.String())
		}
	})

	url := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		require.True(t, time.Now().Before(deadline), "hubd did not become ready")
		time.Sleep(100 * time.Millisecond)
	}
	tok, err := os.ReadFile(filepath.Join(dataDir, "admin-token"))
	require.NoError(t, err)
	return url, strings.TrimSpace(string(tok))
}
