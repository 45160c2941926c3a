package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/sdk"
)

// Job statuses and types as stored.
const (
	JobQueued     = "queued"
	JobRunning    = "running"
	JobFinalizing = "finalizing"
	JobCompleted  = "completed"
	JobFailed     = "failed"
	JobCanceled   = "canceled"

	JobTypeBackup         = "backup"
	JobTypeRestore        = "restore"
	JobTypeDeleteSnapshot = "delete_snapshot"
	JobTypeTestConnection = "test_connection"
	JobTypeVerify         = "verify"
	JobTypeCopy           = "copy"
)

var (
	activeStatuses  = []string{JobQueued, JobRunning, JobFinalizing}
	leasedStatuses  = []string{JobRunning, JobFinalizing}
	defaultAttempts = 3
)

// fillJobDefaults prepares a job for insertion as queued.
func fillJobDefaults(j *Job) {
	if j.ID == "" {
		j.ID = NewID()
	}
	j.Status = JobQueued
	if j.MaxAttempts <= 0 {
		j.MaxAttempts = defaultAttempts
	}
	if len(j.Payload) == 0 {
		j.Payload = emptyObject
	}
	j.Attempt, j.LeaseEpoch, j.LeaseExpiresAt, j.AgentID = 0, 0, nil, nil
	j.CreatedAt = nowOr(j.CreatedAt)
	j.UpdatedAt = j.CreatedAt
	if j.RunAfter.IsZero() {
		j.RunAfter = j.CreatedAt
	}
	j.RunAfter = utcMicro(j.RunAfter)
}

// EnqueueBackup inserts a queued backup job for a source unless one is active;
// it returns the active one with created == false in that case. Safe under
// concurrency (a partial unique index on active backups per source).
// j.SourceID is required; j.SnapshotID is preassigned when nil.
func EnqueueBackup(ctx context.Context, db bun.IDB, j *Job) (job *Job, created bool, err error) {
	if j.SourceID == nil || *j.SourceID == "" {
		return nil, false, fmt.Errorf("enqueue backup: %w: source id is required", ErrInvalidArgument)
	}
	if err := checkBackupStorage(ctx, db, j.TenantID, *j.SourceID); err != nil {
		return nil, false, fmt.Errorf("enqueue backup: %w", err)
	}
	j.Type = JobTypeBackup
	if j.SnapshotID == nil {
		id := NewID()
		j.SnapshotID = &id
	}
	fillJobDefaults(j)
	// The active job we collide with may finish between our insert and our
	// select; then insert again.
	for range 3 {
		res, err := db.NewInsert().Model(j).On("CONFLICT DO NOTHING").Exec(ctx)
		if err != nil {
			return nil, false, mapErr("enqueue backup", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return j, true, jobEvent(ctx, db, sdk.EventJobCreated, j, j.CreatedAt)
		}
		active := new(Job)
		err = db.NewSelect().Model(active).
			Where("source_id = ?", *j.SourceID).Where("type = ?", JobTypeBackup).
			Where("status IN (?)", bun.In(activeStatuses)).
			Scan(ctx)
		if err == nil {
			return active, false, nil
		}
		if !isNoRows(err) {
			return nil, false, mapErr("enqueue backup: find active job", err)
		}
	}
	return nil, false, fmt.Errorf("enqueue backup: %w: could not insert nor find the active backup", ErrConflict)
}

// EnqueueJob inserts a queued job of any type (restore, delete_snapshot, …).
// Type and TenantID are required; restore/delete jobs of a local_fs
// snapshot set TargetAgentID to the agent that owns it.
func EnqueueJob(ctx context.Context, db bun.IDB, j *Job) error {
	fillJobDefaults(j)
	if _, err := db.NewInsert().Model(j).Exec(ctx); err != nil {
		return mapErr("enqueue job", err)
	}
	return jobEvent(ctx, db, sdk.EventJobCreated, j, j.CreatedAt)
}

// GetJob returns a job of the tenant; ErrNotFound otherwise.
func GetJob(ctx context.Context, db bun.IDB, tenantID, id string) (*Job, error) {
	j := new(Job)
	err := db.NewSelect().Model(j).Where("id = ?", id).Where("tenant_id = ?", tenantID).Scan(ctx)
	if err != nil {
		return nil, mapErr("get job", err)
	}
	return j, nil
}

type JobListParams struct {
	ListParams
	Status   string
	SourceID string
	Type     string
}

// ListJobs lists a tenant's jobs, newest first, with optional filters.
func ListJobs(ctx context.Context, db bun.IDB, tenantID string, p JobListParams) ([]Job, string, error) {
	return listPage(ctx, db, p.ListParams, "list jobs",
		func(j *Job) (time.Time, string) { return j.CreatedAt, j.ID },
		func(q *bun.SelectQuery) *bun.SelectQuery {
			q = q.Where("tenant_id = ?", tenantID)
			if p.Status != "" {
				q = q.Where("status = ?", p.Status)
			}
			if p.SourceID != "" {
				q = q.Where("source_id = ?", p.SourceID)
			}
			if p.Type != "" {
				q = q.Where("type = ?", p.Type)
			}
			return q
		})
}

// CancelJob sets cancel_requested on an active job; a queued job is canceled at once.
// Either change is recorded as job.updated (run it in a transaction).
// Canceling a canceled job returns it unchanged; a completed or failed job
// is ErrConflict; another tenant's job is ErrNotFound.
func CancelJob(ctx context.Context, db bun.IDB, tenantID, id string, now time.Time) (*Job, error) {
	now = nowOr(now)
	j := new(Job)
	err := db.NewUpdate().Model(j).
		Set("status = ?", JobCanceled).Set("finished_at = ?", now).Set("updated_at = ?", now).
		Where("id = ?", id).Where("tenant_id = ?", tenantID).Where("status = ?", JobQueued).
		Returning("*").Scan(ctx)
	if err == nil {
		return j, jobEvent(ctx, db, sdk.EventJobUpdated, j, now)
	}
	if !isNoRows(err) {
		return nil, mapErr("cancel queued job", err)
	}
	err = db.NewUpdate().Model(j).
		Set("cancel_requested = ?", true).Set("updated_at = ?", now).
		Where("id = ?", id).Where("tenant_id = ?", tenantID).
		Where("status IN (?)", bun.In(leasedStatuses)).
		Where("cancel_requested = ?", false).
		Returning("*").Scan(ctx)
	if err == nil {
		return j, jobEvent(ctx, db, sdk.EventJobUpdated, j, now)
	}
	if !isNoRows(err) {
		return nil, mapErr("request job cancel", err)
	}
	j, err = GetJob(ctx, db, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("cancel job: %w", err)
	}
	if j.Status == JobCanceled || (j.CancelRequested && (j.Status == JobRunning || j.Status == JobFinalizing)) {
		return j, nil // already canceled or asked to: nothing changes, no event
	}
	return nil, fmt.Errorf("cancel job: %w: job already %s", ErrConflict, j.Status)
}

// CountJobsByStatus for `xv status` (tenantID "" = all tenants).
func CountJobsByStatus(ctx context.Context, db bun.IDB, tenantID string) (map[string]int, error) {
	var rows []struct {
		Status string `bun:"status"`
		N      int    `bun:"n"`
	}
	q := db.NewSelect().Model((*Job)(nil)).ColumnExpr("status, COUNT(*) AS n").Group("status")
	if tenantID != "" {
		q = q.Where("tenant_id = ?", tenantID)
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, mapErr("count jobs by status", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}
