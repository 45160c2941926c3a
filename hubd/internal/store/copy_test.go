package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

func s3Target(t *testing.T, db bun.IDB, tenantID, name string) *store.StorageTarget {
	t.Helper()
	c := &store.Credential{TenantID: tenantID, Name: name + "-key", Kind: "s3_access_key", Ciphertext: []byte{1}, KEKID: "k1"}
	require.NoError(t, store.CreateCredential(ctx, db, c))
	st := &store.StorageTarget{TenantID: &tenantID, Name: name, Type: "s3", Endpoint: "https://s3.example.org",
		Bucket: "b", CredentialID: c.ID}
	require.NoError(t, store.CreateStorageTarget(ctx, db, st))
	return st
}

func requestCopy(t *testing.T, db *store.DB, p store.CopyParams) (*store.Job, error) {
	t.Helper()
	var j *store.Job
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		j, err = store.RequestCopy(ctx, tx, p)
		return err
	})
	return j, err
}

// TestMoveChain: a move copies the whole chain, blocks deletes and new
// links meanwhile, and its completion points every link at the target,
// but only when the report names exactly the chain's artifacts.
func TestMoveChain(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		a := incrAgent(t, db, "incr", t0)
		_, err := db.NewUpdate().Model((*store.Agent)(nil)).Set("capabilities = ?", `["incremental","storage:s3"]`).
			Where("id = ?", a.ID).Exec(ctx)
		require.NoError(t, err)
		full, _ := backup(t, db, f, a.ID, t0, 1000)
		inc, _ := backup(t, db, f, a.ID, t0.Add(time.Hour), 100)
		target := s3Target(t, db, f.tenant.ID, "garage")

		_, err = requestCopy(t, db, store.CopyParams{TenantID: f.tenant.ID, SnapshotID: inc.ID, ToStorageID: target.ID})
		require.ErrorContains(t, err, "only moves are supported")
		_, err = requestCopy(t, db, store.CopyParams{TenantID: f.tenant.ID, SnapshotID: inc.ID, Move: true})
		require.ErrorContains(t, err, "already on an agent's disk")
		other := newTenant(t, db, "other")
		_, err = requestCopy(t, db, store.CopyParams{TenantID: other.ID, SnapshotID: inc.ID, ToStorageID: target.ID, Move: true})
		require.ErrorIs(t, err, store.ErrNotFound, "another tenant's snapshot")
		foreign := s3Target(t, db, other.ID, "foreign")
		_, err = requestCopy(t, db, store.CopyParams{TenantID: f.tenant.ID, SnapshotID: inc.ID, ToStorageID: foreign.ID, Move: true})
		require.ErrorIs(t, err, store.ErrNotFound, "another tenant's target")

		j, err := requestCopy(t, db, store.CopyParams{TenantID: f.tenant.ID, SnapshotID: inc.ID, ToStorageID: target.ID,
			Move: true, Now: t0.Add(2 * time.Hour)})
		require.NoError(t, err)
		require.Equal(t, a.ID, *j.TargetAgentID, "the agent holding the chain copies it")
		var payload sdk.CopyPayload
		require.NoError(t, json.Unmarshal(j.Payload, &payload))
		require.Equal(t, []sdk.CopyLink{{SnapshotID: full.ID, SHA256: full.SHA256, SizeBytes: 1000},
			{SnapshotID: inc.ID, SHA256: inc.SHA256, SizeBytes: 100}}, payload.Links, "the whole chain, full first")
		_, err = requestCopy(t, db, store.CopyParams{TenantID: f.tenant.ID, SnapshotID: full.ID, ToStorageID: target.ID, Move: true})
		require.ErrorContains(t, err, "in progress", "one copy per source at a time")
		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			_, _, err := store.RequestSnapshotDelete(ctx, tx, store.DeleteSnapshotParams{TenantID: f.tenant.ID, SnapshotID: inc.ID})
			return err
		})
		require.True(t, errors.As(err, new(*store.ChainConflict)), "no delete while the chain moves: %v", err)
		u, err := store.StorageTargetUsage(ctx, db, target.ID)
		require.NoError(t, err)
		require.Equal(t, 1, u.Jobs, "the target cannot be deleted under an active copy")

		// An agent without storage:s3 cannot claim it; the holder can.
		plain := newAgent(t, db, "plain")
		got, err := store.ClaimJob(ctx, db, store.ClaimParams{AgentID: plain.ID, Now: t0.Add(2 * time.Hour), NoObjectStorage: true})
		require.NoError(t, err)
		require.Nil(t, got)
		claimed, err := store.ClaimJob(ctx, db, store.ClaimParams{AgentID: a.ID, Now: t0.Add(2 * time.Hour), Lease: lease})
		require.NoError(t, err)
		require.Equal(t, j.ID, claimed.ID)

		completeCopy := func(rep sdk.CopyReport) *store.Job {
			var out *store.Job
			res, _ := json.Marshal(rep)
			err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				var err error
				out, err = store.CompleteJob(ctx, tx, store.CompleteParams{JobID: claimed.ID, AgentID: a.ID,
					Epoch: claimed.LeaseEpoch, Now: t0.Add(3 * time.Hour), Status: store.JobCompleted, Result: res})
				return err
			})
			require.NoError(t, err)
			return out
		}
		// A report missing a link fails the job and moves nothing.
		short := sdk.CopyReport{Links: []sdk.CopiedLink{{CopyLink: payload.Links[0], Location: "xv/a/"}}}
		done := completeCopy(short)
		require.Equal(t, store.JobFailed, done.Status)
		require.Contains(t, deref(done.ErrorMessage), "does not match")
		s, err := store.GetSnapshot(ctx, db, f.tenant.ID, full.ID)
		require.NoError(t, err)
		require.Nil(t, s.StorageTargetID, "a failed copy moves nothing")

		// Again, reported right: every link now lives in the target.
		j2, err := requestCopy(t, db, store.CopyParams{TenantID: f.tenant.ID, SnapshotID: full.ID, ToStorageID: target.ID,
			Move: true, Now: t0.Add(4 * time.Hour)})
		require.NoError(t, err)
		claimed, err = store.ClaimJob(ctx, db, store.ClaimParams{AgentID: a.ID, Now: t0.Add(4 * time.Hour), Lease: lease})
		require.NoError(t, err)
		require.Equal(t, j2.ID, claimed.ID)
		rep := sdk.CopyReport{Links: []sdk.CopiedLink{{CopyLink: payload.Links[0], Location: "xv/full/"},
			{CopyLink: payload.Links[1], Location: "xv/inc/"}}}
		done = completeCopy(rep)
		require.Equal(t, store.JobCompleted, done.Status, deref(done.ErrorMessage))
		for _, id := range []string{full.ID, inc.ID} {
			s, err := store.GetSnapshot(ctx, db, f.tenant.ID, id)
			require.NoError(t, err)
			require.Equal(t, target.ID, deref(s.StorageTargetID))
			require.Equal(t, sdk.StorageBackendS3, s.StorageBackend)
		}
		require.Equal(t, &rep, store.JobView(done).Copy)
		twin := s3Target(t, db, f.tenant.ID, "twin") // the same endpoint, bucket and prefix
		_, err = requestCopy(t, db, store.CopyParams{TenantID: f.tenant.ID, SnapshotID: full.ID, ToStorageID: twin.ID, Move: true})
		require.ErrorContains(t, err, "is already in storage target", "a twin target is the same place")

		// The source still backs up to the agent's disk: the next backup
		// does not continue the chain that moved away.
		next, plan := backup(t, db, f, a.ID, t0.Add(5*time.Hour), 10)
		require.Nil(t, plan.Incremental)
		require.Contains(t, plan.FullReason, "this backup goes elsewhere")
		require.Equal(t, store.KindFull, next.Kind)
	})
}
