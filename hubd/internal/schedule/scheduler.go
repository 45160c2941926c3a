package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/queue"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// Waker wakes agents' claims when a backup was enqueued (queue.Notifier).
type Waker interface {
	Notify(ctx context.Context)
}

// Fired is what the scheduler did with one due slot.
type Fired struct {
	ScheduleID, TenantID, SourceID string
	Slot                           time.Time
	Outcome                        string // store.SlotQueued, SlotSkippedActive, SlotSkippedDisabled, SlotSkippedRefused
	JobID                          string // the new job, or the active one a skip yielded to
	Reason                         string // SlotSkippedRefused: the hub's refusal
	Next                           time.Time
}

// Scheduler enqueues a backup for every due schedule slot, and the verify
// jobs of every due verify drill, every Interval. Set the fields, then
// Start/Stop; tests replace Now and call RunOnce and RunDrills.
type Scheduler struct {
	DB       *store.DB
	Waker    Waker            // may be nil
	Log      *slog.Logger     // default: discard
	Now      func() time.Time // default time.Now
	Interval time.Duration    // default 5 s
	Batch    int              // schedules per sweep, default 100
	// MaxAttempts of the backup jobs it enqueues (0 = the store default).
	MaxAttempts int
	// ChainGrace: a backup of a source with an incremental chain is
	// targeted at the chain's agent while it was seen within this long
	// (0 = store.DefaultChainGrace).
	ChainGrace time.Duration

	loop queue.Loop
}

// Start runs sweeps in the background until ctx ends or Stop.
func (s *Scheduler) Start(ctx context.Context) {
	s.loop.Name, s.loop.Interval, s.loop.Log = "scheduler", s.Interval, s.Log
	s.loop.Tick = func(ctx context.Context) error {
		_, err := s.RunOnce(ctx)
		_, derr := s.RunDrills(ctx)
		return errors.Join(err, derr)
	}
	s.loop.Start(ctx)
}

// Stop ends the background sweeps and waits for a running one.
func (s *Scheduler) Stop() { s.loop.Stop() }

func (s *Scheduler) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	return time.Now().UTC().Truncate(time.Microsecond)
}

func (s *Scheduler) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// RunOnce handles every schedule due now (in batches) and returns what it
// did. Slots another hub replica handled are left out. One schedule's
// failure is logged and does not stop the others.
func (s *Scheduler) RunOnce(ctx context.Context) ([]Fired, error) {
	batch := s.Batch
	if batch <= 0 {
		batch = 100
	}
	now := s.now()
	var out []Fired
	var errs []error
	for range 100 {
		due, err := store.DueSchedules(ctx, s.DB, now, batch)
		if err != nil {
			return out, fmt.Errorf("scheduler: %w", err)
		}
		progressed := false
		for i := range due {
			f, err := s.fire(ctx, &due[i], now)
			if err != nil {
				errs = append(errs, err)
				s.log().ErrorContext(ctx, "schedule slot failed", "schedule_id", due[i].ID, "tenant_id", due[i].TenantID, "err", err)
				continue
			}
			progressed = true
			if f != nil {
				out = append(out, *f)
			}
		}
		if len(due) < batch || !progressed {
			break
		}
	}
	s.report(ctx, out)
	return out, errors.Join(errs...)
}

func (s *Scheduler) report(ctx context.Context, fired []Fired) {
	queued := false
	for _, f := range fired {
		queued = queued || f.Outcome == store.SlotQueued
		s.log().InfoContext(ctx, "schedule fired", "schedule_id", f.ScheduleID, "tenant_id", f.TenantID,
			"source_id", f.SourceID, "slot", f.Slot, "outcome", f.Outcome, "job_id", f.JobID, "next_run_at", f.Next)
	}
	if queued && s.Waker != nil {
		s.Waker.Notify(ctx)
	}
}

// errLost rolls back a slot another replica (or an edit) got to first.
var errLost = errors.New("slot handled elsewhere")

// fire handles one due slot in one transaction: claim the slot, enqueue
// (or skip), move next_run_at past now. Nil when another replica had it.
func (s *Scheduler) fire(ctx context.Context, sch *store.Schedule, now time.Time) (*Fired, error) {
	spec, fields := Parse(deref(sch.Cron), derefInt(sch.IntervalMinutes), sch.Timezone, sch.CreatedAt)
	if fields != nil {
		return nil, fmt.Errorf("schedule %s: stored spec is invalid: %v", sch.ID, fields)
	}
	f := &Fired{ScheduleID: sch.ID, TenantID: sch.TenantID, SourceID: sch.SourceID, Slot: *sch.NextRunAt,
		Next: spec.Next(now)}
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		run := &store.ScheduleRun{TenantID: sch.TenantID, ScheduleID: sch.ID, Slot: f.Slot, Outcome: store.SlotQueued,
			CreatedAt: now}
		claimed, err := store.ClaimSlot(ctx, tx, run)
		if err != nil {
			return err
		}
		if !claimed {
			return errLost
		}
		if err := s.enqueue(ctx, tx, sch, f, now); err != nil {
			return err
		}
		if err := store.SetSlotOutcome(ctx, tx, run.ID, f.Outcome, ptr(f.JobID), ptr(f.Reason)); err != nil {
			return err
		}
		advanced, err := store.AdvanceSchedule(ctx, tx, sch.ID, f.Slot, f.Next, now)
		if err == nil && !advanced {
			err = errLost
		}
		return err
	})
	switch {
	case errors.Is(err, errLost):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("schedule %s slot %s: %w", sch.ID, f.Slot, err)
	}
	return f, nil
}

// enqueue queues the slot's backup, or records why it was skipped.
func (s *Scheduler) enqueue(ctx context.Context, tx bun.IDB, sch *store.Schedule, f *Fired, now time.Time) error {
	src, err := store.GetSource(ctx, tx, sch.TenantID, sch.SourceID)
	if err != nil {
		return err
	}
	if src.Status != "active" {
		f.Outcome = store.SlotSkippedDisabled
		return nil
	}
	target, err := store.ChainTarget(ctx, tx, sch.TenantID, src.ID, now, s.ChainGrace)
	if err != nil {
		return err
	}
	job, created, err := store.EnqueueBackup(ctx, tx, &store.Job{TenantID: sch.TenantID, SourceID: &src.ID,
		TargetAgentID: target, MaxAttempts: s.MaxAttempts, CreatedAt: now, RunAfter: now})
	if reason, ok := refusal(err); ok {
		// A refusal (the source's storage target is unusable, say) does not
		// change by retrying the slot every tick: record it and move on.
		f.Outcome, f.Reason = store.SlotSkippedRefused, reason
		s.log().Warn("scheduled backup refused", "schedule_id", sch.ID, "source_id", src.ID,
			"slot", f.Slot, "reason", reason)
		return nil
	}
	if err != nil {
		return err
	}
	f.JobID = job.ID
	if !created {
		f.Outcome = store.SlotSkippedActive
		return nil
	}
	f.Outcome = store.SlotQueued
	details := fmt.Sprintf(`{"type":"backup","source_id":%q,"snapshot_id":%q,"schedule_id":%q,"slot":%q}`,
		src.ID, deref(job.SnapshotID), sch.ID, f.Slot.Format(time.RFC3339))
	return store.InsertAudit(ctx, tx, &store.AuditEvent{TenantID: &sch.TenantID, ActorKind: "system",
		ActorID: "scheduler", Action: "job.create", ObjectType: "job", ObjectID: &job.ID,
		Details: []byte(details), CreatedAt: now})
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func derefInt(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// refusal is the message of an EnqueueBackup error that is the hub's
// answer (a conflict it checked before writing), not a database failure.
func refusal(err error) (string, bool) {
	var e *sdk.Error
	if errors.As(err, &e) && e.Code == sdk.CodeConflict {
		return e.Message, true
	}
	var c *store.ChainConflict
	if errors.As(err, &c) {
		return c.Msg, true
	}
	return "", false
}
