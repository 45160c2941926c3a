package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

const configHash = "5f9c4ab08cac7457e9111a30e4664920607ea2c115a1433d7be98e97e64244ca"

func incrAgent(t *testing.T, db bun.IDB, name string, seen time.Time) *store.Agent {
	t.Helper()
	a := &store.Agent{Name: name, Version: "1.0", PublicKey: "age1agent", LastSeenAt: &seen,
		Capabilities: json.RawMessage(`["incremental"]`)}
	require.NoError(t, store.CreateAgent(ctx, db, a))
	return a
}

// claimPlanned claims the next job for agentID and plans it as the claim
// route does.
func claimPlanned(t *testing.T, db *store.DB, agentID string, now time.Time) (*store.Job, store.BackupPlan) {
	t.Helper()
	var j *store.Job
	var plan store.BackupPlan
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if j, err = store.ClaimJob(ctx, tx, store.ClaimParams{AgentID: agentID, Now: now, Lease: lease}); err != nil || j == nil {
			return err
		}
		plan, err = store.PlanBackup(ctx, tx, store.PlanParams{Job: j, Now: now})
		return err
	})
	require.NoError(t, err)
	require.NotNil(t, j, "a job to claim")
	return j, plan
}

// report is what an agent following its plan reports.
func report(plan store.BackupPlan, size int64) *store.Snapshot {
	s := &store.Snapshot{SizeBytes: size, SHA256: strings.Repeat("ab", 32), LocalPath: "/x",
		Kind: store.KindFull, ConfigHash: ptr(configHash)}
	if plan.Incremental != nil {
		s.Kind, s.ParentSnapshotID = store.KindIncremental, &plan.Incremental.ParentSnapshotID
	}
	return s
}

func complete(t *testing.T, db *store.DB, j *store.Job, snap *store.Snapshot, now time.Time) *store.Job {
	t.Helper()
	var out *store.Job
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		out, err = store.CompleteJob(ctx, tx, store.CompleteParams{JobID: j.ID, AgentID: *j.AgentID, Epoch: j.LeaseEpoch,
			Now: now, Status: store.JobCompleted, Snapshot: snap})
		return err
	})
	require.NoError(t, err)
	return out
}

// backup runs one backup of the fixture's source on agent, as planned.
func backup(t *testing.T, db *store.DB, f fixture, agent string, now time.Time, size int64) (*store.Snapshot, store.BackupPlan) {
	t.Helper()
	_, _, err := store.EnqueueBackup(ctx, db, &store.Job{TenantID: f.tenant.ID, SourceID: &f.source.ID, CreatedAt: now,
		RunAfter: now})
	require.NoError(t, err)
	j, plan := claimPlanned(t, db, agent, now)
	done := complete(t, db, j, report(plan, size), now.Add(time.Minute))
	require.Equal(t, store.JobCompleted, done.Status, deref(done.ErrorMessage))
	snap, err := store.SnapshotByJob(ctx, db, j.ID)
	require.NoError(t, err)
	return snap, plan
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func TestChainCompletion(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		a := incrAgent(t, db, "incr", t0)
		full, plan := backup(t, db, f, a.ID, t0, 1000)
		require.Nil(t, plan.Incremental, "no parent yet")
		require.Empty(t, plan.FullReason, "no parent: no reason")
		require.Equal(t, store.KindFull, full.Kind)
		require.Equal(t, 0, full.ChainPosition)
		require.EqualValues(t, 1000, full.ChainBytes)
		require.Nil(t, full.FullSnapshotID)

		inc, plan := backup(t, db, f, a.ID, t0.Add(time.Hour), 100)
		require.Equal(t, &sdk.IncrementalPlan{ParentSnapshotID: full.ID, FullSnapshotID: full.ID, ParentChainPosition: 0,
			ParentConfigHash: configHash, ParentLocalPath: "/x"}, plan.Incremental)
		require.Equal(t, store.KindIncremental, inc.Kind)
		require.Equal(t, full.ID, *inc.ParentSnapshotID)
		require.Equal(t, full.ID, *inc.FullSnapshotID)
		require.Equal(t, 1, inc.ChainPosition)
		require.EqualValues(t, 1100, inc.ChainBytes)
		v := store.SnapshotView(inc)
		require.Equal(t, sdk.SnapshotIncremental, v.Kind)
		require.Equal(t, 2, v.ChainLength)
		require.EqualValues(t, 1100, v.ChainBytes)
		require.Equal(t, full.ID, v.ParentSnapshotID)

		inc2, _ := backup(t, db, f, a.ID, t0.Add(2*time.Hour), 50)
		chain, err := store.SnapshotChain(ctx, db, inc2)
		require.NoError(t, err)
		require.Equal(t, []string{inc2.ID, inc.ID, full.ID}, ids(chain))
		links := store.ChainLinks(chain)
		require.Len(t, links, 3)
		require.Equal(t, sdk.ChainLink{SnapshotID: full.ID, SHA256: full.SHA256, LocalPath: "/x"}, links[2])
		require.Nil(t, store.ChainLinks(chain[2:]), "a full has no chain in its payload")
	})
}

func ids(ss []store.Snapshot) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

func TestChainCompletionRefusesUnplannedParent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		a := incrAgent(t, db, "incr", t0)
		full, _ := backup(t, db, f, a.ID, t0, 1000)
		for name, c := range map[string]struct {
			parent string
			want   string
		}{
			"other parent": {"snp_other", "but the claim planned parent " + full.ID},
		} {
			_, _, err := store.EnqueueBackup(ctx, db, &store.Job{TenantID: f.tenant.ID, SourceID: &f.source.ID, CreatedAt: t0, RunAfter: t0})
			require.NoError(t, err, name)
			j, _ := claimPlanned(t, db, a.ID, t0.Add(time.Hour))
			snap := report(store.BackupPlan{}, 10)
			snap.Kind, snap.ParentSnapshotID = store.KindIncremental, &c.parent
			done := complete(t, db, j, snap, t0.Add(time.Hour))
			require.Equal(t, store.JobFailed, done.Status, name)
			require.Contains(t, deref(done.ErrorMessage), c.want, name)
			_, err = store.SnapshotByJob(ctx, db, j.ID)
			require.ErrorIs(t, err, store.ErrNotFound, "nothing recorded")
		}
	})
}

func TestChainCompletionParentDeletedMeanwhile(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		a := incrAgent(t, db, "incr", t0)
		full, _ := backup(t, db, f, a.ID, t0, 1000)
		_, _, err := store.EnqueueBackup(ctx, db, &store.Job{TenantID: f.tenant.ID, SourceID: &f.source.ID, CreatedAt: t0, RunAfter: t0})
		require.NoError(t, err)
		j, plan := claimPlanned(t, db, a.ID, t0.Add(time.Hour))
		require.NotNil(t, plan.Incremental)
		require.NoError(t, store.SetSnapshotStatus(ctx, db, f.tenant.ID, full.ID, "deleting"))
		done := complete(t, db, j, report(plan, 10), t0.Add(time.Hour))
		require.Equal(t, store.JobFailed, done.Status)
		require.Equal(t, "parent snapshot "+full.ID+" of the incremental is deleting", deref(done.ErrorMessage))
	})
}

func TestChainFullReasonIsAWarning(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		a := incrAgent(t, db, "incr", t0)
		backup(t, db, f, a.ID, t0, 1000)
		_, _, err := store.EnqueueBackup(ctx, db, &store.Job{TenantID: f.tenant.ID, SourceID: &f.source.ID, CreatedAt: t0, RunAfter: t0})
		require.NoError(t, err)
		j, plan := claimPlanned(t, db, a.ID, t0.Add(time.Hour))
		require.NotNil(t, plan.Incremental)
		var out *store.Job
		err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			out, err = store.CompleteJob(ctx, tx, store.CompleteParams{JobID: j.ID, AgentID: a.ID, Epoch: j.LeaseEpoch,
				Now: t0.Add(time.Hour), Status: store.JobCompleted, Snapshot: report(store.BackupPlan{}, 900),
				FullReason: "index of parent snapshot is unreadable", Warnings: []byte(`["w1"]`)})
			return err
		})
		require.NoError(t, err)
		require.JSONEq(t, `["w1","incremental: made a full backup: index of parent snapshot is unreadable"]`, string(out.Warnings))
	})
}

func TestPlanRules(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		a := incrAgent(t, db, "incr", t0)
		full, _ := backup(t, db, f, a.ID, t0, 1000)
		plan := func(agent string, now time.Time) store.BackupPlan {
			t.Helper()
			_, _, err := store.EnqueueBackup(ctx, db, &store.Job{TenantID: f.tenant.ID, SourceID: &f.source.ID,
				CreatedAt: t0, RunAfter: t0})
			require.NoError(t, err)
			j, p := claimPlanned(t, db, agent, now)
			_, err = db.NewUpdate().Model((*store.Job)(nil)).Set("status = 'canceled'").Where("id = ?", j.ID).Exec(ctx)
			require.NoError(t, err) // no backup active any more: the next one may be enqueued
			return p
		}
		require.NotNil(t, plan(a.ID, t0.Add(time.Hour)).Incremental, "continues")
		require.Equal(t, "full "+full.ID+" of the chain is older than full_every=7d",
			plan(a.ID, t0.Add(7*24*time.Hour+2*time.Minute)).FullReason, "period")

		plain := newAgent(t, db, "no-capability")
		p := plan(plain.ID, t0.Add(time.Hour))
		require.Equal(t, store.BackupPlan{}, p, "agents without the capability get fulls, no reason")

		other := incrAgent(t, db, "other", t0)
		p = plan(other.ID, t0.Add(time.Hour))
		require.Nil(t, p.Incremental)
		require.Equal(t, "newest snapshot "+full.ID+" was made by agent "+a.ID+", not this one", p.FullReason)
		p = plan(other.ID, t0.Add(2*time.Hour))
		require.Equal(t, "chain agent "+a.ID+" unseen since "+t0.Format(time.RFC3339), p.FullReason, "other agent")

		_, err := db.NewUpdate().Model((*store.Source)(nil)).Set("config = ?", `{"host":"h","incremental":false}`).
			Where("id = ?", f.source.ID).Exec(ctx)
		require.NoError(t, err)
		require.Equal(t, store.BackupPlan{}, plan(a.ID, t0.Add(time.Hour)), "opt-out: no plan, no reason")
		_, err = db.NewUpdate().Model((*store.Source)(nil)).Set("config = ?", `{"host":"h","full_every":"30d"}`).
			Where("id = ?", f.source.ID).Exec(ctx)
		require.NoError(t, err)
		require.NotNil(t, plan(a.ID, t0.Add(8*24*time.Hour)).Incremental, "full_every from the config")
	})
}

func TestPlanSizeAndLinks(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		a := incrAgent(t, db, "incr", t0)
		full, _ := backup(t, db, f, a.ID, t0, 1000)
		now := t0
		for range 5 { // 5 × 100 = 50 %: not more than half yet
			now = now.Add(time.Minute)
			s, p := backup(t, db, f, a.ID, now, 100)
			require.NotNil(t, p.Incremental)
			require.Equal(t, store.KindIncremental, s.Kind)
		}
		now = now.Add(time.Minute)
		s, _ := backup(t, db, f, a.ID, now, 1)
		require.Equal(t, store.KindIncremental, s.Kind)
		require.EqualValues(t, 1501, s.ChainBytes)
		_, p := backup(t, db, f, a.ID, now.Add(time.Minute), 1000)
		require.Nil(t, p.Incremental)
		require.Equal(t, "the chain's incrementals hold 501 bytes, more than 50 % of full "+full.ID+" (1000 bytes)", p.FullReason)

		// links: a chain of 64 artifacts ends.
		_, err := db.NewUpdate().Model((*store.Snapshot)(nil)).Set("chain_position = 63").Set("chain_bytes = size_bytes").
			Where("source_id = ?", f.source.ID).Where("kind = 'full'").Exec(ctx)
		require.NoError(t, err)
		newest, _, err := store.ListSnapshots(ctx, db, f.tenant.ID, store.SnapshotListParams{SourceID: f.source.ID})
		require.NoError(t, err)
		require.Equal(t, 63, newest[0].ChainPosition)
		_, p = backup(t, db, f, a.ID, now.Add(2*time.Minute), 10)
		require.Equal(t, fmt.Sprintf("chain of full %s holds 64 artifacts, the most a chain may hold", newest[0].ID), p.FullReason)
	})
}

func TestChainTargetAndGraceSweep(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		a := incrAgent(t, db, "incr", t0)
		target, err := store.ChainTarget(ctx, db, f.tenant.ID, f.source.ID, t0, time.Hour)
		require.NoError(t, err)
		require.Nil(t, target, "no snapshot: untargeted")
		backup(t, db, f, a.ID, t0, 1000)

		target, err = store.ChainTarget(ctx, db, f.tenant.ID, f.source.ID, t0.Add(59*time.Minute), time.Hour)
		require.NoError(t, err)
		require.Equal(t, a.ID, deref(target), "seen within the grace")
		target, err = store.ChainTarget(ctx, db, f.tenant.ID, f.source.ID, t0.Add(61*time.Minute), time.Hour)
		require.NoError(t, err)
		require.Nil(t, target, "unseen past the grace")

		j, _, err := store.EnqueueBackup(ctx, db, &store.Job{TenantID: f.tenant.ID, SourceID: &f.source.ID,
			TargetAgentID: &a.ID, CreatedAt: t0, RunAfter: t0})
		require.NoError(t, err)
		var freed []store.Job
		sweep := func(now time.Time) {
			require.NoError(t, db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				freed, err = store.UntargetStaleBackups(ctx, tx, now, time.Hour)
				return err
			}))
		}
		sweep(t0.Add(30 * time.Minute))
		require.Empty(t, freed, "agent still within the grace")
		sweep(t0.Add(2 * time.Hour))
		require.Len(t, freed, 1)
		require.Equal(t, j.ID, freed[0].ID)
		require.Nil(t, freed[0].TargetAgentID)
		got, err := store.GetJob(ctx, db, f.tenant.ID, j.ID)
		require.NoError(t, err)
		require.Nil(t, got.TargetAgentID)
	})
}

func TestDeleteRefusesParentOfLiveChild(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		a := incrAgent(t, db, "incr", t0)
		full, _ := backup(t, db, f, a.ID, t0, 1000)
		inc, _ := backup(t, db, f, a.ID, t0.Add(time.Hour), 10)
		del := func(id string) error {
			return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
				_, _, err := store.RequestSnapshotDelete(ctx, tx, store.DeleteSnapshotParams{TenantID: f.tenant.ID,
					SnapshotID: id, Now: t0.Add(2 * time.Hour)})
				return err
			})
		}
		err := del(full.ID)
		require.ErrorIs(t, err, store.ErrConflict)
		require.EqualError(t, err, "snapshot "+full.ID+" is the parent of "+inc.ID+
			" (hint: delete the newer snapshots of its chain first)")
		require.NoError(t, del(inc.ID))
		_, err = store.SnapshotChain(ctx, db, inc)
		require.NoError(t, err, "the tip itself may be deleting; its members are fine")
		require.NoError(t, del(full.ID), "its child is being deleted")

		got, err := store.GetSnapshot(ctx, db, f.tenant.ID, inc.ID)
		require.NoError(t, err)
		_, err = store.SnapshotChain(ctx, db, got)
		require.EqualError(t, err, "chain of snapshot "+inc.ID+" is broken: its member "+full.ID+
			" (parent of "+inc.ID+") is being deleted")
		require.NoError(t, store.DeleteSnapshot(ctx, db, f.tenant.ID, full.ID))
		_, err = store.SnapshotChain(ctx, db, got)
		require.EqualError(t, err, "chain of snapshot "+inc.ID+" is broken: its member "+full.ID+
			" (parent of "+inc.ID+") is missing")
	})
}

func TestSnapshotChainDefaults(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		j := enqueueBackup(t, db, f)
		s := &store.Snapshot{ID: store.NewID(), TenantID: f.tenant.ID, SourceID: f.source.ID, JobID: j.ID,
			Status: "completed", SizeBytes: 77, SHA256: "ab", AgentID: f.agent.ID, CreatedAt: t0,
			StorageBackend: "local_fs", EncryptionAlgorithm: "age"}
		_, err := db.NewInsert().Model(s).Exec(ctx)
		require.NoError(t, err)
		got, err := store.GetSnapshot(ctx, db, f.tenant.ID, s.ID)
		require.NoError(t, err)
		require.Equal(t, store.KindFull, got.Kind)
		require.EqualValues(t, 77, got.ChainBytes)
		v := store.SnapshotView(got)
		require.Equal(t, sdk.SnapshotFull, v.Kind)
		require.Equal(t, 1, v.ChainLength)
	})
}
