package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// Restore statuses as stored.
const (
	RestorePending = "pending"
	RestoreRunning = "running"
	RestoreReady   = "ready"
	RestoreFailed  = "failed"
	RestoreExpired = "expired"
)

// Where a restore's file is served from (restores.download_via).
const (
	DownloadViaAgent  = "agent"
	DownloadViaBucket = "bucket"
)

// InsertRestore inserts a restore row (status pending unless set). The
// caller inserts its job in the same transaction.
func InsertRestore(ctx context.Context, db bun.IDB, r *Restore) error {
	if r.ID == "" {
		r.ID = NewID()
	}
	if r.Status == "" {
		r.Status = RestorePending
	}
	if r.DownloadVia == "" {
		r.DownloadVia = DownloadViaAgent // also for database restores, which download nothing
	}
	r.CreatedAt = utcMicro(nowOr(r.CreatedAt))
	r.UpdatedAt = r.CreatedAt
	if _, err := db.NewInsert().Model(r).Exec(ctx); err != nil {
		return mapErr("insert restore", err)
	}
	return nil
}

// GetRestore returns a restore of the tenant; ErrNotFound otherwise.
func GetRestore(ctx context.Context, db bun.IDB, tenantID, id string) (*Restore, error) {
	r := new(Restore)
	err := db.NewSelect().Model(r).Where("id = ?", id).Where("tenant_id = ?", tenantID).Scan(ctx)
	if err != nil {
		return nil, mapErr("get restore", err)
	}
	return r, nil
}

// RestoreByID returns a restore whatever its tenant. Only for callers that
// check ownership another way (an agent reporting a download of a restore
// it published).
func RestoreByID(ctx context.Context, db bun.IDB, id string) (*Restore, error) {
	r := new(Restore)
	if err := db.NewSelect().Model(r).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, mapErr("get restore", err)
	}
	return r, nil
}

// RestoreByJob returns the restore a restore job works on; ErrNotFound if none.
func RestoreByJob(ctx context.Context, db bun.IDB, jobID string) (*Restore, error) {
	r := new(Restore)
	if err := db.NewSelect().Model(r).Where("job_id = ?", jobID).Scan(ctx); err != nil {
		return nil, mapErr("get restore by job", err)
	}
	return r, nil
}

type RestoreListParams struct {
	ListParams
	SnapshotID string
}

// ListRestores lists a tenant's restores, newest first.
func ListRestores(ctx context.Context, db bun.IDB, tenantID string, p RestoreListParams) ([]Restore, string, error) {
	return listPage(ctx, db, p.ListParams, "list restores",
		func(r *Restore) (time.Time, string) { return r.CreatedAt, r.ID },
		func(q *bun.SelectQuery) *bun.SelectQuery {
			q = q.Where("tenant_id = ?", tenantID)
			if p.SnapshotID != "" {
				q = q.Where("snapshot_id = ?", p.SnapshotID)
			}
			return q
		})
}

// JobsByID loads the given jobs of a tenant, keyed by id.
func JobsByID(ctx context.Context, db bun.IDB, tenantID string, ids []string) (map[string]*Job, error) {
	out := map[string]*Job{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []Job
	err := db.NewSelect().Model(&rows).Where("tenant_id = ?", tenantID).Where("id IN (?)", bun.In(ids)).Scan(ctx)
	if err != nil {
		return nil, mapErr("load jobs", err)
	}
	for i := range rows {
		out[rows[i].ID] = &rows[i]
	}
	return out, nil
}

// RestoreUpdate is the new state of a restore; nil fields are kept.
type RestoreUpdate struct {
	ID           string
	Status       string
	SizeBytes    *int64
	URLBase      *string
	URLSealed    []byte // download_via bucket: the sealed presigned URL, with its KEK id
	URLKEKID     *string
	ExpiresAt    *time.Time
	ErrorMessage *string // "" clears it
	Report       []byte  // a database restore's results (JSON)
	Now          time.Time
}

// UpdateRestore changes a restore's status and, when given, its result.
func UpdateRestore(ctx context.Context, db bun.IDB, u RestoreUpdate) error {
	q := db.NewUpdate().Model((*Restore)(nil)).
		Set("status = ?", u.Status).Set("updated_at = ?", utcMicro(nowOr(u.Now))).
		Where("id = ?", u.ID)
	if u.SizeBytes != nil {
		q = q.Set("size_bytes = ?", *u.SizeBytes)
	}
	if u.URLBase != nil {
		q = q.Set("download_url = ?", *u.URLBase)
	}
	if u.URLSealed != nil {
		q = q.Set("download_url_sealed = ?", u.URLSealed).Set("download_url_kek_id = ?", u.URLKEKID)
	}
	if u.ExpiresAt != nil {
		q = q.Set("expires_at = ?", utcMicro(*u.ExpiresAt))
	}
	if u.Report != nil {
		q = q.Set("report = ?", jsonArg(u.Report))
	}
	if u.ErrorMessage != nil {
		if *u.ErrorMessage == "" {
			q = q.Set("error_message = NULL")
		} else {
			q = q.Set("error_message = ?", *u.ErrorMessage)
		}
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return mapErr("update restore", err)
	}
	return requireRow(res, "update restore")
}

// TenantKeyByRecipient returns the tenant's key (any status) whose public
// key is recipient: the key a snapshot was encrypted to, even after a rotation.
func TenantKeyByRecipient(ctx context.Context, db bun.IDB, tenantID, recipient string) (*TenantKey, error) {
	k := new(TenantKey)
	err := db.NewSelect().Model(k).Where("tenant_id = ?", tenantID).Where("public_key = ?", recipient).
		Limit(1).Scan(ctx)
	if err != nil {
		return nil, mapErr("get tenant key by recipient", err)
	}
	return k, nil
}
