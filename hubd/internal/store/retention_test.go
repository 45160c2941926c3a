package store_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/store"
)

func TestRetentionPolicyUpsertAndIsolation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		other := newTenant(t, db, "other")
		_, err := store.GetRetentionPolicy(ctx, db, f.tenant.ID, f.source.ID)
		require.ErrorIs(t, err, store.ErrNotFound)
		row := &store.RetentionPolicyRow{SourceID: f.source.ID, TenantID: f.tenant.ID, Policy: json.RawMessage(`{"keep_last_n":2}`), UpdatedAt: t0}
		require.NoError(t, store.PutRetentionPolicy(ctx, db, row))
		row.Policy, row.UpdatedAt = json.RawMessage(`{"keep_daily":7}`), t0.Add(1)
		require.NoError(t, store.PutRetentionPolicy(ctx, db, row))
		got, err := store.GetRetentionPolicy(ctx, db, f.tenant.ID, f.source.ID)
		require.NoError(t, err)
		require.JSONEq(t, `{"keep_daily":7}`, string(got.Policy))
		_, err = store.GetRetentionPolicy(ctx, db, other.ID, f.source.ID)
		require.ErrorIs(t, err, store.ErrNotFound)
		err = store.PutRetentionPolicy(ctx, db, &store.RetentionPolicyRow{SourceID: f.source.ID, TenantID: other.ID, Policy: json.RawMessage(`{}`)})
		require.Error(t, err, "another tenant cannot write the source's policy")
		all, err := store.ListRetentionPolicies(ctx, db)
		require.NoError(t, err)
		require.Len(t, all, 1)
		owner, err := store.SourceOwner(ctx, db, f.source.ID)
		require.NoError(t, err)
		require.Equal(t, f.tenant.ID, owner)
		_, err = store.SourceOwner(ctx, db, "nope")
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestRequestSnapshotDelete(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		job, _, err := store.EnqueueBackup(ctx, db, &store.Job{TenantID: f.tenant.ID, SourceID: &f.source.ID})
		require.NoError(t, err)
		c, err := store.ClaimJob(ctx, db, store.ClaimParams{AgentID: f.agent.ID, Now: t0})
		require.NoError(t, err)
		require.Equal(t, job.ID, c.ID)
		_, err = store.CompleteJob(ctx, db, store.CompleteParams{JobID: c.ID, AgentID: f.agent.ID, Epoch: c.LeaseEpoch,
			Now: t0, Status: store.JobCompleted, Snapshot: &store.Snapshot{LocalPath: "p"}})
		require.NoError(t, err)
		snapID := *c.SnapshotID

		_, _, err = store.RequestSnapshotDelete(ctx, db, store.DeleteSnapshotParams{TenantID: "other", SnapshotID: snapID})
		require.ErrorIs(t, err, store.ErrNotFound)
		del, created, err := store.RequestSnapshotDelete(ctx, db, store.DeleteSnapshotParams{TenantID: f.tenant.ID, SnapshotID: snapID, Now: t0})
		require.NoError(t, err)
		require.True(t, created)
		require.Equal(t, f.agent.ID, *del.TargetAgentID)
		again, created, err := store.RequestSnapshotDelete(ctx, db, store.DeleteSnapshotParams{TenantID: f.tenant.ID, SnapshotID: snapID, Now: t0})
		require.NoError(t, err)
		require.False(t, created)
		require.Equal(t, del.ID, again.ID)
		busy, err := store.ActiveSnapshotJobs(ctx, db, f.tenant.ID, []string{snapID})
		require.NoError(t, err)
		require.Equal(t, []string{store.JobTypeDeleteSnapshot}, busy[snapID])
		s, err := store.GetSnapshot(ctx, db, f.tenant.ID, snapID)
		require.NoError(t, err)
		require.Equal(t, "deleting", s.Status)

		d, err := store.ClaimJob(ctx, db, store.ClaimParams{AgentID: f.agent.ID, Now: t0.Add(1)})
		require.NoError(t, err)
		require.Equal(t, del.ID, d.ID)
		_, err = store.CompleteJob(ctx, db, store.CompleteParams{JobID: d.ID, AgentID: f.agent.ID, Epoch: d.LeaseEpoch,
			Now: t0.Add(2), Status: store.JobCompleted})
		require.NoError(t, err)
		_, err = store.GetSnapshot(ctx, db, f.tenant.ID, snapID)
		require.ErrorIs(t, err, store.ErrNotFound, "the completed delete removed the record")
	})
}
