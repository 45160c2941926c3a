package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
)

const lease = time.Minute

func fixedBackoff(int) time.Duration { return 30 * time.Second }

func enqueueBackup(t *testing.T, db bun.IDB, f fixture) *store.Job {
	t.Helper()
	j, created, err := store.EnqueueBackup(ctx, db, &store.Job{TenantID: f.tenant.ID, SourceID: &f.source.ID, CreatedAt: t0})
	require.NoError(t, err)
	require.True(t, created)
	return j
}

func claim(t *testing.T, db bun.IDB, agentID string, now time.Time) *store.Job {
	t.Helper()
	j, err := store.ClaimJob(ctx, db, store.ClaimParams{AgentID: agentID, Now: now, Lease: lease})
	require.NoError(t, err)
	return j
}

func TestClaimRenewComplete(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		require.Nil(t, claim(t, db, f.agent.ID, t0), "empty queue")
		j := enqueueBackup(t, db, f)
		require.NotNil(t, j.SnapshotID, "snapshot id preassigned")
		require.Nil(t, claim(t, db, f.agent.ID, t0.Add(-time.Second)), "run_after in the future")

		c := claim(t, db, f.agent.ID, t0)
		require.NotNil(t, c)
		require.Equal(t, j.ID, c.ID)
		require.Equal(t, store.JobRunning, c.Status)
		require.Equal(t, 1, c.Attempt)
		require.EqualValues(t, 1, c.LeaseEpoch)
		require.Equal(t, f.agent.ID, *c.AgentID)
		require.Equal(t, t0.Add(lease).Truncate(time.Microsecond), *c.LeaseExpiresAt)
		require.Nil(t, claim(t, db, f.agent.ID, t0), "claimed once")

		r, err := store.RenewLease(ctx, db, store.RenewParams{JobID: j.ID, AgentID: f.agent.ID, Epoch: 1,
			Now: t0.Add(30 * time.Second), Lease: lease, Progress: []byte(`{"files":3}`), Finalizing: true})
		require.NoError(t, err)
		require.JSONEq(t, `{"files":3}`, string(r.Progress))
		require.Equal(t, store.JobFinalizing, r.Status)
		_, err = store.RenewLease(ctx, db, store.RenewParams{JobID: j.ID, AgentID: f.agent.ID, Epoch: 2, Now: t0})
		require.ErrorIs(t, err, store.ErrConflict, "wrong epoch")
		_, err = store.RenewLease(ctx, db, store.RenewParams{JobID: j.ID, AgentID: "other", Epoch: 1, Now: t0})
		require.ErrorIs(t, err, store.ErrConflict, "wrong agent")

		_, err = store.JobForLease(ctx, db, j.ID, f.agent.ID, 1, t0.Add(time.Minute))
		require.NoError(t, err)
		_, err = store.JobForLease(ctx, db, j.ID, f.agent.ID, 1, t0.Add(2*time.Minute))
		require.ErrorIs(t, err, store.ErrConflict, "expired lease")
		_, err = store.JobForLease(ctx, db, j.ID, f.agent.ID, 0, t0)
		require.ErrorIs(t, err, store.ErrConflict)

		done := completeBackup(t, db, j.ID, f.agent.ID, 1, t0.Add(time.Minute))
		require.Equal(t, store.JobCompleted, done.Status)
		require.Nil(t, done.LeaseExpiresAt)
		require.NotNil(t, done.FinishedAt)

		snap, err := store.SnapshotByJob(ctx, db, j.ID)
		require.NoError(t, err)
		require.Equal(t, *j.SnapshotID, snap.ID)
		require.Equal(t, f.source.ID, snap.SourceID)
		require.Equal(t, f.agent.ID, snap.AgentID)
		got, err := store.GetSnapshot(ctx, db, f.tenant.ID, snap.ID)
		require.NoError(t, err)
		require.Equal(t, snap, got)
		_, err = store.GetSnapshot(ctx, db, newTenant(t, db, "other").ID, snap.ID)
		require.ErrorIs(t, err, store.ErrNotFound)
		list, next, err := store.ListSnapshots(ctx, db, f.tenant.ID, store.SnapshotListParams{SourceID: f.source.ID})
		require.NoError(t, err)
		require.Empty(t, next)
		require.Len(t, list, 1)

		_, err = store.RenewLease(ctx, db, store.RenewParams{JobID: j.ID, AgentID: f.agent.ID, Epoch: 1, Now: t0})
		require.ErrorIs(t, err, store.ErrConflict, "ended job")
	})
}

func completeBackup(t *testing.T, db *store.DB, jobID, agentID string, epoch int64, now time.Time) *store.Job {
	t.Helper()
	var out *store.Job
	snap := &store.Snapshot{SizeBytes: 42, SHA256: "ab", FileCount: 3, LocalPath: "/x", Recipient: "age1r"}
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		out, err = store.CompleteJob(ctx, tx, store.CompleteParams{JobID: jobID, AgentID: agentID, Epoch: epoch,
			Now: now, Status: store.JobCompleted, Snapshot: snap, Warnings: []byte(`["w1"]`)})
		return err
	})
	require.NoError(t, err)
	require.Equal(t, int64(42), snap.SizeBytes)
	require.NotEmpty(t, snap.ID)
	return out
}

func TestCompleteTwice(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		j := enqueueBackup(t, db, f)
		claim(t, db, f.agent.ID, t0)
		first := completeBackup(t, db, j.ID, f.agent.ID, 1, t0.Add(time.Second))
		second := completeBackup(t, db, j.ID, f.agent.ID, 1, t0.Add(time.Hour))
		require.Equal(t, first, second, "same job, unchanged")
		n, err := db.NewSelect().Model((*store.Snapshot)(nil)).Where("job_id = ?", j.ID).Count(ctx)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)

		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			_, err := store.CompleteJob(ctx, tx, store.CompleteParams{JobID: j.ID, AgentID: f.agent.ID, Epoch: 2,
				Now: t0, Status: store.JobCompleted})
			return err
		})
		require.ErrorIs(t, err, store.ErrConflict, "other epoch")
		_, err = store.CompleteJob(ctx, db, store.CompleteParams{JobID: j.ID, Status: "bogus"})
		require.ErrorIs(t, err, store.ErrInvalidArgument)
		_, err = store.CompleteJob(ctx, db, store.CompleteParams{JobID: "nope", Status: store.JobFailed})
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestFailRetriesThenFails(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		j := enqueueBackup(t, db, f)
		now := t0
		for attempt := 1; attempt <= 3; attempt++ {
			c := claim(t, db, f.agent.ID, now)
			require.NotNil(t, c, "attempt %d", attempt)
			require.Equal(t, attempt, c.Attempt)
			out, err := store.CompleteJob(ctx, db, store.CompleteParams{JobID: j.ID, AgentID: f.agent.ID,
				Epoch: c.LeaseEpoch, Now: now, Status: store.JobFailed, ErrorMessage: fmt.Sprintf("boom %d", attempt),
				Backoff: fixedBackoff})
			require.NoError(t, err)
			require.Equal(t, fmt.Sprintf("boom %d", attempt), *out.ErrorMessage)
			if attempt < 3 {
				require.Equal(t, store.JobQueued, out.Status)
				require.Nil(t, out.AgentID)
				require.Nil(t, out.LeaseExpiresAt)
				require.Equal(t, now.Add(30*time.Second).Truncate(time.Microsecond), out.RunAfter)
				require.Nil(t, claim(t, db, f.agent.ID, now.Add(29*time.Second)), "backoff respected")
				// a retried failure report is idempotent
				again, err := store.CompleteJob(ctx, db, store.CompleteParams{JobID: j.ID, AgentID: f.agent.ID,
					Epoch: c.LeaseEpoch, Now: now, Status: store.JobFailed})
				require.NoError(t, err)
				require.Equal(t, out, again)
			} else {
				require.Equal(t, store.JobFailed, out.Status)
				require.NotNil(t, out.FinishedAt)
			}
			now = now.Add(time.Minute)
		}
		// permanent failure skips retries
		j2, _, err := store.EnqueueBackup(ctx, db, &store.Job{TenantID: f.tenant.ID, SourceID: &f.source.ID, CreatedAt: now})
		require.NoError(t, err)
		c := claim(t, db, f.agent.ID, now)
		require.Equal(t, j2.ID, c.ID)
		out, err := store.CompleteJob(ctx, db, store.CompleteParams{JobID: c.ID, AgentID: f.agent.ID, Epoch: c.LeaseEpoch,
			Now: now, Status: store.JobFailed, Permanent: true, ErrorMessage: "bad config"})
		require.NoError(t, err)
		require.Equal(t, store.JobFailed, out.Status)
	})
}

func TestRescueExpired(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		j := enqueueBackup(t, db, f)
		_, err := db.NewUpdate().Model((*store.Job)(nil)).Set("max_attempts = 2").Where("id = ?", j.ID).Exec(ctx)
		require.NoError(t, err)
		c := claim(t, db, f.agent.ID, t0)

		res, err := store.RescueExpired(ctx, db, store.RescueParams{Now: t0.Add(lease - time.Second), Backoff: fixedBackoff})
		require.NoError(t, err)
		require.Empty(t, res, "lease still live")

		now := t0.Add(lease + time.Second)
		res, err = store.RescueExpired(ctx, db, store.RescueParams{Now: now, Backoff: fixedBackoff})
		require.NoError(t, err)
		require.Len(t, res, 1)
		r := res[0]
		require.Equal(t, store.JobQueued, r.Status)
		require.Nil(t, r.AgentID)
		require.Equal(t, now.Add(30*time.Second).Truncate(time.Microsecond), r.RunAfter)
		require.Contains(t, *r.ErrorMessage, "lease expired")

		_, err = store.RenewLease(ctx, db, store.RenewParams{JobID: j.ID, AgentID: f.agent.ID, Epoch: c.LeaseEpoch, Now: now})
		require.ErrorIs(t, err, store.ErrConflict, "old epoch cannot renew")
		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			_, err := store.CompleteJob(ctx, tx, store.CompleteParams{JobID: j.ID, AgentID: f.agent.ID,
				Epoch: c.LeaseEpoch, Now: now, Status: store.JobCompleted, Snapshot: &store.Snapshot{}})
			return err
		})
		require.ErrorIs(t, err, store.ErrConflict, "old epoch cannot complete")

		other := newAgent(t, db, "agent-2")
		now = now.Add(time.Minute)
		c2 := claim(t, db, other.ID, now)
		require.NotNil(t, c2)
		require.EqualValues(t, 2, c2.LeaseEpoch)
		require.Equal(t, 2, c2.Attempt)
		res, err = store.RescueExpired(ctx, db, store.RescueParams{Now: now.Add(2 * lease), Backoff: fixedBackoff})
		require.NoError(t, err)
		require.Len(t, res, 1)
		require.Equal(t, store.JobFailed, res[0].Status, "attempts exhausted")
		require.Equal(t, "lease expired after 2 attempts", *res[0].ErrorMessage)
	})
}

func TestCancel(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		j := enqueueBackup(t, db, f)
		c, err := store.CancelJob(ctx, db, f.tenant.ID, j.ID, t0)
		require.NoError(t, err)
		require.Equal(t, store.JobCanceled, c.Status, "queued → canceled at once")
		again, err := store.CancelJob(ctx, db, f.tenant.ID, j.ID, t0)
		require.NoError(t, err)
		require.Equal(t, c, again)
		_, err = store.CancelJob(ctx, db, "other-tenant", j.ID, t0)
		require.ErrorIs(t, err, store.ErrNotFound)

		j2 := enqueueBackup(t, db, f)
		cl := claim(t, db, f.agent.ID, t0)
		require.Equal(t, j2.ID, cl.ID)
		c, err = store.CancelJob(ctx, db, f.tenant.ID, j2.ID, t0)
		require.NoError(t, err)
		require.Equal(t, store.JobRunning, c.Status)
		require.True(t, c.CancelRequested)
		r, err := store.RenewLease(ctx, db, store.RenewParams{JobID: j2.ID, AgentID: f.agent.ID, Epoch: cl.LeaseEpoch, Now: t0})
		require.NoError(t, err)
		require.True(t, r.CancelRequested, "agent learns it on renewal")
		out, err := store.CompleteJob(ctx, db, store.CompleteParams{JobID: j2.ID, AgentID: f.agent.ID, Epoch: cl.LeaseEpoch,
			Now: t0, Status: store.JobFailed, ErrorMessage: "interrupted"})
		require.NoError(t, err)
		require.Equal(t, store.JobCanceled, out.Status, "no retry after a cancel")
		_, err = store.CancelJob(ctx, db, f.tenant.ID, newCompletedJob(t, db, f).ID, t0)
		require.ErrorIs(t, err, store.ErrConflict)
	})
}

func newCompletedJob(t *testing.T, db *store.DB, f fixture) *store.Job {
	t.Helper()
	j := enqueueBackup(t, db, f)
	c := claim(t, db, f.agent.ID, t0)
	require.Equal(t, j.ID, c.ID)
	return completeBackup(t, db, j.ID, f.agent.ID, c.LeaseEpoch, t0)
}

func TestConcurrentClaims(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		const nJobs, nClaimers = 500, 20
		f := newFixture(t, db)
		for i := range nJobs {
			require.NoError(t, store.EnqueueJob(ctx, db, &store.Job{TenantID: f.tenant.ID, Type: store.JobTypeRestore,
				Priority: i % 3, CreatedAt: t0}))
		}
		var mu sync.Mutex
		seen := map[string]int{}
		var wg sync.WaitGroup
		errs := make(chan error, nClaimers)
		for range nClaimers {
			wg.Go(func() {
				for {
					j, err := store.ClaimJob(ctx, db, store.ClaimParams{AgentID: f.agent.ID, Now: t0, Lease: lease})
					if err != nil {
						errs <- err
						return
					}
					if j == nil {
						return
					}
					mu.Lock()
					seen[j.ID]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Len(t, seen, nJobs)
		for id, n := range seen {
			require.Equal(t, 1, n, "job %s claimed %d times", id, n)
		}
		counts, err := store.CountJobsByStatus(ctx, db, f.tenant.ID)
		require.NoError(t, err)
		require.Equal(t, map[string]int{store.JobRunning: nJobs}, counts)
	})
}

func TestEnqueueBackupOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		first := enqueueBackup(t, db, f)
		again, created, err := store.EnqueueBackup(ctx, db, &store.Job{TenantID: f.tenant.ID, SourceID: &f.source.ID})
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, first.ID, again.ID)

		src := newSource(t, db, f.tenant.ID, "web2", nil)
		var wg sync.WaitGroup
		ids := make(chan string, 16)
		for range 16 {
			wg.Go(func() {
				err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					j, _, err := store.EnqueueBackup(ctx, tx, &store.Job{TenantID: f.tenant.ID, SourceID: &src.ID})
					if err == nil {
						ids <- j.ID
					}
					return err
				})
				if err != nil {
					ids <- "error: " + err.Error()
				}
			})
		}
		wg.Wait()
		close(ids)
		distinct := map[string]bool{}
		for id := range ids {
			distinct[id] = true
		}
		require.Len(t, distinct, 1, "one active backup per source: %v", distinct)

		_, _, err = store.EnqueueBackup(ctx, db, &store.Job{TenantID: f.tenant.ID})
		require.ErrorIs(t, err, store.ErrInvalidArgument)
	})
}

func TestJobsQueries(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		j := enqueueBackup(t, db, f)
		got, err := store.GetJob(ctx, db, f.tenant.ID, j.ID)
		require.NoError(t, err)
		require.Equal(t, j.ID, got.ID)
		require.Equal(t, 3, got.MaxAttempts)
		require.JSONEq(t, `{}`, string(got.Payload))
		_, err = store.GetJob(ctx, db, newTenant(t, db, "other").ID, j.ID)
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = store.GetJob(ctx, db, f.tenant.ID, "'; drop table jobs; --")
		require.ErrorIs(t, err, store.ErrNotFound)

		target := newAgent(t, db, "owner")
		require.NoError(t, store.EnqueueJob(ctx, db, &store.Job{TenantID: f.tenant.ID, Type: store.JobTypeDeleteSnapshot,
			SourceID: &f.source.ID, TargetAgentID: &target.ID, Priority: 10}))
		c := claim(t, db, f.agent.ID, t0)
		require.Equal(t, j.ID, c.ID, "a targeted job goes only to its agent")
		c, err = store.ClaimJob(ctx, db, store.ClaimParams{AgentID: target.ID, Now: t0, Types: []string{store.JobTypeRestore}})
		require.NoError(t, err)
		require.Nil(t, c, "type filter")
		c = claim(t, db, target.ID, t0)
		require.Equal(t, store.JobTypeDeleteSnapshot, c.Type)

		list, _, err := store.ListJobs(ctx, db, f.tenant.ID, store.JobListParams{Type: store.JobTypeBackup})
		require.NoError(t, err)
		require.Len(t, list, 1)
		list, _, err = store.ListJobs(ctx, db, f.tenant.ID, store.JobListParams{Status: store.JobRunning, SourceID: f.source.ID})
		require.NoError(t, err)
		require.Len(t, list, 2)
		counts, err := store.CountJobsByStatus(ctx, db, "")
		require.NoError(t, err)
		require.Equal(t, 2, counts[store.JobRunning])
	})
}
