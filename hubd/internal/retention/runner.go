package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/metrics"
	"github.com/xvault/xvault/hubd/internal/queue"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// DefaultInterval is how often every source's policy is applied.
const DefaultInterval = 6 * time.Hour

// Waker wakes agents' claims when delete jobs were enqueued (queue.Notifier).
type Waker interface {
	Notify(ctx context.Context)
}

// Runner applies retention policies: periodically (Interval), after each
// successful backup (Trigger) and on demand (RunAll, RunSource). Set the
// fields, then Start/Stop; tests replace Now.
type Runner struct {
	DB       *store.DB
	Waker    Waker            // may be nil
	Log      *slog.Logger     // default: discard
	Now      func() time.Time // default time.Now
	Interval time.Duration    // default DefaultInterval

	loop     queue.Loop
	triggers chan sourceRef
	cancel   context.CancelFunc
	stopped  chan struct{}
}

type sourceRef struct{ tenantID, sourceID string }

// NewRunner returns a runner with the defaults.
func NewRunner(db *store.DB, waker Waker, log *slog.Logger) *Runner {
	return &Runner{DB: db, Waker: waker, Log: log}
}

// Start runs the periodic pass (once right away) and the post-backup
// triggers in the background until ctx ends or Stop.
func (r *Runner) Start(ctx context.Context) {
	r.loop.Name, r.loop.Log = "retention", r.Log
	r.loop.Interval = r.Interval
	if r.loop.Interval <= 0 {
		r.loop.Interval = DefaultInterval
	}
	r.loop.Tick = func(ctx context.Context) error { _, err := r.RunAll(ctx); return err }
	r.loop.Start(ctx)
	if r.triggers == nil {
		r.triggers = make(chan sourceRef, 256)
	}
	r.stopped = make(chan struct{})
	ctx, r.cancel = context.WithCancel(ctx)
	go r.serveTriggers(ctx, r.triggers, r.stopped)
}

// Stop ends the background work and waits for it.
func (r *Runner) Stop() {
	r.loop.Stop()
	if r.cancel != nil {
		r.cancel()
		<-r.stopped
		r.cancel = nil
	}
}

// Trigger asks for the source's policy to be applied soon (after a backup
// completed). It never blocks: when the queue is full, the periodic pass
// catches up. A runner that was not started ignores it.
func (r *Runner) Trigger(tenantID, sourceID string) {
	if r == nil || r.triggers == nil {
		return
	}
	select {
	case r.triggers <- sourceRef{tenantID, sourceID}:
	default:
		r.log().Warn("retention trigger dropped: queue full", "tenant_id", tenantID, "source_id", sourceID)
	}
}

func (r *Runner) serveTriggers(ctx context.Context, in <-chan sourceRef, stopped chan<- struct{}) {
	defer close(stopped)
	for {
		select {
		case <-ctx.Done():
			return
		case ref := <-in:
			if _, err := r.RunSource(ctx, ref.tenantID, ref.sourceID); err != nil && ctx.Err() == nil {
				r.log().ErrorContext(ctx, "retention after backup failed", "tenant_id", ref.tenantID,
					"source_id", ref.sourceID, "err", err)
			}
		}
	}
}

func (r *Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

// RunAll applies every stored policy and sums up what it did. Sources
// without a policy keep everything and are not evaluated.
func (r *Runner) RunAll(ctx context.Context) (*sdk.RetentionRunResponse, error) {
	rows, err := store.ListRetentionPolicies(ctx, r.DB)
	if err != nil {
		return nil, fmt.Errorf("retention run: %w", err)
	}
	out := &sdk.RetentionRunResponse{Results: []sdk.RetentionSourceResult{}}
	var errs []error
	for _, row := range rows {
		res, err := r.RunSource(ctx, row.TenantID, row.SourceID)
		if err != nil {
			errs = append(errs, err)
			res = &sdk.RetentionSourceResult{TenantID: row.TenantID, SourceID: row.SourceID, Error: err.Error()}
		}
		out.Results = append(out.Results, *res)
	}
	out.Summary = Summarize(out.Results)
	return out, errors.Join(errs...)
}

// Summarize totals per-source results.
func Summarize(results []sdk.RetentionSourceResult) sdk.RetentionRunSummary {
	var s sdk.RetentionRunSummary
	for _, r := range results {
		if r.Error != "" {
			continue
		}
		s.SourcesEvaluated++
		s.TotalSnapshots += r.TotalSnapshots
		s.TotalToKeep += r.ToKeep
		s.TotalToDelete += r.ToDelete
		s.JobsEnqueued += r.JobsEnqueued
	}
	return s
}

// Preview evaluates a source's policy on its snapshots without acting.
func (r *Runner) Preview(ctx context.Context, tenantID, sourceID string) (*sdk.RetentionDecisions, error) {
	in, _, err := r.input(ctx, tenantID, sourceID)
	if err != nil {
		return nil, err
	}
	return &sdk.RetentionDecisions{SourceID: sourceID, Policy: in.Policy, Timezone: in.Location.String(),
		Now: in.Now, Decisions: Evaluate(in)}, nil
}

// RunSource applies a source's policy: every snapshot it does not keep is
// marked deleting and gets a delete_snapshot job (one per snapshot, for
// the agent holding it), audited as the retention system actor.
func (r *Runner) RunSource(ctx context.Context, tenantID, sourceID string) (*sdk.RetentionSourceResult, error) {
	in, snaps, err := r.input(ctx, tenantID, sourceID)
	if err != nil {
		return nil, err
	}
	ds := Evaluate(in)
	res := &sdk.RetentionSourceResult{TenantID: tenantID, SourceID: sourceID, TotalSnapshots: len(ds)}
	res.ToKeep, res.ToDelete = Count(ds)
	for _, d := range ds {
		if d.Keep || snaps[d.ID].Status == "deleting" {
			continue
		}
		created, err := r.requestDelete(ctx, tenantID, d, in.Now)
		if err != nil {
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				r.log().InfoContext(ctx, "retention skipped snapshot", "snapshot_id", d.ID, "tenant_id", tenantID, "err", err)
				continue
			}
			return res, fmt.Errorf("retention of source %s: %w", sourceID, err)
		}
		if created {
			res.JobsEnqueued++
			metrics.RetentionDeletion()
		}
	}
	if res.JobsEnqueued > 0 {
		r.log().InfoContext(ctx, "retention enqueued deletes", "tenant_id", tenantID, "source_id", sourceID,
			"jobs", res.JobsEnqueued, "kept", res.ToKeep)
		if r.Waker != nil {
			r.Waker.Notify(ctx)
		}
	}
	return res, nil
}

// input loads what Evaluate needs for a source: its policy, time zone,
// snapshots (with their last verification's verdict) and which of them a
// restore or delete is working on.
func (r *Runner) input(ctx context.Context, tenantID, sourceID string) (Input, map[string]store.Snapshot, error) {
	in := Input{Now: r.now(), Location: time.UTC}
	if _, err := store.GetSource(ctx, r.DB, tenantID, sourceID); err != nil {
		return in, nil, fmt.Errorf("retention of source %s: %w", sourceID, err)
	}
	p, err := LoadPolicy(ctx, r.DB, tenantID, sourceID)
	if err != nil {
		return in, nil, err
	}
	in.Policy = p
	if in.Location, err = SourceLocation(ctx, r.DB, tenantID, sourceID); err != nil {
		return in, nil, err
	}
	rows, err := store.SourceSnapshots(ctx, r.DB, tenantID, sourceID)
	if err != nil {
		return in, nil, fmt.Errorf("retention of source %s: %w", sourceID, err)
	}
	ids := make([]string, len(rows))
	byID := make(map[string]store.Snapshot, len(rows))
	for i, s := range rows {
		ids[i], byID[s.ID] = s.ID, s
	}
	busy, err := store.ActiveSnapshotJobs(ctx, r.DB, tenantID, ids)
	if err != nil {
		return in, nil, fmt.Errorf("retention of source %s: %w", sourceID, err)
	}
	if in.VerifyDrills, err = store.SourceHasVerifyDrills(ctx, r.DB, tenantID, sourceID); err != nil {
		return in, nil, fmt.Errorf("retention of source %s: %w", sourceID, err)
	}
	for _, s := range rows {
		in.Snapshots = append(in.Snapshots, Snapshot{ID: s.ID, CreatedAt: s.CreatedAt, Status: sdk.SnapshotStatus(s.Status),
			RestoreInProgress: slices.Contains(busy[s.ID], store.JobTypeRestore),
			VerifyStatus:      sdk.VerifyStatus(deref(s.VerifyStatus)), ParentID: deref(s.ParentSnapshotID)})
	}
	return in, byID, nil
}

// LoadPolicy returns a source's stored policy (the empty policy when none).
func LoadPolicy(ctx context.Context, db bun.IDB, tenantID, sourceID string) (sdk.RetentionPolicy, error) {
	row, err := store.GetRetentionPolicy(ctx, db, tenantID, sourceID)
	if errors.Is(err, store.ErrNotFound) {
		return sdk.RetentionPolicy{}, nil
	}
	if err != nil {
		return sdk.RetentionPolicy{}, fmt.Errorf("retention of source %s: %w", sourceID, err)
	}
	p, f := DecodePolicy(row.Policy)
	if f != nil {
		return sdk.RetentionPolicy{}, fmt.Errorf("retention of source %s: stored policy is invalid: %v", sourceID, f)
	}
	return p, nil
}

// SourceLocation is the time zone a source's buckets are cut in: that of
// its oldest schedule, else UTC.
func SourceLocation(ctx context.Context, db bun.IDB, tenantID, sourceID string) (*time.Location, error) {
	tz, err := store.OldestScheduleTimezone(ctx, db, tenantID, sourceID)
	if err != nil {
		return nil, err
	}
	loc, err := LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("retention of source %s: time zone %q: %w", sourceID, tz, err)
	}
	return loc, nil
}

// requestDelete marks one snapshot deleting and enqueues its delete job,
// with an audit event that carries the decision's reasons.
func (r *Runner) requestDelete(ctx context.Context, tenantID string, d sdk.RetentionDecision, now time.Time) (bool, error) {
	var created bool
	err := r.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		job, c, err := store.RequestSnapshotDelete(ctx, tx, store.DeleteSnapshotParams{TenantID: tenantID,
			SnapshotID: d.ID, Now: now})
		if err != nil || !c {
			return err
		}
		created = true
		details := auditDetails(map[string]any{"job_id": job.ID, "reasons": d.Reasons, "source_id": deref(job.SourceID)})
		return store.InsertAudit(ctx, tx, &store.AuditEvent{TenantID: &tenantID, ActorKind: "system", ActorID: "retention",
			Action: "snapshot.delete", ObjectType: "snapshot", ObjectID: &d.ID, Details: details, CreatedAt: now})
	})
	return created, err
}
