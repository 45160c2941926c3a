package agent

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func scrape(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestAgentMetrics(t *testing.T) {
	t.Parallel()
	a := &Agent{cfg: Config{StorageDir: t.TempDir(), MetricsListen: "127.0.0.1:0"},
		log: slog.New(slog.DiscardHandler), running: map[string]context.CancelFunc{}}
	addr, stop, err := a.startMetrics()
	require.NoError(t, err)
	defer stop()

	body := scrape(t, addr)
	require.Contains(t, body, "xvault_agent_running_jobs 0\n")
	require.Contains(t, body, "xvault_agent_pipeline_read_bytes_total 0\n")
	require.Contains(t, body, "xvault_agent_storage_free_bytes ")
	require.NotContains(t, body, "xvault_agent_storage_free_bytes 0\n")

	// A running job's bytes show while it runs and stay after it ended.
	l := &lease{}
	a.running["job_1"] = func() {}
	a.meter.start(l)
	l.bytesRead.Add(1000)
	l.bytesWritten.Add(400)
	body = scrape(t, addr)
	require.Contains(t, body, "xvault_agent_running_jobs 1\n")
	require.Contains(t, body, "xvault_agent_pipeline_read_bytes_total 1000\n")
	require.Contains(t, body, "xvault_agent_pipeline_written_bytes_total 400\n")

	l.bytesRead.Add(24)
	a.meter.end(l)
	delete(a.running, "job_1")
	a.meter.start(&lease{})
	body = scrape(t, addr)
	require.Contains(t, body, "xvault_agent_running_jobs 0\n")
	require.Contains(t, body, "xvault_agent_pipeline_read_bytes_total 1024\n")
	require.True(t, strings.Contains(body, "go_goroutines"))
}

func TestAgentMetricsOff(t *testing.T) {
	t.Parallel()
	a := &Agent{cfg: Config{}}
	addr, stop, err := a.startMetrics()
	require.NoError(t, err)
	stop()
	require.Empty(t, addr, "no --metrics-listen: nothing is served")

	a = &Agent{cfg: Config{MetricsListen: "256.0.0.1:1"}, log: slog.New(slog.DiscardHandler)}
	_, _, err = a.startMetrics()
	require.ErrorContains(t, err, "--metrics-listen")
}
