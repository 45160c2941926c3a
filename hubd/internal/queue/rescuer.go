package queue

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/metrics"
	"github.com/xvault/xvault/hubd/internal/store"
)

// Waker is what the rescuer needs from a Notifier.
type Waker interface {
	Notify(ctx context.Context)
}

// Rescuer re-queues (or fails) running jobs whose lease expired, every
// Interval, un-targets queued backups whose chain agent is unseen past the
// chain grace, and wakes claimers when it re-queued or freed something. Set the fields,
// then Start/Stop; Now and Backoff may be replaced by tests.
type Rescuer struct {
	DB       *store.DB
	Waker    Waker                           // may be nil
	Log      *slog.Logger                    // default: discard
	Now      func() time.Time                // default time.Now
	Backoff  func(attempt int) time.Duration // default Backoff
	Interval time.Duration                   // default 5 s
	Batch    int                             // jobs per sweep, default 100
	// ChainGrace: queued backups targeted at an agent unseen for longer
	// are un-targeted (0 = store.DefaultChainGrace).
	ChainGrace time.Duration

	loop Loop
}

// NewRescuer returns a rescuer with the defaults.
func NewRescuer(db *store.DB, waker Waker, log *slog.Logger) *Rescuer {
	return &Rescuer{DB: db, Waker: waker, Log: log}
}

// Start runs sweeps in the background until ctx ends or Stop.
func (r *Rescuer) Start(ctx context.Context) {
	r.loop.Name, r.loop.Interval, r.loop.Log = "rescuer", r.Interval, r.Log
	r.loop.Tick = func(ctx context.Context) error { _, err := r.RunOnce(ctx); return err }
	r.loop.Start(ctx)
}

// Stop ends the background sweeps and waits for a running one.
func (r *Rescuer) Stop() { r.loop.Stop() }

// RunOnce sweeps once (until a batch comes back short) and returns the jobs
// it re-queued, failed or canceled.
func (r *Rescuer) RunOnce(ctx context.Context) ([]store.Job, error) {
	now, backoff, batch := time.Now, r.Backoff, r.Batch
	if r.Now != nil {
		now = r.Now
	}
	if backoff == nil {
		backoff = Backoff
	}
	if batch <= 0 {
		batch = 100
	}
	var all []store.Job
	for {
		jobs, err := store.RescueExpired(ctx, r.DB, store.RescueParams{Now: now(), Backoff: backoff, Limit: batch})
		if err != nil {
			return all, fmt.Errorf("rescue expired leases: %w", err)
		}
		all = append(all, jobs...)
		if len(jobs) < batch {
			break
		}
	}
	untargeted, err := r.untarget(ctx, now())
	r.report(ctx, all)
	if err != nil {
		return all, err
	}
	return append(all, untargeted...), nil
}

// untarget frees queued backups whose chain agent stayed away past the
// grace: any agent may claim them now (and makes a full).
func (r *Rescuer) untarget(ctx context.Context, now time.Time) ([]store.Job, error) {
	var jobs []store.Job
	err := r.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		jobs, err = store.UntargetStaleBackups(ctx, tx, now, r.ChainGrace)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("untarget backups of unseen chain agents: %w", err)
	}
	for _, j := range jobs {
		r.log().InfoContext(ctx, "backup untargeted: chain agent unseen past the grace", "job_id", j.ID,
			"tenant_id", j.TenantID)
	}
	if len(jobs) > 0 && r.Waker != nil {
		r.Waker.Notify(ctx)
	}
	return jobs, nil
}

func (r *Rescuer) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

func (r *Rescuer) report(ctx context.Context, jobs []store.Job) {
	log := r.log()
	requeued := false
	for _, j := range jobs {
		requeued = requeued || j.Status == store.JobQueued
		metrics.LeaseRescued(j.Status)
		log.InfoContext(ctx, "lease expired", "job_id", j.ID, "tenant_id", j.TenantID,
			"status", j.Status, "attempt", j.Attempt, "max_attempts", j.MaxAttempts)
	}
	if requeued && r.Waker != nil {
		r.Waker.Notify(ctx)
	}
}
