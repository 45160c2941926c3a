package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// Planning of backups at claim time (docs/incremental.md section 4, "Who
// decides"): the hub tells the agent whether the backup continues the
// source's chain (and from which parent) or is a full, and why.

// Planning defaults.
const (
	// DefaultFullEvery is how old a chain's full may grow (source config full_every).
	DefaultFullEvery = 7 * 24 * time.Hour
	// DefaultChainGrace is how long a backup waits for its chain's agent
	// (XV_CHAIN_GRACE) before any agent may take it and start a new full.
	DefaultChainGrace = time.Hour
)

// BackupPlan is what a claim planned for a backup job (jobs.backup_plan),
// kept so that completion can check the report against it.
type BackupPlan struct {
	Incremental *sdk.IncrementalPlan `json:"incremental,omitempty"`
	FullReason  string               `json:"full_reason,omitempty"`
}

// DecodeBackupPlan reads jobs.backup_plan; an empty or unreadable one is
// the plan of a full without a reason.
func DecodeBackupPlan(raw []byte) BackupPlan {
	var p BackupPlan
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &p)
	}
	return p
}

type PlanParams struct {
	Job   *Job // a backup job just claimed (agent_id set)
	Now   time.Time
	Grace time.Duration // 0 = DefaultChainGrace
}

// PlanBackup plans a claimed backup job and stores the plan on the job
// (jobs.backup_plan, and j.BackupPlan). Run it in the claim's transaction.
func PlanBackup(ctx context.Context, db bun.IDB, p PlanParams) (BackupPlan, error) {
	j := p.Job
	plan, err := planBackup(ctx, db, p)
	if err != nil {
		return BackupPlan{}, fmt.Errorf("plan backup job %s: %w", j.ID, err)
	}
	raw, err := json.Marshal(plan)
	if err != nil {
		return BackupPlan{}, fmt.Errorf("plan backup job %s: encode: %w", j.ID, err)
	}
	_, err = db.NewUpdate().Model((*Job)(nil)).Set("backup_plan = ?", jsonArg(raw)).
		Where("id = ?", j.ID).Where("lease_epoch = ?", j.LeaseEpoch).Exec(ctx)
	if err != nil {
		return BackupPlan{}, mapErr("plan backup job "+j.ID+": store plan", err)
	}
	j.BackupPlan = raw
	return plan, nil
}

// planBackup applies the hub's rows of the table of section 4.
func planBackup(ctx context.Context, db bun.IDB, p PlanParams) (BackupPlan, error) {
	j := p.Job
	if j.Type != JobTypeBackup || j.SourceID == nil || j.AgentID == nil {
		return BackupPlan{}, nil
	}
	src, err := GetSource(ctx, db, j.TenantID, *j.SourceID)
	if err != nil {
		return BackupPlan{}, err
	}
	fullEvery, ok := incrementalSource(src)
	if !ok {
		return BackupPlan{}, nil // opt-out or a source type without incrementals
	}
	agent, err := GetAgent(ctx, db, *j.AgentID)
	if err != nil {
		return BackupPlan{}, err
	}
	if !hasCapability(agent.Capabilities, sdk.CapabilityIncremental) {
		return BackupPlan{}, nil
	}
	if err := CheckNoCopyOfSource(ctx, db, j.TenantID, src.ID); err != nil {
		var c *ChainConflict
		if errors.As(err, &c) { // a chain being moved takes no new link
			return BackupPlan{FullReason: "a snapshot of its chain is being moved (xv snapshot copy --move)"}, nil
		}
		return BackupPlan{}, err
	}
	dst, err := EffectiveStorage(ctx, db, j.TenantID, src.ID)
	if err != nil {
		return BackupPlan{}, err
	}
	if dst != nil {
		return planInTarget(ctx, db, j, src, dst, nowOr(p.Now), fullEvery)
	}
	newest, parent, err := chainCandidates(ctx, db, j.TenantID, src.ID, agent.ID)
	if err != nil || newest == nil {
		return BackupPlan{}, err
	}
	switch {
	case newest.AgentID != agent.ID && newest.ConfigHash != nil:
		reason, err := otherAgentReason(ctx, db, newest, nowOr(p.Now), grace(p.Grace))
		return BackupPlan{FullReason: reason}, err
	case newest.AgentID != agent.ID:
		return BackupPlan{}, nil // the newest is another agent's full outside any chain
	}
	if parent == nil {
		return BackupPlan{}, nil
	}
	if parent.StorageTargetID != nil {
		// A chain is read from one place: it moved to a bucket (or the
		// source's --storage changed), so the next link starts a new chain.
		return BackupPlan{FullReason: fmt.Sprintf("the chain of %s is in %s, this backup goes elsewhere",
			parent.ID, *parent.StorageTargetID)}, nil
	}
	return planFromParent(ctx, db, parent, nowOr(p.Now), fullEvery)
}

// planInTarget plans a backup into storage target dst. A chain there is
// not tied to an agent (docs/storage.md "Incremental chains"): every agent
// that can reach object storage can read the artifacts and the index
// (encrypted to all of them, ClaimedJob.IndexRecipients), so the parent is
// the source's newest snapshot whatever agent made it, provided it is in
// dst and starts or continues a chain.
func planInTarget(ctx context.Context, db bun.IDB, j *Job, src *Source, dst *StorageTarget, now time.Time,
	fullEvery time.Duration) (BackupPlan, error) {
	var rows []Snapshot
	err := db.NewSelect().Model(&rows).Where("tenant_id = ?", j.TenantID).Where("source_id = ?", src.ID).
		Where("status = ?", string(sdk.SnapshotCompleted)).OrderExpr("created_at DESC, id DESC").Limit(1).Scan(ctx)
	if err != nil {
		return BackupPlan{}, mapErr("find chain parent", err)
	}
	if len(rows) == 0 || rows[0].ConfigHash == nil {
		return BackupPlan{}, nil
	}
	parent := &rows[0]
	if where := locationOf(parent); where != dst.ID {
		return BackupPlan{FullReason: fmt.Sprintf("the chain of %s is in %s, this backup goes to storage target %s",
			parent.ID, where, dst.ID)}, nil
	}
	return planFromParent(ctx, db, parent, now, fullEvery)
}

// planFromParent is the plan for continuing parent's chain, or a full with
// the reason the chain must end (period, links, size).
func planFromParent(ctx context.Context, db bun.IDB, parent *Snapshot, now time.Time, fullEvery time.Duration) (BackupPlan, error) {
	full := parent
	if parent.IsIncremental() {
		var err error
		if full, err = GetSnapshot(ctx, db, parent.TenantID, parent.ChainFullID()); err != nil {
			return BackupPlan{FullReason: fmt.Sprintf("full %s of the chain is missing", parent.ChainFullID())}, nil
		}
	}
	incrBytes := parent.ChainBytes - full.SizeBytes
	switch {
	case now.Sub(full.CreatedAt) > fullEvery:
		return BackupPlan{FullReason: fmt.Sprintf("full %s of the chain is older than full_every=%s",
			full.ID, validate.FormatDuration(fullEvery))}, nil
	case parent.ChainPosition >= MaxChainLinks-1:
		return BackupPlan{FullReason: fmt.Sprintf("chain of full %s holds %d artifacts, the most a chain may hold",
			full.ID, parent.ChainPosition+1)}, nil
	case incrBytes*2 > full.SizeBytes:
		return BackupPlan{FullReason: fmt.Sprintf("the chain's incrementals hold %d bytes, more than 50 %% of full %s (%d bytes)",
			incrBytes, full.ID, full.SizeBytes)}, nil
	}
	return BackupPlan{Incremental: &sdk.IncrementalPlan{ParentSnapshotID: parent.ID, FullSnapshotID: full.ID,
		ParentChainPosition: parent.ChainPosition, ParentConfigHash: derefStr(parent.ConfigHash),
		ParentLocalPath: parent.LocalPath}}, nil
}

// chainCandidates returns the source's newest completed snapshot and the
// newest completed one with a config hash made by agentID (the parent).
func chainCandidates(ctx context.Context, db bun.IDB, tenantID, sourceID, agentID string) (newest, parent *Snapshot, err error) {
	base := func() *bun.SelectQuery {
		return db.NewSelect().Model((*Snapshot)(nil)).Where("tenant_id = ?", tenantID).Where("source_id = ?", sourceID).
			Where("status = ?", string(sdk.SnapshotCompleted)).OrderExpr("created_at DESC, id DESC").Limit(1)
	}
	var a, b []Snapshot
	if err := base().Scan(ctx, &a); err != nil {
		return nil, nil, mapErr("find newest snapshot", err)
	}
	if len(a) == 0 {
		return nil, nil, nil
	}
	if err := base().Where("agent_id = ?", agentID).Where("config_hash IS NOT NULL").Scan(ctx, &b); err != nil {
		return nil, nil, mapErr("find chain parent", err)
	}
	if len(b) > 0 {
		parent = &b[0]
	}
	return &a[0], parent, nil
}

// otherAgentReason: the newest snapshot is another agent's.
func otherAgentReason(ctx context.Context, db bun.IDB, newest *Snapshot, now time.Time, grace time.Duration) (string, error) {
	a, err := GetAgent(ctx, db, newest.AgentID)
	if err != nil {
		return fmt.Sprintf("chain agent %s is no longer enrolled", newest.AgentID), nil
	}
	switch {
	case a.LastSeenAt == nil:
		return fmt.Sprintf("chain agent %s never seen", a.ID), nil
	case now.Sub(*a.LastSeenAt) > grace:
		return fmt.Sprintf("chain agent %s unseen since %s", a.ID, a.LastSeenAt.UTC().Format(time.RFC3339)), nil
	}
	return fmt.Sprintf("newest snapshot %s was made by agent %s, not this one", newest.ID, a.ID), nil
}

// incrementalSource reports whether a source makes incrementals and its full_every.
func incrementalSource(src *Source) (time.Duration, bool) {
	if src.Type != string(sdk.SourceSSH) && src.Type != string(sdk.SourceSFTP) {
		return 0, false
	}
	var c sdk.SSHConfig
	if json.Unmarshal(src.Config, &c) != nil || !c.IncrementalEnabled() {
		return 0, false
	}
	d, err := validate.ParseDuration(c.FullEvery)
	if c.FullEvery == "" || err != nil {
		d = DefaultFullEvery
	}
	return d, true
}

func hasCapability(raw []byte, want string) bool {
	var caps []string
	return json.Unmarshal(raw, &caps) == nil && slices.Contains(caps, want)
}

func grace(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultChainGrace
	}
	return d
}

// ChainTarget is the agent a new backup of the source is targeted at: the
// agent of its newest completed snapshot when that one is in a chain
// (config hash set) and the agent was seen within grace; else nil.
func ChainTarget(ctx context.Context, db bun.IDB, tenantID, sourceID string, now time.Time, g time.Duration) (*string, error) {
	var rows []Snapshot
	err := db.NewSelect().Model(&rows).Where("tenant_id = ?", tenantID).Where("source_id = ?", sourceID).
		Where("status = ?", string(sdk.SnapshotCompleted)).OrderExpr("created_at DESC, id DESC").Limit(1).Scan(ctx)
	if err != nil {
		return nil, mapErr("find chain agent", err)
	}
	if len(rows) == 0 || rows[0].ConfigHash == nil || rows[0].AgentID == "" || rows[0].StorageTargetID != nil {
		return nil, nil // no chain, or one in a bucket: any agent continues it
	}
	a, err := GetAgent(ctx, db, rows[0].AgentID)
	if isNotFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("find chain agent: %w", err)
	}
	if a.LastSeenAt == nil || nowOr(now).Sub(*a.LastSeenAt) > grace(g) {
		return nil, nil
	}
	return &a.ID, nil
}

// UntargetStaleBackups clears target_agent_id of queued backup jobs whose
// target agent was not seen within grace (or is gone), so that any agent
// may take them (and make a full). Each changed job gets its job.updated
// event; run it in a transaction.
func UntargetStaleBackups(ctx context.Context, db bun.IDB, now time.Time, g time.Duration) ([]Job, error) {
	now = nowOr(now)
	fresh := db.NewSelect().Model((*Agent)(nil)).Column("id").Where("last_seen_at >= ?", now.Add(-grace(g)))
	var out []Job
	err := db.NewUpdate().Model(&out).Set("target_agent_id = NULL").Set("updated_at = ?", now).
		Where("type = ?", JobTypeBackup).Where("status = ?", JobQueued).
		Where("target_agent_id IS NOT NULL").Where("target_agent_id NOT IN (?)", fresh).
		Returning("*").Scan(ctx)
	if err != nil && !isNoRows(err) {
		return nil, mapErr("untarget stale backup jobs", err)
	}
	for i := range out {
		if err := jobEvent(ctx, db, sdk.EventJobUpdated, &out[i], now); err != nil {
			return nil, err
		}
	}
	return out, nil
}
