// Package e2e drives the real binaries — hubd, agentd and xv — against a
// real OpenSSH server, the way an operator would.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// bin holds the binaries built once for the whole package.
var bin struct{ hubd, agentd, xv, receiver string }

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "xv-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for name, out := range map[string]*string{"hubd": &bin.hubd, "agentd": &bin.agentd, "xv": &bin.xv,
		"webhook-receiver": &bin.receiver} {
		*out = filepath.Join(dir, name)
		pkg := "github.com/xvault/xvault/" + name
		switch name {
		case "xv":
			pkg = "github.com/xvault/xvault/cli/xv"
		case "webhook-receiver":
			pkg = "github.com/xvault/xvault/examples/webhook-receiver"
		}
		cmd := exec.Command("go", "build", "-o", *out, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", name, err, b)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hub is a running hubd --dev process.
type hub struct {
	URL, Token, DataDir string
	cmd                 *exec.Cmd
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// startHub runs `hubd --dev` on a temp data dir; extra args are appended.
func startHub(t *testing.T, extra ...string) *hub {
	t.Helper()
	return runHub(t, t.TempDir(), freeAddr(t), extra...)
}

// restartHub starts a new hubd --dev on the data dir and address of a stopped one.
func restartHub(t *testing.T, old *hub, extra ...string) *hub {
	t.Helper()
	return runHub(t, old.DataDir, strings.TrimPrefix(old.URL, "http://"), extra...)
}

func runHub(t *testing.T, dataDir, addr string, extra ...string) *hub {
	t.Helper()
	h := &hub{DataDir: dataDir}
	args := append([]string{"--dev", "--data-dir", h.DataDir, "--listen", addr}, extra...)
	h.cmd = exec.Command(bin.hubd, args...)
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // dies with the test binary
	h.cmd.Stdout, h.cmd.Stderr = logWriter(t, "hubd"), logWriter(t, "hubd")
	require.NoError(t, h.cmd.Start())
	t.Cleanup(func() { stopProcess(h.cmd) })
	h.URL = "http://" + addr
	waitHTTP(t, h.URL+"/readyz")
	tok, err := os.ReadFile(filepath.Join(h.DataDir, "admin-token"))
	require.NoError(t, err)
	h.Token = strings.TrimSpace(string(tok))
	return h
}

func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not become ready", url)
}

func stopProcess(cmd *exec.Cmd) {
	if cmd.Process == nil || cmd.ProcessState != nil {
		return
	}
	_ = cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// xv runs the CLI against the hub as its admin, for tenant (may be ""),
// returning stdout; it fails the test on a non-zero exit.
func (h *hub) xv(t *testing.T, tenant, stdin string, args ...string) string {
	t.Helper()
	out, errOut, code := h.xvCode(t, tenant, stdin, args...)
	require.Equalf(t, 0, code, "xv %s: %s", strings.Join(args, " "), errOut)
	return out
}

func (h *hub) xvCode(t *testing.T, tenant, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin.xv, args...)
	cmd.Env = append(os.Environ(), "XV_HUB_URL="+h.URL, "XV_TOKEN="+h.Token, "XV_TENANT="+tenant,
		"XDG_CONFIG_HOME="+t.TempDir(), "HOME="+t.TempDir())
	cmd.Stdin = strings.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if err != nil {
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "run xv")
		return o.String(), e.String(), ee.ExitCode()
	}
	return o.String(), e.String(), 0
}

// xvJSON runs xv with -o json and decodes stdout into v.
func (h *hub) xvJSON(t *testing.T, tenant, stdin string, v any, args ...string) {
	t.Helper()
	out := h.xv(t, tenant, stdin, append([]string{"-o", "json"}, args...)...)
	require.NoErrorf(t, json.Unmarshal([]byte(out), v), "xv %v output: %s", args, out)
}

// logWriter collects a child's output in a file and, if the test failed,
// prints its last lines when the test ends.
func logWriter(t *testing.T, prefix string) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), prefix+"-*.log")
	require.NoError(t, err)
	t.Cleanup(func() {
		defer f.Close()
		if !t.Failed() {
			return
		}
		b, _ := os.ReadFile(f.Name())
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 80 {
			lines = lines[len(lines)-80:]
		}
		t.Logf("last lines of %s output:\n%s", prefix, strings.Join(lines, "\n"))
	})
	return f
}
