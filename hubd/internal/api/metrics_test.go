package api

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/events"
	"github.com/xvault/xvault/sdk"
)

// metricValue is the value of the series name{labels} on the server's
// registry, 0 when it is absent.
func (e *testEnv) metricValue(name string, labels map[string]string) float64 {
	e.t.Helper()
	families, err := e.srv.cfg.Registry.Gather()
	require.NoError(e.t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue series
				}
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

func TestMetricsFollowJobs(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ag := e.enrollAgent("a1")
		e.call("POST", "/api/v1/agent/heartbeat", ag.Token, sdk.HeartbeatRequest{}, 200, nil)
		backup := map[string]string{"type": "backup"}
		completed := map[string]string{"type": "backup", "status": "completed"}
		ended0 := e.metricValue("xvault_hub_jobs_ended_total", completed)
		hist0 := e.metricValue("xvault_hub_job_duration_seconds", completed)
		read0 := e.metricValue("xvault_hub_job_bytes_read_total", backup)
		written0 := e.metricValue("xvault_hub_job_bytes_written_total", backup)

		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, nil)
		require.EqualValues(t, 1, e.metricValue("xvault_hub_queue_depth", nil))
		require.EqualValues(t, 1, e.metricValue("xvault_hub_jobs", map[string]string{"type": "backup", "status": "queued"}))
		require.EqualValues(t, 1, e.metricValue("xvault_hub_agents", map[string]string{"state": "online"}))
		require.EqualValues(t, 0, e.metricValue("xvault_hub_agents", map[string]string{"state": "offline"}))

		var cr sdk.ClaimResponse
		e.call("POST", "/api/v1/agent/jobs/claim", ag.Token, sdk.ClaimRequest{WaitSeconds: 1}, 200, &cr)
		require.NotNil(t, cr.Job)
		require.EqualValues(t, 0, e.metricValue("xvault_hub_queue_depth", nil))
		require.EqualValues(t, 0, e.metricValue("xvault_hub_queue_oldest_age_seconds", nil))
		require.EqualValues(t, 1, e.metricValue("xvault_hub_jobs", map[string]string{"type": "backup", "status": "running"}))

		done := sdk.CompleteRequest{LeaseEpoch: cr.Job.LeaseEpoch, Status: sdk.JobCompleted,
			Progress: &sdk.Progress{FilesDone: 2, BytesRead: 123456, BytesWritten: 65432},
			Snapshot: &sdk.SnapshotReport{SizeBytes: 65432, PlainBytes: 123456, FileCount: 2,
				SHA256: strings.Repeat("ab", 32), LocalPath: "tenants/x/y", StartedAt: time.Now().Add(-time.Minute),
				FinishedAt: time.Now()}}
		base := "/api/v1/agent/jobs/" + cr.Job.ID
		e.call("POST", base+"/complete", ag.Token, done, 200, nil)
		e.call("POST", base+"/complete", ag.Token, done, 200, nil) // a repeat is not counted twice

		require.EqualValues(t, 1, e.metricValue("xvault_hub_jobs_ended_total", completed)-ended0)
		require.EqualValues(t, 1, e.metricValue("xvault_hub_job_duration_seconds", completed)-hist0)
		require.EqualValues(t, 123456, e.metricValue("xvault_hub_job_bytes_read_total", backup)-read0)
		require.EqualValues(t, 65432, e.metricValue("xvault_hub_job_bytes_written_total", backup)-written0)
		require.EqualValues(t, 1, e.metricValue("xvault_hub_jobs", completed))
		require.EqualValues(t, 1, e.metricValue("xvault_hub_snapshots", map[string]string{"status": "completed"}))
		require.EqualValues(t, 65432, e.metricValue("xvault_hub_snapshot_stored_bytes", nil))
		require.EqualValues(t, 0, e.metricValue("xvault_hub_metrics_scrape_error", nil))

		// A queued job has an age; the scrape is what curl /metrics shows.
		e.srv.cfg.Now = func() time.Time { return time.Now().Add(-time.Hour) }
		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, nil)
		e.srv.cfg.Now = time.Now
		require.InDelta(t, 3600, e.metricValue("xvault_hub_queue_oldest_age_seconds", nil), 60)
		sub, err := e.srv.events.Subscribe(context.Background(), events.Filter{})
		require.NoError(t, err)
		require.EqualValues(t, 1, e.metricValue("xvault_hub_event_subscribers", nil))
		sub.Close()
		require.EqualValues(t, 0, e.metricValue("xvault_hub_event_subscribers", nil))
		code, body := e.do("GET", "/metrics", "", nil)
		require.Equal(t, 200, code)
		for _, name := range []string{"xvault_hub_jobs{", "xvault_hub_queue_depth 1", "xvault_hub_job_duration_seconds_bucket",
			"xvault_hub_lease_rescues_total", "xvault_hub_retention_deletions_total", "xvault_hub_event_subscribers",
			`xvault_hub_agents{state="online"} 1`} {
			require.Contains(t, string(body), name)
		}
	})
}
