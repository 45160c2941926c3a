package e2e

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// metric reads one sample of the hub's /metrics ("" when absent).
func metric(t *testing.T, h *hub, series string) float64 {
	t.Helper()
	resp, err := http.Get(h.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			require.NoError(t, err)
			return f
		}
	}
	return 0
}

// TestOperatorAlerts is the 3 a.m. loop: xv status --check names the
// sources that need attention and exits 1, a failing backup makes a signed
// webhook arrive at the example receiver (which verifies the signature),
// and /metrics counts the failure.
func TestOperatorAlerts(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "site"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "site", "index.html"), []byte("hi"), 0o644))
	h := startHub(t, "--no-agent")
	startAgent(t, h, h.enrollToken(t, 1), "--allow-local-root", root)
	tenant := h.tenant(t)
	var site, broken sdk.Source
	h.xvJSON(t, tenant, "", &site, "source", "create", "--type", "local", "--name", "site", "--path", filepath.Join(root, "site"))
	h.xvJSON(t, tenant, "", &broken, "source", "create", "--type", "local", "--name", "broken", "--path", "/etc")

	check := func() (sdk.Status, int) {
		out, errOut, code := h.xvCode(t, tenant, "", "-o", "json", "status", "--check")
		var st sdk.Status
		require.NoErrorf(t, jsonUnmarshal(out, &st), "status output %q, stderr %q", out, errOut)
		return st, code
	}
	st, code := check()
	require.Equal(t, 1, code, "never backed up sources are unhealthy")
	var names []string
	for _, s := range st.Health.UnhealthySources {
		names = append(names, s.SourceName)
		require.Equal(t, sdk.HealthNeverBackedUp, sdk.ProblemCode(s.Problems[0]))
	}
	require.ElementsMatch(t, []string{"site", "broken"}, names)
	table, _, code := h.xvCode(t, tenant, "", "status", "--check")
	require.Equal(t, 1, code)
	require.Contains(t, table, "never_backed_up")

	// A webhook for failed jobs, received by the example receiver.
	var wh sdk.CreatedWebhook
	addr := freeAddr(t)
	h.xvJSON(t, tenant, "", &wh, "webhook", "create", "--url", "http://"+addr+"/hook", "--event", sdk.EventJobFailed)
	require.True(t, strings.HasPrefix(wh.Secret, "whsec_"))
	recv := exec.Command(bin.receiver, "--listen", addr)
	recv.Env = append(os.Environ(), "XV_WEBHOOK_SECRET="+wh.Secret) // not on argv
	recv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := recv.StdoutPipe()
	require.NoError(t, err)
	recv.Stderr = logWriter(t, "receiver")
	require.NoError(t, recv.Start())
	t.Cleanup(func() { stopProcess(recv) })
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
	}()

	failedBefore := metric(t, h, `xvault_hub_jobs_ended_total{status="failed",type="backup"}`)
	job, code := h.backupWait(t, tenant, broken.ID)
	require.Equal(t, 4, code, job.ErrorMessage)
	select {
	case line := <-lines:
		require.Contains(t, line, sdk.EventJobFailed)
		require.Contains(t, line, job.ID, "the delivery carries the failed job")
	case <-time.After(30 * time.Second):
		t.Fatal("no signed webhook reached the receiver within 30s")
	}
	require.Equal(t, failedBefore+1, metric(t, h, `xvault_hub_jobs_ended_total{status="failed",type="backup"}`))
	var deliveries []sdk.WebhookDelivery
	h.xvJSON(t, tenant, "", &deliveries, "webhook", "deliveries", wh.ID)
	require.Len(t, deliveries, 1)
	require.Equal(t, 204, deliveries[0].StatusCode)

	// Once the good source is backed up, only the broken one is named.
	job, code = h.backupWait(t, tenant, site.ID)
	require.Equal(t, 0, code, job.ErrorMessage)
	st, code = check()
	require.Equal(t, 1, code)
	require.Len(t, st.Health.UnhealthySources, 1)
	require.Equal(t, "broken", st.Health.UnhealthySources[0].SourceName)
}
