package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/sdk"
)

type CompleteParams struct {
	JobID, AgentID string
	Epoch          int64
	Now            time.Time
	Status         string // completed, failed, canceled
	ErrorMessage   string
	Permanent      bool // failed: do not retry even if attempts remain
	Warnings       []byte
	Progress       []byte
	Result         []byte    // a test_connection report (JSON), or nil
	Snapshot       *Snapshot // backup jobs that completed; inserted in the same tx
	// FullReason: why the agent made a full where the claim planned an
	// incremental (SnapshotReport.full_reason); recorded as a warning, as is
	// the claim's own reason for a full.
	FullReason string
	Backoff    func(attempt int) time.Duration
}

// CompleteJob ends a job fenced by (agent, epoch). Idempotent: completing a
// job that already ended with this epoch returns it (and its snapshot) again.
// A failed, non-permanent job with attempts left is re-queued (run_after =
// now + Backoff(attempt)) instead of failed. A stale epoch is ErrConflict.
//
// It must run inside RunInTx (db is the tx): it locks the job row, then
// updates it and inserts the snapshot, relying on UNIQUE(snapshots.job_id).
//
// Details: for a completed backup, p.Snapshot is inserted with ID = the
// job's preassigned snapshot id (when empty), tenant, source, job and agent
// filled in from the job; on an idempotent repeat *p.Snapshot is overwritten
// with the stored row. A completed delete_snapshot job deletes the snapshot
// record it targeted. A failed job whose cancel was requested ends canceled.
// An unknown status is ErrInvalidArgument; an unknown job ErrNotFound.
//
// Events, in the same transaction: job.updated (and job.failed when it ended
// failed), snapshot.created for the new snapshot, snapshot.deleted for the
// record a delete job removed. An idempotent repeat records nothing.
func CompleteJob(ctx context.Context, db bun.IDB, p CompleteParams) (*Job, error) {
	switch p.Status {
	case JobCompleted, JobFailed, JobCanceled:
	default:
		return nil, fmt.Errorf("complete job: %w: status %q", ErrInvalidArgument, p.Status)
	}
	now := nowOr(p.Now)
	j, err := lockJob(ctx, db, p.JobID)
	if err != nil {
		return nil, err
	}
	holder := j.AgentID != nil && *j.AgentID == p.AgentID
	switch {
	case j.LeaseEpoch != p.Epoch:
		return nil, fmt.Errorf("complete job %s: %w: lease is stale", p.JobID, ErrConflict)
	case holder && (j.Status == JobRunning || j.Status == JobFinalizing):
		return finishJob(ctx, db, j, p, now)
	case holder && isTerminal(j.Status):
		return j, loadStoredSnapshot(ctx, db, j, p.Snapshot)
	case j.AgentID == nil && j.Status == JobQueued && p.Status == JobFailed:
		// This epoch's failure already re-queued the job (a retried call).
		return j, nil
	}
	return nil, fmt.Errorf("complete job %s: %w: lease is stale", p.JobID, ErrConflict)
}

func isTerminal(status string) bool {
	return status == JobCompleted || status == JobFailed || status == JobCanceled
}

// lockJob reads a job, row-locked until the end of the transaction on
// PostgreSQL (SQLite transactions hold the single write lock already).
func lockJob(ctx context.Context, db bun.IDB, id string) (*Job, error) {
	j := new(Job)
	q := db.NewSelect().Model(j).Where("id = ?", id)
	if isPostgres(db) {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, mapErr("complete job: load job", err)
	}
	return j, nil
}

func loadStoredSnapshot(ctx context.Context, db bun.IDB, j *Job, dst *Snapshot) error {
	if dst == nil || j.Type != JobTypeBackup || j.Status != JobCompleted {
		return nil
	}
	s, err := SnapshotByJob(ctx, db, j.ID)
	if err != nil {
		return fmt.Errorf("complete job: %w", err)
	}
	*dst = *s
	return nil
}

// finishJob applies the completion to a job held by the caller.
func finishJob(ctx context.Context, db bun.IDB, j *Job, p CompleteParams, now time.Time) (*Job, error) {
	if err := checkBackupReport(ctx, db, j, &p); err != nil {
		return nil, err
	}
	copied := checkCopyReport(j, &p)
	var q *bun.UpdateQuery
	var deleted *Snapshot
	switch p.Status {
	case JobFailed:
		q = endAttempt(db, j, now, p.ErrorMessage, p.Permanent, p.Backoff)
	case JobCanceled:
		q = db.NewUpdate().Model((*Job)(nil)).
			Set("status = ?", JobCanceled).Set("finished_at = ?", now).
			Set("lease_expires_at = NULL").Set("updated_at = ?", now)
		if p.ErrorMessage != "" {
			q = q.Set("error_message = ?", p.ErrorMessage)
		}
	default:
		var err error
		if deleted, err = recordResult(ctx, db, j, p, now); err != nil {
			return nil, err
		}
		if copied != nil {
			if err := recordCopy(ctx, db, j, copied, p.AgentID); err != nil {
				return nil, err
			}
		}
		q = db.NewUpdate().Model((*Job)(nil)).
			Set("status = ?", JobCompleted).Set("finished_at = ?", now).
			Set("lease_expires_at = NULL").Set("updated_at = ?", now).
			Set("error_message = NULL")
	}
	q = q.Set("progress = COALESCE(?, progress)", jsonArg(p.Progress)).
		Set("warnings = COALESCE(?, warnings)", jsonArg(p.Warnings)).
		Set("result = COALESCE(?, result)", jsonArg(p.Result))
	out := new(Job)
	if err := fenced(q, j.ID, p.AgentID, p.Epoch).Returning("*").Scan(ctx, out); err != nil {
		return nil, mapErr("complete job "+j.ID, err)
	}
	if err := jobEvent(ctx, db, sdk.EventJobUpdated, out, now); err != nil {
		return nil, err
	}
	switch {
	case j.Type == JobTypeBackup && out.Status == JobCompleted && p.Snapshot != nil:
		return out, SnapshotEvent(ctx, db, sdk.EventSnapshotCreated, p.Snapshot, now)
	case deleted != nil:
		return out, SnapshotEvent(ctx, db, sdk.EventSnapshotDeleted, deleted, now)
	}
	return out, nil
}

// checkBackupReport links a completed backup's snapshot into its chain
// (linkSnapshot) and adds the full reason (the agent's, else the claim's)
// to the job's warnings. A report completion cannot record fails the job,
// permanently, with the problem as its error.
func checkBackupReport(ctx context.Context, db bun.IDB, j *Job, p *CompleteParams) error {
	if j.Type != JobTypeBackup || p.Status != JobCompleted || p.Snapshot == nil {
		return nil
	}
	problem, err := linkSnapshot(ctx, db, j, p.Snapshot)
	if err != nil {
		return err
	}
	if problem == "" {
		if problem, err = checkSnapshotStorage(ctx, db, j, p.Snapshot); err != nil {
			return err
		}
	}
	if problem != "" {
		p.Status, p.ErrorMessage, p.Permanent, p.Snapshot = JobFailed, problem, true, nil
		return nil
	}
	reason := p.FullReason
	if reason == "" && p.Snapshot.Kind == KindFull {
		reason = DecodeBackupPlan(j.BackupPlan).FullReason
	}
	if reason != "" {
		p.Warnings = appendWarning(p.Warnings, "incremental: made a full backup: "+reason)
	}
	return nil
}

// appendWarning adds one warning to a JSON list of warnings (nil = none).
func appendWarning(raw []byte, w string) []byte {
	var list []string
	if len(raw) > 0 && json.Unmarshal(raw, &list) != nil {
		return raw // not a list: leave it as it came
	}
	if slices.Contains(list, w) || slices.ContainsFunc(list, func(s string) bool { return strings.HasSuffix(s, w) }) {
		return raw
	}
	b, err := json.Marshal(append(list, w))
	if err != nil {
		return raw
	}
	return b
}

// recordResult writes what a completed job produced: the snapshot row of a
// backup, the removal of the snapshot row of a delete_snapshot job (then
// it returns the snapshot as it was, for snapshot.deleted).
func recordResult(ctx context.Context, db bun.IDB, j *Job, p CompleteParams, now time.Time) (*Snapshot, error) {
	switch {
	case j.Type == JobTypeBackup && p.Snapshot != nil:
		return nil, insertJobSnapshot(ctx, db, j, p.Snapshot, p.AgentID, now)
	case j.Type == JobTypeDeleteSnapshot && j.SnapshotID != nil:
		return deleteJobSnapshot(ctx, db, j)
	}
	return nil, nil
}

// deleteJobSnapshot removes the snapshot record a delete_snapshot job
// targeted and returns it as it was (nil when it was already gone).
func deleteJobSnapshot(ctx context.Context, db bun.IDB, j *Job) (*Snapshot, error) {
	snap, err := GetSnapshot(ctx, db, j.TenantID, *j.SnapshotID)
	if isNotFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("complete delete job %s: %w", j.ID, err)
	}
	err = DeleteSnapshot(ctx, db, j.TenantID, snap.ID)
	if isNotFound(err) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("complete delete job %s: %w", j.ID, err)
	}
	return snap, nil
}

func insertJobSnapshot(ctx context.Context, db bun.IDB, j *Job, s *Snapshot, agentID string, now time.Time) error {
	if s.ID == "" && j.SnapshotID != nil {
		s.ID = *j.SnapshotID
	}
	if s.ID == "" {
		s.ID = NewID()
	}
	s.TenantID, s.JobID = j.TenantID, j.ID
	if j.SourceID != nil {
		s.SourceID = *j.SourceID
	}
	if s.AgentID == "" {
		s.AgentID = agentID
	}
	if s.Status == "" {
		s.Status = "completed"
	}
	if s.StorageBackend == "" {
		s.StorageBackend = "local_fs"
	}
	if s.EncryptionAlgorithm == "" {
		s.EncryptionAlgorithm = "age"
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = now // the completion's clock (tests fix it)
	}
	if s.FinishedAt == nil {
		s.FinishedAt = &now
	}
	if _, err := db.NewInsert().Model(s).Exec(ctx); err != nil {
		return mapErr("complete job: record snapshot", err)
	}
	return nil
}
