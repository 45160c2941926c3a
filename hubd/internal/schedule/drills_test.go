package schedule_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/schedule"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// addDrill stores a schedule with a verify drill due at due (nil = NULL).
func (e *env) addDrill(t *testing.T, mode string, everyMin int, due *time.Time, now time.Time) *store.Schedule {
	t.Helper()
	iv := 24 * 60
	next := now.Add(24 * time.Hour)
	s := &store.Schedule{TenantID: e.tenant, SourceID: e.source, Timezone: "UTC", Enabled: true, IntervalMinutes: &iv,
		NextRunAt: &next, VerifyMode: &mode, VerifyEveryMin: &everyMin, NextVerifyAt: due, CreatedAt: now}
	require.NoError(t, store.CreateSchedule(ctx, e.db, s))
	return s
}

// addSnapshot records a completed snapshot of the source, taken at created
// on agent (its backup job completed).
func (e *env) addSnapshot(t *testing.T, agentID string, created time.Time) *store.Snapshot {
	t.Helper()
	job := &store.Job{TenantID: e.tenant, SourceID: &e.source, Type: store.JobTypeBackup, CreatedAt: created}
	require.NoError(t, store.EnqueueJob(ctx, e.db, job))
	_, err := e.db.NewUpdate().Model((*store.Job)(nil)).Set("status = 'completed'").Where("id = ?", job.ID).Exec(ctx)
	require.NoError(t, err)
	s := &store.Snapshot{ID: store.NewID(), TenantID: e.tenant, SourceID: e.source, JobID: job.ID, Status: "completed",
		StorageBackend: "local_fs", EncryptionAlgorithm: "age", AgentID: agentID, CreatedAt: created}
	_, err = e.db.NewInsert().Model(s).Exec(ctx)
	require.NoError(t, err)
	return s
}

func (e *env) agent(t *testing.T) string {
	t.Helper()
	a := &store.Agent{Name: "agent-1", Version: "1", PublicKey: "age1agent"}
	require.NoError(t, store.CreateAgent(ctx, e.db, a))
	return a.ID
}

// verifyAll plays the agent: every queued verify job completes ok at at.
func (e *env) verifyAll(t *testing.T, at time.Time) []string {
	t.Helper()
	var jobs []store.Job
	require.NoError(t, e.db.NewSelect().Model(&jobs).Where("type = ?", store.JobTypeVerify).
		Where("status = 'queued'").OrderExpr("id").Scan(ctx))
	var snaps []string
	for _, j := range jobs {
		require.NoError(t, store.RecordVerify(ctx, e.db, e.tenant, *j.SnapshotID, store.VerifyOK, json.RawMessage(`{"status":"ok"}`), at))
		_, err := e.db.NewUpdate().Model((*store.Job)(nil)).Set("status = 'completed'").Where("id = ?", j.ID).Exec(ctx)
		require.NoError(t, err)
		snaps = append(snaps, *j.SnapshotID)
	}
	return snaps
}

func (e *env) schedule(t *testing.T, id string) *store.Schedule {
	t.Helper()
	s, err := store.GetSchedule(ctx, e.db, e.tenant, id)
	require.NoError(t, err)
	return s
}

func drillSnaps(d schedule.Drill) []string {
	out := []string{}
	for _, j := range d.Jobs {
		out = append(out, j.SnapshotID)
	}
	return out
}

func TestDrillLatest(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *env) {
		c := &clock{}
		c.Set("2026-11-20T10:00:00Z")
		ag := e.agent(t)
		e.addSnapshot(t, ag, parse("2026-11-18T02:00:00Z"))
		newest := e.addSnapshot(t, ag, parse("2026-11-19T02:00:00Z"))
		due := c.Now()
		sch := e.addDrill(t, sdk.VerifyDrillLatest, 24*60, &due, c.Now())
		s := newScheduler(e.db, c)

		drills, err := s.RunDrills(ctx)
		require.NoError(t, err)
		require.Len(t, drills, 1)
		d := drills[0]
		require.Equal(t, schedule.DrillQueued, d.Outcome)
		require.Equal(t, []string{newest.ID}, drillSnaps(d))
		require.True(t, d.Jobs[0].Created)
		require.Equal(t, parse("2026-11-21T10:00:00Z"), *e.schedule(t, sch.ID).NextVerifyAt)
		job, err := store.GetJob(ctx, e.db, e.tenant, d.Jobs[0].JobID)
		require.NoError(t, err)
		require.Equal(t, store.JobTypeVerify, job.Type)
		require.Equal(t, ag, *job.TargetAgentID, "verify jobs go to the agent holding the snapshot")

		audit, _, err := store.ListAudit(ctx, e.db, e.tenant, store.AuditListParams{Action: "snapshot.verify_enqueue"})
		require.NoError(t, err)
		require.Len(t, audit, 1)
		require.Equal(t, "system", audit[0].ActorKind)
		require.Equal(t, newest.ID, *audit[0].ObjectID)
		require.JSONEq(t, fmt.Sprintf(`{"schedule_id":%q,"mode":"latest","snapshot_id":%q,"job_id":%q}`,
			sch.ID, newest.ID, job.ID), string(audit[0].Details))

		drills, err = s.RunDrills(ctx)
		require.NoError(t, err)
		require.Empty(t, drills, "not due again before a period passed")

		c.Add(24 * time.Hour) // the agent was offline: the job is still queued
		drills, err = s.RunDrills(ctx)
		require.NoError(t, err)
		require.Equal(t, schedule.DrillAlreadyActive, drills[0].Outcome)
		require.Equal(t, job.ID, drills[0].Jobs[0].JobID, "the queued job is reused, not doubled")

		e.verifyAll(t, c.Now().Add(5*time.Minute))
		c.Add(24 * time.Hour)
		drills, err = s.RunDrills(ctx)
		require.NoError(t, err)
		require.Equal(t, schedule.DrillNothingToVerify, drills[0].Outcome, "verified since the previous drill")
		require.Empty(t, drills[0].Jobs)

		newer := e.addSnapshot(t, ag, c.Now().Add(-time.Hour))
		c.Add(24 * time.Hour)
		drills, err = s.RunDrills(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{newer.ID}, drillSnaps(drills[0]))
	})
}

// A sample drill every 2 days over 6 snapshots of the last 10 days, each
// drill's jobs verified before the next: every snapshot is verified, the
// never-verified (oldest first) before any is verified again, and a new
// snapshot goes to the front of the queue.
func TestDrillSampleRotation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *env) {
		c := &clock{}
		c.Set("2026-11-20T10:00:00Z")
		ag := e.agent(t)
		var all []string
		for i := range 6 {
			all = append(all, e.addSnapshot(t, ag, c.Now().Add(-time.Duration(10-2*i)*24*time.Hour)).ID)
		}
		due := c.Now()
		e.addDrill(t, sdk.VerifyDrillSample, 2*24*60, &due, c.Now())
		s := newScheduler(e.db, c)
		var order []string
		var sizes []int
		for range 5 {
			drills, err := s.RunDrills(ctx)
			require.NoError(t, err)
			require.Len(t, drills, 1)
			sizes = append(sizes, len(drills[0].Jobs))
			order = append(order, drillSnaps(drills[0])...)
			require.ElementsMatch(t, drillSnaps(drills[0]), e.verifyAll(t, c.Now().Add(time.Minute)))
			c.Add(2 * 24 * time.Hour)
		}
		// k = ceil(6 × 2d / window): window 10d → 2, then 12d, 14d, … → 1.
		require.Equal(t, []int{2, 1, 1, 1, 1}, sizes)
		require.Equal(t, all[:6], order[:6], "never-verified first, oldest first, no repeats")

		fresh := e.addSnapshot(t, ag, c.Now().Add(-time.Hour))
		drills, err := s.RunDrills(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{fresh.ID}, drillSnaps(drills[0]), "a new snapshot is verified first")
		e.verifyAll(t, c.Now().Add(time.Minute))
		c.Add(2 * 24 * time.Hour)
		drills, err = s.RunDrills(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{all[0]}, drillSnaps(drills[0]), "then the least recently verified (ties: the older)")
	})
}

func TestDrillNothingToVerify(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *env) {
		c := &clock{}
		c.Set("2026-11-20T10:00:00Z")
		ag := e.agent(t)
		gone := e.addSnapshot(t, ag, parse("2026-11-19T02:00:00Z"))
		require.NoError(t, store.SetSnapshotStatus(ctx, e.db, e.tenant, gone.ID, "deleting"))
		latest := e.addDrill(t, sdk.VerifyDrillLatest, 60, nil, c.Now())
		sample := e.addDrill(t, sdk.VerifyDrillSample, 60, nil, c.Now())
		drills, err := newScheduler(e.db, c).RunDrills(ctx)
		require.NoError(t, err)
		require.Len(t, drills, 2, "a NULL next_verify_at is due now")
		for _, d := range drills {
			require.Equal(t, schedule.DrillNothingToVerify, d.Outcome)
			require.Empty(t, d.Jobs, "a snapshot being deleted is never picked")
		}
		for _, id := range []string{latest.ID, sample.ID} {
			require.Equal(t, parse("2026-11-20T11:00:00Z"), *e.schedule(t, id).NextVerifyAt, "still advances")
		}
		jobs, _, err := store.ListJobs(ctx, e.db, e.tenant, store.JobListParams{Type: store.JobTypeVerify})
		require.NoError(t, err)
		require.Empty(t, jobs)
	})
}

func TestDrillOnceAfterDowntime(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *env) {
		c := &clock{}
		c.Set("2026-11-20T10:00:00Z")
		ag := e.agent(t)
		for i := range 5 {
			e.addSnapshot(t, ag, c.Now().Add(-time.Duration(i)*time.Hour))
		}
		due := c.Now()
		sch := e.addDrill(t, sdk.VerifyDrillSample, 60, &due, c.Now())
		c.Add(30 * 24 * time.Hour) // the hub was down for a month
		s := newScheduler(e.db, c)
		drills, err := s.RunDrills(ctx)
		require.NoError(t, err)
		require.Len(t, drills, 1, "one drill, not one per missed period")
		require.Len(t, drills[0].Jobs, 1, "k = ceil(5 × 1h / 30d) = 1")
		require.Equal(t, c.Now().Add(time.Hour), *e.schedule(t, sch.ID).NextVerifyAt)
		drills, err = s.RunDrills(ctx)
		require.NoError(t, err)
		require.Empty(t, drills)
	})
}

func TestDrillPausedOrDisabled(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *env) {
		c := &clock{}
		c.Set("2026-11-20T10:00:00Z")
		e.addSnapshot(t, e.agent(t), parse("2026-11-19T02:00:00Z"))
		due := c.Now()
		sch := e.addDrill(t, sdk.VerifyDrillLatest, 60, &due, c.Now())
		sch.Enabled = false
		require.NoError(t, store.UpdateSchedule(ctx, e.db, sch))
		s := newScheduler(e.db, c)
		drills, err := s.RunDrills(ctx)
		require.NoError(t, err)
		require.Empty(t, drills, "a paused schedule runs no drills")

		sch.Enabled = true
		require.NoError(t, store.UpdateSchedule(ctx, e.db, sch))
		_, err = e.db.NewUpdate().Model((*store.Source)(nil)).Set("status = 'disabled'").Where("id = ?", e.source).Exec(ctx)
		require.NoError(t, err)
		drills, err = s.RunDrills(ctx)
		require.NoError(t, err)
		require.Equal(t, schedule.DrillSkippedDisabled, drills[0].Outcome)
		require.Empty(t, drills[0].Jobs)
		require.Equal(t, c.Now().Add(time.Hour), *e.schedule(t, sch.ID).NextVerifyAt)
	})
}

// Several schedulers (hub replicas) racing over the same due drills: each
// drill runs once and each snapshot gets one verify job.
func TestDrillsRacing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *env) {
		c := &clock{}
		c.Set("2026-11-20T10:00:00Z")
		ag := e.agent(t)
		for i := range 10 {
			src := &store.Source{TenantID: e.tenant, Type: "sftp", Name: fmt.Sprintf("s%d", i), Config: json.RawMessage(`{}`)}
			require.NoError(t, store.CreateSource(ctx, e.db, src))
			e.source = src.ID
			e.addSnapshot(t, ag, c.Now().Add(-time.Hour))
			due := c.Now()
			e.addDrill(t, sdk.VerifyDrillLatest, 60, &due, c.Now())
			e.addDrill(t, sdk.VerifyDrillSample, 60, &due, c.Now()) // two drills of one source pick the same snapshot
		}
		var wg sync.WaitGroup
		results := make([][]schedule.Drill, 4)
		errs := make([]error, 4)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i], errs[i] = newScheduler(e.db, c).RunDrills(ctx)
			}()
		}
		wg.Wait()
		total, created := 0, 0
		for i, r := range results {
			require.NoError(t, errs[i])
			total += len(r)
			for _, d := range r {
				for _, j := range d.Jobs {
					if j.Created {
						created++
					}
				}
			}
		}
		require.Equal(t, 20, total, "every drill ran exactly once")
		require.Equal(t, 10, created, "one verify job per snapshot")
		n, err := e.db.NewSelect().Model((*store.Job)(nil)).Where("type = ?", store.JobTypeVerify).Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 10, int(n))
	})
}
