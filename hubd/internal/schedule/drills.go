package schedule

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// Outcomes of a verify drill (Drill.Outcome).
const (
	DrillQueued          = "queued"           // at least one verify job was enqueued
	DrillNothingToVerify = "nothing_to_do"    // no completed snapshot, or latest already verified since the previous drill
	DrillAlreadyActive   = "already_active"   // every pick already had a verify job queued or running
	DrillSkippedDisabled = "skipped_disabled" // the source is disabled
)

// Drill is what one verify drill of a schedule did.
type Drill struct {
	ScheduleID, TenantID, SourceID string
	Mode                           string    // sdk.VerifyDrillLatest or sdk.VerifyDrillSample
	Due                            time.Time // the drill's next_verify_at (zero: it was NULL)
	Next                           time.Time
	Outcome                        string
	Jobs                           []DrillJob
}

// DrillJob is the verify job of one snapshot a drill picked.
type DrillJob struct {
	SnapshotID, JobID string
	Created           bool // false: the snapshot's active verify job was reused
}

// RunDrills runs the verify drill of every schedule due now (in batches):
// one drill per due schedule, whatever was missed during downtime. Drills
// another hub replica ran are left out; one schedule's failure is logged
// and does not stop the others.
func (s *Scheduler) RunDrills(ctx context.Context) ([]Drill, error) {
	batch := s.Batch
	if batch <= 0 {
		batch = 100
	}
	now := s.now()
	var out []Drill
	var errs []error
	for range 100 {
		due, err := store.DueVerifySchedules(ctx, s.DB, now, batch)
		if err != nil {
			return out, fmt.Errorf("verify drills: %w", err)
		}
		progressed := false
		for i := range due {
			d, err := s.drill(ctx, &due[i], now)
			if err != nil {
				errs = append(errs, err)
				s.log().ErrorContext(ctx, "verify drill failed", "schedule_id", due[i].ID, "tenant_id", due[i].TenantID, "err", err)
				continue
			}
			progressed = true
			if d != nil {
				out = append(out, *d)
			}
		}
		if len(due) < batch || !progressed {
			break
		}
	}
	s.reportDrills(ctx, out)
	return out, errors.Join(errs...)
}

func (s *Scheduler) reportDrills(ctx context.Context, drills []Drill) {
	created := false
	for _, d := range drills {
		ids := make([]string, len(d.Jobs))
		for i, j := range d.Jobs {
			ids[i] = j.SnapshotID
			created = created || j.Created
		}
		s.log().InfoContext(ctx, "verify drill", "schedule_id", d.ScheduleID, "tenant_id", d.TenantID,
			"source_id", d.SourceID, "mode", d.Mode, "outcome", d.Outcome, "snapshots", strings.Join(ids, ","),
			"next_verify_at", d.Next)
	}
	if created && s.Waker != nil {
		s.Waker.Notify(ctx)
	}
}

// drill runs one schedule's drill in one transaction: move next_verify_at
// to now + period (the claim: a replica that lost it changes nothing),
// pick the snapshots, enqueue their verify jobs with an audit event each.
// Nil when another replica (or an edit) had it.
func (s *Scheduler) drill(ctx context.Context, sch *store.Schedule, now time.Time) (*Drill, error) {
	if sch.VerifyMode == nil || sch.VerifyEveryMin == nil || *sch.VerifyEveryMin <= 0 {
		return nil, fmt.Errorf("schedule %s: stored verify drill is incomplete", sch.ID)
	}
	period := time.Duration(*sch.VerifyEveryMin) * time.Minute
	d := &Drill{ScheduleID: sch.ID, TenantID: sch.TenantID, SourceID: sch.SourceID, Mode: *sch.VerifyMode,
		Next: now.Add(period), Outcome: DrillNothingToVerify}
	prev := now.Add(-period) // when the previous drill ran, had it been on time
	if sch.NextVerifyAt != nil {
		d.Due, prev = *sch.NextVerifyAt, sch.NextVerifyAt.Add(-period)
	}
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		advanced, err := store.AdvanceVerify(ctx, tx, sch.ID, sch.NextVerifyAt, d.Next, now)
		if err != nil {
			return err
		}
		if !advanced {
			return errLost
		}
		src, err := store.GetSource(ctx, tx, sch.TenantID, sch.SourceID)
		if err != nil {
			return err
		}
		if src.Status != "active" {
			d.Outcome = DrillSkippedDisabled
			return nil
		}
		snaps, err := store.DrillSnapshots(ctx, tx, sch.TenantID, sch.SourceID)
		if err != nil {
			return err
		}
		var picks []store.Snapshot
		switch d.Mode {
		case sdk.VerifyDrillLatest:
			picks = PickLatest(snaps, prev)
		case sdk.VerifyDrillSample:
			picks = PickSample(snaps, now, period)
		default:
			return fmt.Errorf("stored verify mode %q is unknown", d.Mode)
		}
		return s.enqueueVerifies(ctx, tx, d, picks, now)
	})
	switch {
	case errors.Is(err, errLost):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("schedule %s verify drill: %w", sch.ID, err)
	}
	return d, nil
}

// lockPicks locks the picked snapshots' rows (in id order, so concurrent
// drills cannot deadlock) and keeps those still completed: two drills of
// one source on two hub replicas then see each other's verify job instead
// of both enqueuing one, and a snapshot retention marked deleting
// meanwhile is dropped.
func lockPicks(ctx context.Context, tx bun.IDB, tenantID string, picks []store.Snapshot) ([]store.Snapshot, error) {
	order := slices.Clone(picks)
	slices.SortFunc(order, func(a, b store.Snapshot) int { return cmp.Compare(a.ID, b.ID) })
	still := map[string]bool{}
	for _, p := range order {
		snap, err := store.LockSnapshot(ctx, tx, tenantID, p.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		still[p.ID] = snap.Status == "completed"
	}
	return slices.DeleteFunc(picks, func(p store.Snapshot) bool { return !still[p.ID] }), nil
}

// enqueueVerifies enqueues a verify job for each pick (reusing an active
// one) and audits each new job as snapshot.verify_enqueue.
func (s *Scheduler) enqueueVerifies(ctx context.Context, tx bun.IDB, d *Drill, picks []store.Snapshot, now time.Time) error {
	picks, err := lockPicks(ctx, tx, d.TenantID, picks)
	if err != nil {
		return err
	}
	for i := range picks {
		snap := &picks[i]
		job, created, err := store.EnqueueVerify(ctx, tx, snap, now)
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", snap.ID, err)
		}
		d.Jobs = append(d.Jobs, DrillJob{SnapshotID: snap.ID, JobID: job.ID, Created: created})
		if !created {
			continue
		}
		d.Outcome = DrillQueued
		details, err := json.Marshal(map[string]string{"schedule_id": d.ScheduleID, "mode": d.Mode,
			"snapshot_id": snap.ID, "job_id": job.ID})
		if err != nil {
			return err
		}
		err = store.InsertAudit(ctx, tx, &store.AuditEvent{TenantID: &d.TenantID, ActorKind: "system",
			ActorID: "scheduler", Action: "snapshot.verify_enqueue", ObjectType: "snapshot", ObjectID: &snap.ID,
			Details: details, CreatedAt: now})
		if err != nil {
			return err
		}
	}
	if len(d.Jobs) > 0 && d.Outcome != DrillQueued {
		d.Outcome = DrillAlreadyActive
	}
	return nil
}

// PickLatest is what a "latest" drill verifies: the newest completed
// snapshot, unless it was verified at or after prev (the previous drill's
// time, so by that drill or by hand since). Snapshots not completed are
// never picked.
func PickLatest(snaps []store.Snapshot, prev time.Time) []store.Snapshot {
	var newest *store.Snapshot
	for i := range snaps {
		s := &snaps[i]
		if s.Status != "completed" {
			continue
		}
		if newest == nil || s.CreatedAt.After(newest.CreatedAt) || (s.CreatedAt.Equal(newest.CreatedAt) && s.ID > newest.ID) {
			newest = s
		}
	}
	if newest == nil || (newest.VerifiedAt != nil && !newest.VerifiedAt.Before(prev)) {
		return nil
	}
	return []store.Snapshot{*newest}
}

// PickSample is what a "sample" drill verifies: the k completed snapshots
// verified longest ago, never-verified ones first, then oldest first
// (created_at, then id), where k = SampleSize(N, period, window), N is the
// number of completed snapshots and window the age of the oldest one.
func PickSample(snaps []store.Snapshot, now time.Time, period time.Duration) []store.Snapshot {
	var cands []store.Snapshot
	for _, s := range snaps {
		if s.Status == "completed" {
			cands = append(cands, s)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	slices.SortFunc(cands, func(a, b store.Snapshot) int {
		switch {
		case a.VerifiedAt == nil && b.VerifiedAt != nil:
			return -1
		case a.VerifiedAt != nil && b.VerifiedAt == nil:
			return 1
		case a.VerifiedAt != nil:
			if c := a.VerifiedAt.Compare(*b.VerifiedAt); c != 0 {
				return c
			}
		}
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	oldest := cands[0].CreatedAt
	for _, s := range cands {
		if s.CreatedAt.Before(oldest) {
			oldest = s.CreatedAt
		}
	}
	return cands[:SampleSize(len(cands), period, now.Sub(oldest))]
}

// SampleSize is how many of n snapshots one sample drill verifies so that
// all n are verified within window: max(1, ceil(n × period / window)),
// with window at least one period (so at most n). window stands in for
// the retention window: it is the age of the source's oldest snapshot.
func SampleSize(n int, period, window time.Duration) int {
	if n <= 0 {
		return 0
	}
	window = max(window, period)
	ps, ws := int64(period/time.Second), int64(window/time.Second)
	if ps <= 0 || ws <= 0 {
		return n
	}
	k := (int64(n)*ps + ws - 1) / ws
	return int(min(max(k, 1), int64(n)))
}
