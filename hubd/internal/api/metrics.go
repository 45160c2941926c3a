package api

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/xvault/xvault/hubd/internal/store"
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
	_ = reg.Register(&jobsCollector{s: s})
	_ = reg.Register(collectors.NewGoCollector())
	_ = reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route, method).Observe(d.Seconds())
}

// jobsCollector reports jobs by status, counted at scrape time.
type jobsCollector struct{ s *Server }

var jobsDesc = prometheus.NewDesc("xvault_hub_jobs", "Jobs by status, all tenants.", []string{"status"}, nil)

func (j *jobsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsDesc }

func (j *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := store.CountJobsByStatus(ctx, j.s.db, "")
	if err != nil {
		j.s.log.Warn("metrics: count jobs", "error", err)
		return
	}
	for status, n := range counts {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), status)
	}
}
