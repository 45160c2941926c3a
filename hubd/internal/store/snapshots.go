package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// GetSnapshot returns a snapshot of the tenant; ErrNotFound otherwise.
func GetSnapshot(ctx context.Context, db bun.IDB, tenantID, id string) (*Snapshot, error) {
	s := new(Snapshot)
	err := db.NewSelect().Model(s).Where("id = ?", id).Where("tenant_id = ?", tenantID).Scan(ctx)
	if err != nil {
		return nil, mapErr("get snapshot", err)
	}
	return s, nil
}

// LockSnapshot is GetSnapshot that also locks the row until the caller's
// transaction ends (PostgreSQL; SQLite's transactions are serialised anyway),
// so a restore and a delete of one snapshot cannot both pass their checks.
func LockSnapshot(ctx context.Context, tx bun.IDB, tenantID, id string) (*Snapshot, error) {
	s := new(Snapshot)
	q := tx.NewSelect().Model(s).Where("id = ?", id).Where("tenant_id = ?", tenantID)
	if isPostgres(tx) {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, mapErr("lock snapshot", err)
	}
	return s, nil
}

// SnapshotByJob returns the snapshot a backup job recorded; ErrNotFound if none.
// Not tenant-scoped: callers reach it through a job they already checked.
func SnapshotByJob(ctx context.Context, db bun.IDB, jobID string) (*Snapshot, error) {
	s := new(Snapshot)
	if err := db.NewSelect().Model(s).Where("job_id = ?", jobID).Scan(ctx); err != nil {
		return nil, mapErr("get snapshot by job", err)
	}
	return s, nil
}

type SnapshotListParams struct {
	ListParams
	SourceID     string
	FailedVerify bool // only snapshots whose last verification was failed or corrupt
}

// ListSnapshots lists a tenant's snapshots, newest first, optionally of one source.
func ListSnapshots(ctx context.Context, db bun.IDB, tenantID string, p SnapshotListParams) ([]Snapshot, string, error) {
	return listPage(ctx, db, p.ListParams, "list snapshots",
		func(s *Snapshot) (time.Time, string) { return s.CreatedAt, s.ID },
		func(q *bun.SelectQuery) *bun.SelectQuery {
			q = q.Where("tenant_id = ?", tenantID)
			if p.SourceID != "" {
				q = q.Where("source_id = ?", p.SourceID)
			}
			if p.FailedVerify {
				q = q.Where("verify_status IN (?)", bun.In([]string{VerifyFailed, VerifyCorrupt}))
			}
			return q
		})
}

// SetSnapshotStatus changes a snapshot's status (e.g. "deleting" when a
// delete_snapshot job is enqueued). ErrNotFound for another tenant's snapshot.
func SetSnapshotStatus(ctx context.Context, db bun.IDB, tenantID, id, status string) error {
	res, err := db.NewUpdate().Model((*Snapshot)(nil)).
		Set("status = ?", status).
		Where("id = ?", id).Where("tenant_id = ?", tenantID).
		Exec(ctx)
	if err != nil {
		return mapErr("set snapshot status", err)
	}
	return requireRow(res, "set snapshot status")
}

// DeleteSnapshot removes a snapshot record (its restores go with it).
// CompleteJob calls it when a delete_snapshot job completes.
func DeleteSnapshot(ctx context.Context, db bun.IDB, tenantID, id string) error {
	res, err := db.NewDelete().Model((*Snapshot)(nil)).
		Where("id = ?", id).Where("tenant_id = ?", tenantID).
		Exec(ctx)
	if err != nil {
		return mapErr("delete snapshot", err)
	}
	return requireRow(res, "delete snapshot")
}
