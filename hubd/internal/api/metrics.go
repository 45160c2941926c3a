package api

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	hubmetrics "github.com/xvault/xvault/hubd/internal/metrics"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// metrics are the API's Prometheus series.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg *prometheus.Registry, s *Server) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xvault_hub_http_requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "xvault_hub_http_request_duration_seconds",
			Help:    "HTTP request durations by route pattern (claims include their long-poll wait).",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
	}
	// Registering twice on a shared registry is the caller's mistake; the
	// metrics then only go unexported, the API still works.
	_ = reg.Register(m.requests)
	_ = reg.Register(m.duration)
	_ = hubmetrics.Register(reg)
	_ = reg.Register(hubmetrics.EventSubscribers(s.events.Subscribers))
	_ = reg.Register(&hubmetrics.StoreCollector{DB: s.db, Log: s.log, Now: s.cfg.Now,
		AgentOfflineAfter: s.cfg.AgentOfflineAfter})
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// observeCompletion counts a job attempt that this completion call ended
// (a repeated, idempotent completion returns the stored job unchanged: its
// updated_at is older than this call's clock, and it is not counted again).
func observeCompletion(job *store.Job, now time.Time) {
	if !job.UpdatedAt.Equal(now) {
		return
	}
	var took time.Duration
	if job.StartedAt != nil {
		took = now.Sub(*job.StartedAt)
	}
	status := job.Status
	if status == store.JobQueued {
		status = store.JobFailed // a failed attempt, queued for the next one
	}
	var p sdk.Progress
	if len(job.Progress) > 0 {
		_ = json.Unmarshal(job.Progress, &p) // malformed progress counts no bytes
	}
	hubmetrics.JobEnded(job.Type, status, took, p.BytesRead, p.BytesWritten)
}
