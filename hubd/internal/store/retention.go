package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// RetentionPolicyRow is a source's retention policy (JSON
// sdk.RetentionPolicy). No row means the empty policy: keep everything.
type RetentionPolicyRow struct {
	bun.BaseModel `bun:"table:retention_policies"`
	SourceID      string          `bun:"source_id,pk"`
	TenantID      string          `bun:"tenant_id"`
	Policy        json.RawMessage `bun:"policy,type:jsonb"`
	CreatedAt     time.Time       `bun:"created_at"`
	UpdatedAt     time.Time       `bun:"updated_at"`
}

func (m *RetentionPolicyRow) AfterScanRow(context.Context) error { utcFields(m); return nil }

// GetRetentionPolicy returns a source's policy row; ErrNotFound when the
// source has none (the empty policy) or is another tenant's.
func GetRetentionPolicy(ctx context.Context, db bun.IDB, tenantID, sourceID string) (*RetentionPolicyRow, error) {
	r := new(RetentionPolicyRow)
	err := db.NewSelect().Model(r).Where("source_id = ?", sourceID).Where("tenant_id = ?", tenantID).Scan(ctx)
	if err != nil {
		return nil, mapErr("get retention policy", err)
	}
	return r, nil
}

// PutRetentionPolicy creates or replaces a source's policy. The source must
// be the tenant's: another tenant's source is ErrNotFound (a stored row) or
// ErrConflict (foreign key on (tenant_id, source_id)).
func PutRetentionPolicy(ctx context.Context, db bun.IDB, r *RetentionPolicyRow) error {
	if len(r.Policy) == 0 {
		r.Policy = emptyObject
	}
	r.UpdatedAt = nowOr(r.UpdatedAt)
	r.CreatedAt = r.UpdatedAt
	res, err := db.NewInsert().Model(r).
		On("CONFLICT (source_id) DO UPDATE").
		Set("policy = EXCLUDED.policy").Set("updated_at = EXCLUDED.updated_at").
		Where("?TableAlias.tenant_id = EXCLUDED.tenant_id").
		Exec(ctx)
	if err != nil {
		return mapErr("put retention policy", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("put retention policy: %w: source %s", ErrNotFound, r.SourceID)
	}
	return nil
}

// ListRetentionPolicies returns every stored policy (all tenants): the
// periodic retention run's work list.
func ListRetentionPolicies(ctx context.Context, db bun.IDB) ([]RetentionPolicyRow, error) {
	var out []RetentionPolicyRow
	if err := db.NewSelect().Model(&out).OrderExpr("tenant_id, source_id").Scan(ctx); err != nil {
		return nil, mapErr("list retention policies", err)
	}
	return out, nil
}

// SourceOwner returns the tenant of a source (platform-admin routes that
// name a source without a tenant); ErrNotFound for an unknown source.
func SourceOwner(ctx context.Context, db bun.IDB, sourceID string) (string, error) {
	var tenant []string
	err := db.NewSelect().Model((*Source)(nil)).Column("tenant_id").Where("id = ?", sourceID).Scan(ctx, &tenant)
	if err != nil {
		return "", mapErr("find source", err)
	}
	if len(tenant) == 0 {
		return "", fmt.Errorf("find source %s: %w", sourceID, ErrNotFound)
	}
	return tenant[0], nil
}

// SourceSnapshots returns every snapshot of a source, newest first.
func SourceSnapshots(ctx context.Context, db bun.IDB, tenantID, sourceID string) ([]Snapshot, error) {
	var out []Snapshot
	err := db.NewSelect().Model(&out).Where("tenant_id = ?", tenantID).Where("source_id = ?", sourceID).
		OrderExpr("created_at DESC, id DESC").Scan(ctx)
	if err != nil {
		return nil, mapErr("list snapshots of source", err)
	}
	return out, nil
}

// ActiveSnapshotJobs maps snapshot id → types of the active (queued,
// running, finalizing) restore and delete_snapshot jobs that target it.
func ActiveSnapshotJobs(ctx context.Context, db bun.IDB, tenantID string, snapshotIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(snapshotIDs) == 0 {
		return out, nil
	}
	var rows []Job
	err := db.NewSelect().Model(&rows).Column("snapshot_id", "type").
		Where("tenant_id = ?", tenantID).
		Where("type IN (?)", bun.In([]string{JobTypeRestore, JobTypeVerify, JobTypeDeleteSnapshot})).
		Where("status IN (?)", bun.In(activeStatuses)).
		Where("snapshot_id IN (?)", bun.In(snapshotIDs)).
		Scan(ctx)
	if err != nil {
		return nil, mapErr("find active snapshot jobs", err)
	}
	for _, j := range rows {
		if j.SnapshotID != nil {
			out[*j.SnapshotID] = append(out[*j.SnapshotID], j.Type)
		}
	}
	return out, nil
}

type DeleteSnapshotParams struct {
	TenantID, SnapshotID string
	Now                  time.Time
	MaxAttempts          int // 0 = default
}

// RequestSnapshotDelete marks a snapshot "deleting" and enqueues a
// delete_snapshot job targeted at the agent that holds it. If a delete is
// already under way it returns that job with created == false; a snapshot
// left "deleting" by a delete job that failed gets a new job. ErrConflict
// while a restore of it is active, a *ChainConflict while a snapshot that
// is not being deleted names it as its parent (or when a concurrent change won), and
// ErrNotFound for another tenant's snapshot. Run it inside a transaction.
func RequestSnapshotDelete(ctx context.Context, db bun.IDB, p DeleteSnapshotParams) (job *Job, created bool, err error) {
	snap, err := LockSnapshot(ctx, db, p.TenantID, p.SnapshotID)
	if err != nil {
		return nil, false, fmt.Errorf("delete snapshot: %w", err)
	}
	var active []Job
	err = db.NewSelect().Model(&active).
		Where("tenant_id = ?", p.TenantID).Where("snapshot_id = ?", snap.ID).
		Where("type IN (?)", bun.In([]string{JobTypeRestore, JobTypeVerify, JobTypeDeleteSnapshot})).
		Where("status IN (?)", bun.In(activeStatuses)).Scan(ctx)
	if err != nil {
		return nil, false, mapErr("delete snapshot: find active jobs", err)
	}
	for i := range active {
		if active[i].Type == JobTypeDeleteSnapshot {
			return &active[i], false, nil
		}
	}
	if len(active) > 0 {
		return nil, false, fmt.Errorf("delete snapshot %s: %w: a %s of it is in progress", snap.ID, ErrConflict, active[0].Type)
	}
	if err := CheckNoCopyOfSource(ctx, db, p.TenantID, snap.SourceID); err != nil {
		return nil, false, err
	}
	child, err := LiveChild(ctx, db, p.TenantID, snap.ID)
	if err != nil {
		return nil, false, fmt.Errorf("delete snapshot %s: %w", snap.ID, err)
	}
	if child != nil {
		return nil, false, chainConflict("snapshot %s is the parent of %s (hint: delete the newer snapshots of its chain first)",
			snap.ID, child.ID)
	}
	now := nowOr(p.Now)
	res, err := db.NewUpdate().Model((*Snapshot)(nil)).Set("status = ?", "deleting").
		Where("id = ?", snap.ID).Where("tenant_id = ?", p.TenantID).Where("status = ?", snap.Status).Exec(ctx)
	if err != nil {
		return nil, false, mapErr("delete snapshot: mark deleting", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return nil, false, fmt.Errorf("delete snapshot %s: %w: it changed meanwhile", snap.ID, ErrConflict)
	}
	j := &Job{TenantID: p.TenantID, SourceID: &snap.SourceID, SnapshotID: &snap.ID, Type: JobTypeDeleteSnapshot,
		MaxAttempts: p.MaxAttempts, CreatedAt: now, RunAfter: now}
	if snap.StorageBackend == "local_fs" && snap.AgentID != "" {
		j.TargetAgentID = &snap.AgentID
	}
	if err := EnqueueJob(ctx, db, j); err != nil {
		return nil, false, fmt.Errorf("delete snapshot %s: %w", snap.ID, err)
	}
	return j, true, nil
}
