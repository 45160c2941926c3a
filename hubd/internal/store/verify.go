package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/uptrace/bun"
)

// Verification statuses of a snapshot (snapshots.verify_status).
const (
	VerifyOK      = "ok"
	VerifyFailed  = "failed"
	VerifyCorrupt = "corrupt"
)

// verifyMaxAttempts: a verify job that fails for a reason other than a
// verdict (the agent could not reach its scratch server) is retried.
const verifyMaxAttempts = 3

// EnqueueVerify enqueues a verify job for a completed snapshot, on the agent
// holding it, unless one is already queued or running for it: then that job
// is returned with created false.
func EnqueueVerify(ctx context.Context, db bun.IDB, snap *Snapshot, now time.Time) (job *Job, created bool, err error) {
	active := new(Job)
	err = db.NewSelect().Model(active).Where("snapshot_id = ?", snap.ID).Where("type = ?", JobTypeVerify).
		Where("status IN (?)", bun.In(activeStatuses)).Limit(1).Scan(ctx)
	if err == nil {
		return active, false, nil
	}
	if err = mapErr("find active verify job", err); !errors.Is(err, ErrNotFound) {
		return nil, false, err
	}
	job = &Job{ID: NewID(), TenantID: snap.TenantID, SourceID: &snap.SourceID, SnapshotID: &snap.ID,
		Type: JobTypeVerify, MaxAttempts: verifyMaxAttempts, RunAfter: now, CreatedAt: now}
	if snap.StorageBackend == "local_fs" && snap.AgentID != "" { // an s3 snapshot: any capable agent
		job.TargetAgentID = &snap.AgentID
	}
	if err := EnqueueJob(ctx, db, job); err != nil {
		return nil, false, err
	}
	return job, true, nil
}

// RecordVerify stores a verify job's verdict on its snapshot.
func RecordVerify(ctx context.Context, db bun.IDB, tenantID, snapshotID, status string, report json.RawMessage,
	at time.Time) error {
	res, err := db.NewUpdate().Model((*Snapshot)(nil)).
		Set("verify_status = ?", status).Set("verify_report = ?", jsonArg(report)).
		Set("verified_at = ?", utcMicro(at)).
		Where("id = ?", snapshotID).Where("tenant_id = ?", tenantID).
		Exec(ctx)
	if err != nil {
		return mapErr("record verify result", err)
	}
	return requireRow(res, "record verify result")
}
