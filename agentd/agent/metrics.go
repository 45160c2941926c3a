package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// pipelineMeter counts the bytes jobs move: those of ended jobs, plus the
// live counters of running ones, so a scrape sees throughput while a long
// backup runs. The zero value is ready.
type pipelineMeter struct {
	mu            sync.Mutex
	live          map[*lease]struct{}
	read, written int64 // of ended jobs
}

func (m *pipelineMeter) start(l *lease) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live == nil {
		m.live = map[*lease]struct{}{}
	}
	m.live[l] = struct{}{}
}

func (m *pipelineMeter) end(l *lease) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.live, l)
	m.read += l.bytesRead.Load()
	m.written += l.bytesWritten.Load()
}

// totals are the bytes read and written so far.
func (m *pipelineMeter) totals() (read, written int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	read, written = m.read, m.written
	for l := range m.live {
		read += l.bytesRead.Load()
		written += l.bytesWritten.Load()
	}
	return read, written
}

// registry holds the agent's metrics: running jobs, pipeline bytes,
// storage free and total bytes, and the Go runtime's.
func (a *Agent) registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "xvault_agent_running_jobs",
			Help: "Jobs this agent is running."}, func() float64 {
			a.mu.Lock()
			defer a.mu.Unlock()
			return float64(len(a.running))
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "xvault_agent_pipeline_read_bytes_total",
			Help: "Bytes read from sources (backups) or artifacts (restores, verifies) by this agent's jobs."},
			func() float64 { r, _ := a.meter.totals(); return float64(r) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "xvault_agent_pipeline_written_bytes_total",
			Help: "Bytes written (artifacts, restore files, database loads) by this agent's jobs."},
			func() float64 { _, w := a.meter.totals(); return float64(w) }),
		&storageCollector{dir: a.cfg.StorageDir},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

var (
	storageFreeDesc = prometheus.NewDesc("xvault_agent_storage_free_bytes",
		"Bytes available to the agent on its storage directory's file system.", nil, nil)
	storageTotalDesc = prometheus.NewDesc("xvault_agent_storage_total_bytes",
		"Size of the agent's storage directory's file system.", nil, nil)
)

// storageCollector reads the storage file system's space at scrape time;
// when it cannot, the two series are missing from that scrape.
type storageCollector struct{ dir string }

func (c *storageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storageFreeDesc
	ch <- storageTotalDesc
}

func (c *storageCollector) Collect(ch chan<- prometheus.Metric) {
	free, total, err := storageSpace(c.dir)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(storageFreeDesc, prometheus.GaugeValue, float64(free))
	ch <- prometheus.MustNewConstMetric(storageTotalDesc, prometheus.GaugeValue, float64(total))
}

// startMetrics serves GET /metrics on cfg.MetricsListen ("" = none) until
// the returned stop is called.
func (a *Agent) startMetrics() (addr string, stop func(), err error) {
	if a.cfg.MetricsListen == "" {
		return "", func() {}, nil
	}
	ln, err := net.Listen("tcp", a.cfg.MetricsListen)
	if err != nil {
		return "", nil, fmt.Errorf("--metrics-listen %s: %w", a.cfg.MetricsListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.registry(), promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("metrics server", "error", err)
		}
	}()
	a.log.Info("serving metrics", "addr", ln.Addr().String())
	return ln.Addr().String(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
