// Package metrics owns the hub's operational Prometheus series: what the
// hub counts as things happen (job completions, lease rescues, retention
// deletions, webhook deliveries) and what it reads at scrape time from the
// event broker (subscribers) and from
// the database at scrape time (jobs by type and status, the queue, snapshots
// and stored bytes, agents by state). Series carry platform totals only: no
// tenant label, so a thousand tenants do not make a thousand series.
//
// The event counters are package-level so that the packages that see the
// events (queue, retention, api, webhook delivery) need only a one-line
// call; Register exports them on a registry.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	jobDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "xvault_hub_job_duration_seconds",
		Help:    "Duration of ended job attempts (start to completion report) by type and status.",
		Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800},
	}, []string{"type", "status"})
	jobsEnded = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xvault_hub_jobs_ended_total",
		Help: "Job attempts that ended, by type and status (failed attempts that are retried count as failed).",
	}, []string{"type", "status"})
	bytesRead = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xvault_hub_job_bytes_read_total",
		Help: "Bytes read by ended job attempts (from their final progress), by type.",
	}, []string{"type"})
	bytesWritten = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xvault_hub_job_bytes_written_total",
		Help: "Bytes written by ended job attempts (from their final progress), by type.",
	}, []string{"type"})
	leaseRescues = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xvault_hub_lease_rescues_total",
		Help: "Jobs whose lease expired, by what became of them (queued, failed, canceled).",
	}, []string{"outcome"})
	retentionDeletions = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "xvault_hub_retention_deletions_total",
		Help: "Snapshot deletions the retention policies requested (delete jobs enqueued).",
	})
	webhookDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "xvault_hub_webhook_deliveries_total",
		Help: "Webhook delivery attempts by outcome.",
	}, []string{"outcome"})
)

// collectors are the package-level series Register exports.
var collectors = []prometheus.Collector{jobDuration, jobsEnded, bytesRead, bytesWritten, leaseRescues,
	retentionDeletions, webhookDeliveries}

// Register exports the package's event series on reg. A collector may sit
// on several registries (tests run many hubs in one process); registering
// twice on the same one is reported.
func Register(reg prometheus.Registerer) error {
	// Zero series exist from the start, so rate() and alerts see them.
	for _, outcome := range []string{"queued", "failed", "canceled"} {
		leaseRescues.WithLabelValues(outcome)
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// JobEnded records one ended job attempt: its duration (zero when it never
// started is not observed) and the bytes its final progress reports.
func JobEnded(jobType, status string, took time.Duration, read, written int64) {
	jobsEnded.WithLabelValues(jobType, status).Inc()
	if took > 0 {
		jobDuration.WithLabelValues(jobType, status).Observe(took.Seconds())
	}
	if read > 0 {
		bytesRead.WithLabelValues(jobType).Add(float64(read))
	}
	if written > 0 {
		bytesWritten.WithLabelValues(jobType).Add(float64(written))
	}
}

// LeaseRescued records a job whose lease expired; outcome is its new
// status (queued for another attempt, failed, canceled).
func LeaseRescued(outcome string) { leaseRescues.WithLabelValues(outcome).Inc() }

// RetentionDeletion records one snapshot deletion requested by retention.
func RetentionDeletion() { retentionDeletions.Inc() }

// EventSubscribers is the gauge of open event streams on this process,
// read from count (the event broker's Subscribers) at scrape time.
func EventSubscribers(count func() int) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "xvault_hub_event_subscribers",
		Help: "Open event streams (GET /api/v1/events) on this hub process.",
	}, func() float64 { return float64(count()) })
}

// WebhookDelivery records one webhook delivery attempt by outcome, e.g.
// "success", "failed" (non-2xx or transport error, to be retried),
// "gave_up" (retries exhausted).
func WebhookDelivery(outcome string) { webhookDeliveries.WithLabelValues(outcome).Inc() }
