package retention

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/store/storetest"
	"github.com/xvault/xvault/sdk"
)

// TestChainInvariantProperty (docs/incremental.md section 5): after any
// sequence of backups (full or incremental as planned; agents that
// downgrade, fail or vanish), retention runs (random policies, times and
// verify verdicts), manual deletes and delete-job completions in random
// order, on the real store, every snapshot that is not being deleted has
// all its ancestors present and not being deleted.
func TestChainInvariantProperty(t *testing.T) {
	t.Parallel()
	seed := uint64(time.Now().UnixNano())
	rounds, steps := 12, 120
	if testing.Short() {
		rounds, steps = 3, 60
	}
	for round := range rounds {
		s := seed + uint64(round)
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, s)
			for step := range steps {
				op := w.step()
				if msg := w.broken(); msg != "" {
					t.Fatalf("seed %d, step %d (%s): %s\n%s", s, step, op, msg, strings.Join(w.log, "\n"))
				}
			}
			t.Logf("seed %d: %d backups (%d incremental), %d deletes completed", s, w.backups, w.incrementals, w.deleted)
		})
	}
}

type world struct {
	t      *testing.T
	rng    *rand.Rand
	db     *store.DB
	tenant string
	source string
	agents []string
	now    time.Time
	log    []string
	seed   uint64

	backups, incrementals, deleted int
}

func newWorld(t *testing.T, seed uint64) *world {
	ctx := context.Background()
	db := storetest.Open(t, store.DialectSQLite)
	w := &world{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), db: db,
		now: time.Date(2030, 1, 1, 2, 0, 0, 0, time.UTC)}
	tn := &store.Tenant{Name: "acme"}
	require.NoError(t, store.CreateTenant(ctx, db, tn, &store.TenantKey{PublicKey: "age1acme", EncryptedPrivateKey: []byte("x"),
		KEKID: "k1"}))
	fullEvery := []string{"1d", "3d", "7d", "30d"}[w.rng.IntN(4)]
	src := &store.Source{TenantID: tn.ID, Type: "sftp", Name: "web",
		Config: json.RawMessage(fmt.Sprintf(`{"host":"h","username":"u","paths":["/"],"full_every":%q}`, fullEvery))}
	require.NoError(t, store.CreateSource(ctx, db, src))
	w.tenant, w.source = tn.ID, src.ID
	for i := range 2 {
		a := &store.Agent{Name: fmt.Sprint("agent-", i), PublicKey: "age1agent", LastSeenAt: &w.now,
			Capabilities: json.RawMessage(`["incremental"]`)}
		require.NoError(t, store.CreateAgent(ctx, db, a))
		w.agents = append(w.agents, a.ID)
	}
	if w.rng.IntN(2) == 0 { // verify drills: old chains wait for a verified full
		mode, every := "latest", 60*24
		require.NoError(t, store.CreateSchedule(ctx, db, &store.Schedule{TenantID: tn.ID, SourceID: src.ID,
			IntervalMinutes: &every, Timezone: "UTC", Enabled: true, VerifyMode: &mode, VerifyEveryMin: &every}))
	}
	return w
}

// step runs one random operation and names it.
func (w *world) step() string {
	w.now = w.now.Add(time.Duration(1+w.rng.IntN(20)) * time.Hour)
	for _, a := range w.agents { // agents come and go
		if w.rng.IntN(3) > 0 {
			require.NoError(w.t, store.TouchAgent(context.Background(), w.db, a, "online", "1.0", w.now))
		}
	}
	var op string
	switch n := w.rng.IntN(10); {
	case n < 4:
		op = w.backup()
	case n < 6:
		op = w.retention()
	case n < 7:
		op = w.verdict()
	case n < 8:
		op = w.manualDelete()
	default:
		op = w.completeDeletes()
	}
	w.log = append(w.log, w.now.Format(time.RFC3339)+" "+op)
	return op
}

func (w *world) backup() string {
	ctx := context.Background()
	target, err := store.ChainTarget(ctx, w.db, w.tenant, w.source, w.now, time.Hour)
	require.NoError(w.t, err)
	_, _, err = store.EnqueueBackup(ctx, w.db, &store.Job{TenantID: w.tenant, SourceID: &w.source, TargetAgentID: target,
		CreatedAt: w.now, RunAfter: w.now})
	require.NoError(w.t, err)
	agent := w.agents[w.rng.IntN(len(w.agents))]
	if target != nil && w.rng.IntN(4) > 0 {
		agent = *target
	}
	var j *store.Job
	var plan store.BackupPlan
	require.NoError(w.t, w.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if j, err = store.ClaimJob(ctx, tx, store.ClaimParams{AgentID: agent, Types: []string{store.JobTypeBackup},
			Now: w.now}); err != nil || j == nil {
			return err
		}
		plan, err = store.PlanBackup(ctx, tx, store.PlanParams{Job: j, Now: w.now, Grace: time.Hour})
		return err
	}))
	if j == nil {
		return "backup: nothing claimable for " + agent
	}
	return w.finishBackup(j, plan)
}

// finishBackup completes a claimed backup as an agent would: as planned,
// downgraded to a full, or failed.
func (w *world) finishBackup(j *store.Job, plan store.BackupPlan) string {
	ctx := context.Background()
	hash := strings.Repeat("c", 64)
	snap := &store.Snapshot{SizeBytes: int64(10 + w.rng.IntN(1000)), SHA256: strings.Repeat("a", 64),
		LocalPath: "/snap", Kind: store.KindFull, ConfigHash: &hash}
	kind := "full"
	if plan.Incremental != nil && w.rng.IntN(8) > 0 {
		snap.Kind, snap.ParentSnapshotID, kind = store.KindIncremental, &plan.Incremental.ParentSnapshotID, "incremental"
	}
	status := store.JobCompleted
	if w.rng.IntN(10) == 0 {
		status, snap, kind = store.JobFailed, nil, "failed"
	}
	w.now = w.now.Add(time.Minute)
	var out *store.Job
	require.NoError(w.t, w.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		out, err = store.CompleteJob(ctx, tx, store.CompleteParams{JobID: j.ID, AgentID: *j.AgentID, Epoch: j.LeaseEpoch,
			Now: w.now, Status: status, Snapshot: snap, Permanent: true})
		return err
	}))
	if out.Status == store.JobCompleted {
		w.backups++
		if kind == "incremental" {
			w.incrementals++
		}
	}
	return fmt.Sprintf("backup %s on %s: %s %s %s", j.ID[:8], (*j.AgentID)[:8], kind, out.Status, deref(out.ErrorMessage))
}

func (w *world) retention() string {
	ctx := context.Background()
	p := sdk.RetentionPolicy{KeepLastN: w.rng.IntN(4), KeepDaily: w.rng.IntN(3), MaxAgeDays: w.rng.IntN(3) * 5}
	if w.rng.IntN(4) == 0 {
		p.KeepWithin = "2d"
	}
	raw, err := json.Marshal(p)
	require.NoError(w.t, err)
	require.NoError(w.t, store.PutRetentionPolicy(ctx, w.db, &store.RetentionPolicyRow{SourceID: w.source,
		TenantID: w.tenant, Policy: raw}))
	r := &Runner{DB: w.db, Now: func() time.Time { return w.now }}
	pre, err := r.Preview(ctx, w.tenant, w.source)
	require.NoError(w.t, err)
	w.closed(pre.Decisions)
	res, err := r.RunSource(ctx, w.tenant, w.source)
	require.NoError(w.t, err)
	return fmt.Sprintf("retention %s: keep %d delete %d jobs %d", raw, res.ToKeep, res.ToDelete, res.JobsEnqueued)
}

// closed checks that retention's decisions keep every ancestor of a kept
// snapshot (unless that ancestor is already being deleted), so that no
// delete it asks for is refused by the store's guard.
func (w *world) closed(ds []sdk.RetentionDecision) {
	byID := map[string]sdk.RetentionDecision{}
	for _, d := range ds {
		byID[d.ID] = d
	}
	for _, d := range ds {
		for cur := d; d.Keep && cur.ParentID != ""; cur = byID[cur.ParentID] {
			p, ok := byID[cur.ParentID]
			if ok && !p.Keep && !slices.Contains(p.Reasons, ReasonDeleteInProgress) {
				w.t.Fatalf("seed %d: retention keeps %s but deletes its ancestor %s (%v)\n%s", w.seed, d.ID, p.ID, p.Reasons,
					strings.Join(w.log, "\n"))
			}
			if !ok {
				break
			}
		}
	}
}

func (w *world) verdict() string {
	snaps := w.snapshots()
	if len(snaps) == 0 {
		return "verdict: no snapshot"
	}
	s := snaps[w.rng.IntN(len(snaps))]
	v := []string{store.VerifyOK, store.VerifyOK, store.VerifyFailed, store.VerifyCorrupt}[w.rng.IntN(4)]
	err := store.RecordVerify(context.Background(), w.db, w.tenant, s.ID, v, []byte(`{}`), w.now)
	require.NoError(w.t, err)
	return "verdict " + s.ID[:8] + " " + v
}

func (w *world) manualDelete() string {
	snaps := w.snapshots()
	if len(snaps) == 0 {
		return "delete: no snapshot"
	}
	s := snaps[w.rng.IntN(len(snaps))]
	err := w.db.RunInTx(context.Background(), nil, func(ctx context.Context, tx bun.Tx) error {
		_, _, err := store.RequestSnapshotDelete(ctx, tx, store.DeleteSnapshotParams{TenantID: w.tenant,
			SnapshotID: s.ID, Now: w.now})
		return err
	})
	if err != nil {
		require.ErrorIs(w.t, err, store.ErrConflict)
		return "delete " + s.ID[:8] + " refused: " + err.Error()
	}
	return "delete " + s.ID[:8] + " requested"
}

// completeDeletes lets the agents finish some of their delete jobs, in
// random order.
func (w *world) completeDeletes() string {
	ctx := context.Background()
	done := 0
	for range 1 + w.rng.IntN(4) {
		agent := w.agents[w.rng.IntN(len(w.agents))]
		j, err := store.ClaimJob(ctx, w.db, store.ClaimParams{AgentID: agent, Types: []string{store.JobTypeDeleteSnapshot},
			Now: w.now})
		require.NoError(w.t, err)
		if j == nil {
			continue
		}
		require.NoError(w.t, w.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			_, err := store.CompleteJob(ctx, tx, store.CompleteParams{JobID: j.ID, AgentID: agent, Epoch: j.LeaseEpoch,
				Now: w.now, Status: store.JobCompleted})
			return err
		}))
		done++
	}
	w.deleted += done
	return fmt.Sprintf("deletes completed: %d", done)
}

func (w *world) snapshots() []store.Snapshot {
	rows, err := store.SourceSnapshots(context.Background(), w.db, w.tenant, w.source)
	require.NoError(w.t, err)
	return rows
}

// broken describes the first live snapshot with a missing or deleting
// ancestor ("" when the invariant holds).
func (w *world) broken() string {
	rows := w.snapshots()
	byID := map[string]store.Snapshot{}
	for _, s := range rows {
		byID[s.ID] = s
	}
	for _, s := range rows {
		if s.Status == string(sdk.SnapshotDeleting) {
			continue
		}
		for cur := s; cur.ParentSnapshotID != nil; {
			p, ok := byID[*cur.ParentSnapshotID]
			switch {
			case !ok:
				return fmt.Sprintf("snapshot %s: ancestor %s is missing", s.ID, *cur.ParentSnapshotID)
			case p.Status == string(sdk.SnapshotDeleting):
				return fmt.Sprintf("snapshot %s: ancestor %s is deleting", s.ID, p.ID)
			case p.ChainPosition != cur.ChainPosition-1:
				return fmt.Sprintf("snapshot %s: chain position %d above parent's %d", cur.ID, cur.ChainPosition, p.ChainPosition)
			}
			cur = p
		}
	}
	return ""
}
