package metrics

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
)

var (
	jobsDesc = prometheus.NewDesc("xvault_hub_jobs",
		"Jobs by type and status, all tenants, counted at scrape time.", []string{"type", "status"}, nil)
	queueDepthDesc = prometheus.NewDesc("xvault_hub_queue_depth",
		"Queued jobs (waiting for an agent or for their retry backoff), all tenants.", nil, nil)
	queueAgeDesc = prometheus.NewDesc("xvault_hub_queue_oldest_age_seconds",
		"Age of the oldest queued job; 0 when the queue is empty.", nil, nil)
	snapshotsDesc = prometheus.NewDesc("xvault_hub_snapshots",
		"Snapshots by status, all tenants.", []string{"status"}, nil)
	storedBytesDesc = prometheus.NewDesc("xvault_hub_snapshot_stored_bytes",
		"Bytes of snapshot artifacts on the agents (encrypted size), all tenants.", nil, nil)
	agentsDesc = prometheus.NewDesc("xvault_hub_agents",
		"Agents by state (online, offline, draining) as the API shows them.", []string{"state"}, nil)
	scrapeErrorsDesc = prometheus.NewDesc("xvault_hub_metrics_scrape_error",
		"1 when the last scrape could not read the database; the other database series are then missing.", nil, nil)
)

// StoreCollector reads the platform totals from the database at scrape
// time, so every hub replica reports the same numbers.
type StoreCollector struct {
	DB  bun.IDB
	Log *slog.Logger
	// Now is the clock (tests replace it); default time.Now.
	Now func() time.Time
	// AgentOfflineAfter: an agent not seen for this long is offline (the
	// API's rule; default 90 s).
	AgentOfflineAfter time.Duration
	// Timeout bounds the scrape's queries (default 5 s).
	Timeout time.Duration
}

// Describe implements prometheus.Collector.
func (c *StoreCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{jobsDesc, queueDepthDesc, queueAgeDesc, snapshotsDesc,
		storedBytesDesc, agentsDesc, scrapeErrorsDesc} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *StoreCollector) Collect(ch chan<- prometheus.Metric) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	failed := 0.0
	for _, collect := range []func(context.Context, chan<- prometheus.Metric) error{
		c.collectJobs, c.collectQueue, c.collectSnapshots, c.collectAgents,
	} {
		if err := collect(ctx, ch); err != nil {
			failed = 1
			if c.Log != nil {
				c.Log.Warn("metrics: read database", "error", err)
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(scrapeErrorsDesc, prometheus.GaugeValue, failed)
}

func (c *StoreCollector) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *StoreCollector) collectJobs(ctx context.Context, ch chan<- prometheus.Metric) error {
	var rows []struct {
		Type   string `bun:"type"`
		Status string `bun:"status"`
		N      int64  `bun:"n"`
	}
	err := c.DB.NewSelect().Model((*store.Job)(nil)).ColumnExpr("type, status, COUNT(*) AS n").
		Group("type", "status").Scan(ctx, &rows)
	if err != nil {
		return err
	}
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(r.N), r.Type, r.Status)
	}
	return nil
}

func (c *StoreCollector) collectQueue(ctx context.Context, ch chan<- prometheus.Metric) error {
	n, err := c.DB.NewSelect().Model((*store.Job)(nil)).Where("status = ?", store.JobQueued).Count(ctx)
	if err != nil {
		return err
	}
	age := 0.0
	if n > 0 {
		var oldest store.Job
		err := c.DB.NewSelect().Model(&oldest).Column("id", "created_at").Where("status = ?", store.JobQueued).
			Order("created_at ASC").Limit(1).Scan(ctx)
		switch {
		case errors.Is(err, sql.ErrNoRows): // dequeued between the two queries
		case err != nil:
			return err
		default:
			age = max(0, c.now().Sub(oldest.CreatedAt).Seconds())
		}
	}
	ch <- prometheus.MustNewConstMetric(queueDepthDesc, prometheus.GaugeValue, float64(n))
	ch <- prometheus.MustNewConstMetric(queueAgeDesc, prometheus.GaugeValue, age)
	return nil
}

func (c *StoreCollector) collectSnapshots(ctx context.Context, ch chan<- prometheus.Metric) error {
	var rows []struct {
		Status string `bun:"status"`
		N      int64  `bun:"n"`
		Bytes  int64  `bun:"bytes"`
	}
	err := c.DB.NewSelect().Model((*store.Snapshot)(nil)).
		ColumnExpr("status, COUNT(*) AS n, COALESCE(SUM(size_bytes), 0) AS bytes").Group("status").Scan(ctx, &rows)
	if err != nil {
		return err
	}
	var stored int64
	for _, r := range rows {
		stored += r.Bytes
		ch <- prometheus.MustNewConstMetric(snapshotsDesc, prometheus.GaugeValue, float64(r.N), r.Status)
	}
	ch <- prometheus.MustNewConstMetric(storedBytesDesc, prometheus.GaugeValue, float64(stored))
	return nil
}

func (c *StoreCollector) collectAgents(ctx context.Context, ch chan<- prometheus.Metric) error {
	var agents []store.Agent
	if err := c.DB.NewSelect().Model(&agents).Column("id", "status", "last_seen_at").Scan(ctx); err != nil {
		return err
	}
	offlineAfter := c.AgentOfflineAfter
	if offlineAfter <= 0 {
		offlineAfter = 90 * time.Second
	}
	now := c.now()
	counts := map[string]int{"online": 0, "offline": 0, "draining": 0}
	for _, a := range agents {
		switch {
		case a.LastSeenAt == nil || now.Sub(*a.LastSeenAt) > offlineAfter:
			counts["offline"]++
		case a.Status == "draining":
			counts["draining"]++
		default:
			counts["online"]++
		}
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(agentsDesc, prometheus.GaugeValue, float64(n), state)
	}
	return nil
}
