package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
)

func newDrillSchedule(t *testing.T, db bun.IDB, f fixture, mode string, every int, next *time.Time) *store.Schedule {
	t.Helper()
	iv := 60
	s := &store.Schedule{TenantID: f.tenant.ID, SourceID: f.source.ID, IntervalMinutes: &iv, Enabled: true, CreatedAt: t0,
		NextVerifyAt: next}
	if mode != "" {
		s.VerifyMode, s.VerifyEveryMin = &mode, &every
	}
	require.NoError(t, store.CreateSchedule(ctx, db, s))
	return s
}

func scheduleIDs(ss []store.Schedule) []string {
	out := []string{}
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

func TestVerifyDrillSchedules(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		early, late, future := t0.Add(-2*time.Hour), t0.Add(-time.Hour), t0.Add(time.Hour)
		a := newDrillSchedule(t, db, f, "latest", 60, &late)
		b := newDrillSchedule(t, db, f, "sample", 1440, &early)
		null := newDrillSchedule(t, db, f, "sample", 60, nil)
		newDrillSchedule(t, db, f, "latest", 60, &future)
		newDrillSchedule(t, db, f, "", 0, &early) // no drill: next_verify_at alone means nothing
		paused := newDrillSchedule(t, db, f, "latest", 60, &early)
		paused.Enabled = false
		require.NoError(t, store.UpdateSchedule(ctx, db, paused))

		got, err := store.GetSchedule(ctx, db, f.tenant.ID, b.ID)
		require.NoError(t, err)
		require.Equal(t, "sample", *got.VerifyMode)
		require.Equal(t, 1440, *got.VerifyEveryMin)
		require.Equal(t, early.Truncate(time.Microsecond), *got.NextVerifyAt, "stored to the microsecond, in UTC")

		due, err := store.DueVerifySchedules(ctx, db, t0, 10)
		require.NoError(t, err)
		require.Equal(t, []string{null.ID, b.ID, a.ID}, scheduleIDs(due), "NULL first, then the most overdue")
		due, err = store.DueVerifySchedules(ctx, db, t0, 1)
		require.NoError(t, err)
		require.Equal(t, []string{null.ID}, scheduleIDs(due))

		next := t0.Add(24 * time.Hour)
		ok, err := store.AdvanceVerify(ctx, db, b.ID, &late, next, t0)
		require.NoError(t, err)
		require.False(t, ok, "not at the expected due time: another replica had it")
		ok, err = store.AdvanceVerify(ctx, db, b.ID, &early, next, t0)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = store.AdvanceVerify(ctx, db, b.ID, &early, next, t0)
		require.NoError(t, err)
		require.False(t, ok, "a drill is claimed once")
		ok, err = store.AdvanceVerify(ctx, db, null.ID, nil, next, t0)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = store.AdvanceVerify(ctx, db, paused.ID, &early, next, t0)
		require.NoError(t, err)
		require.False(t, ok, "a paused schedule's drill is not run")

		got, err = store.GetSchedule(ctx, db, f.tenant.ID, b.ID)
		require.NoError(t, err)
		require.Equal(t, next.Truncate(time.Microsecond), *got.NextVerifyAt)
		due, err = store.DueVerifySchedules(ctx, db, t0, 10)
		require.NoError(t, err)
		require.Equal(t, []string{a.ID}, scheduleIDs(due))

		got.VerifyMode, got.VerifyEveryMin, got.NextVerifyAt = nil, nil, nil // drills off
		require.NoError(t, store.UpdateSchedule(ctx, db, got))
		got, err = store.GetSchedule(ctx, db, f.tenant.ID, b.ID)
		require.NoError(t, err)
		require.Nil(t, got.VerifyMode)
		require.Nil(t, got.VerifyEveryMin)
		require.Nil(t, got.NextVerifyAt)
	})
}

func TestDrillSnapshots(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		other := newTenant(t, db, "other")
		var ids []string
		for i := range 4 {
			job, _, err := store.EnqueueBackup(ctx, db, &store.Job{TenantID: f.tenant.ID, SourceID: &f.source.ID, CreatedAt: t0})
			require.NoError(t, err)
			c, err := store.ClaimJob(ctx, db, store.ClaimParams{AgentID: f.agent.ID, Now: t0})
			require.NoError(t, err)
			require.Equal(t, job.ID, c.ID)
			_, err = store.CompleteJob(ctx, db, store.CompleteParams{JobID: c.ID, AgentID: f.agent.ID, Epoch: c.LeaseEpoch,
				Now: t0, Status: store.JobCompleted, Snapshot: &store.Snapshot{LocalPath: "p",
					CreatedAt: t0.Add(time.Duration(i) * time.Hour)}})
			require.NoError(t, err)
			ids = append(ids, *c.SnapshotID)
		}
		require.NoError(t, store.SetSnapshotStatus(ctx, db, f.tenant.ID, ids[1], "deleting"))
		require.NoError(t, store.SetSnapshotStatus(ctx, db, f.tenant.ID, ids[2], "failed"))
		require.NoError(t, store.RecordVerify(ctx, db, f.tenant.ID, ids[0], store.VerifyOK, []byte(`{"status":"ok"}`), t0))

		got, err := store.DrillSnapshots(ctx, db, f.tenant.ID, f.source.ID)
		require.NoError(t, err)
		require.Len(t, got, 2, "only completed snapshots")
		require.Equal(t, ids[3], got[0].ID, "newest first")
		require.Equal(t, ids[0], got[1].ID)
		require.Equal(t, t0.Truncate(time.Microsecond), *got[1].VerifiedAt)
		require.Nil(t, got[0].VerifiedAt)
		require.Equal(t, f.agent.ID, got[0].AgentID)

		got, err = store.DrillSnapshots(ctx, db, other.ID, f.source.ID)
		require.NoError(t, err)
		require.Empty(t, got, "tenant-scoped")
	})
}
