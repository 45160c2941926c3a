package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/sdk"
)

// The rows as the REST API shows them. The API encodes these, and the event
// log records the very same JSON as event data (docs/api.md "Events"), so
// the conversions live here, next to the rows, where both can reach them.

// JobView is a job as the REST API shows it.
func JobView(j *Job) sdk.Job {
	out := sdk.Job{
		ID: j.ID, TenantID: j.TenantID, SourceID: derefStr(j.SourceID), Type: sdk.JobType(j.Type),
		Status: sdk.JobStatus(j.Status), Attempt: j.Attempt, MaxAttempts: j.MaxAttempts, AgentID: derefStr(j.AgentID),
		TargetAgentID: derefStr(j.TargetAgentID), SnapshotID: derefStr(j.SnapshotID), ErrorMessage: derefStr(j.ErrorMessage),
		CancelRequested: j.CancelRequested, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt,
		StorageTargetID: derefStr(j.StorageTargetID),
	}
	if !j.RunAfter.IsZero() && sdk.JobStatus(j.Status) == sdk.JobQueued {
		ra := j.RunAfter
		out.RunAfter = &ra
	}
	if p := rawOrNil(j.Progress); p != nil {
		var prog sdk.Progress
		if json.Unmarshal(p, &prog) == nil {
			out.Progress = &prog
		}
	}
	if r := rawOrNil(j.Result); r != nil {
		switch j.Type {
		case JobTypeTestConnection:
			var rep sdk.TestReport
			if json.Unmarshal(r, &rep) == nil {
				out.Test = &rep
			}
		case JobTypeVerify:
			var rep sdk.VerifyReport
			if json.Unmarshal(r, &rep) == nil {
				out.Verify = &rep
			}
		case JobTypeCopy:
			var rep sdk.CopyReport
			if json.Unmarshal(r, &rep) == nil {
				out.Copy = &rep
			}
		}
	}
	if w := rawOrNil(j.Warnings); w != nil {
		_ = json.Unmarshal(w, &out.Warnings) // malformed warnings are dropped, not fatal
	}
	return out
}

// SnapshotView is a snapshot as the REST API shows it.
func SnapshotView(s *Snapshot) sdk.Snapshot {
	out := sdk.Snapshot{
		ID: s.ID, TenantID: s.TenantID, SourceID: s.SourceID, JobID: s.JobID, Status: sdk.SnapshotStatus(s.Status),
		SizeBytes: s.SizeBytes, PlainBytes: s.PlainBytes, SHA256: s.SHA256, FileCount: s.FileCount,
		StorageBackend: s.StorageBackend, AgentID: s.AgentID, LocalPath: s.LocalPath, Recipient: s.Recipient,
		Manifest: rawOrNil(s.ManifestJSON), StartedAt: s.StartedAt, FinishedAt: s.FinishedAt, CreatedAt: s.CreatedAt,
		VerifiedAt: s.VerifiedAt, VerifyStatus: sdk.VerifyStatus(derefStr(s.VerifyStatus)),
		StorageTargetID: derefStr(s.StorageTargetID),
		Kind:            sdk.SnapshotFull, ParentSnapshotID: derefStr(s.ParentSnapshotID),
		ChainLength: s.ChainPosition + 1, ChainBytes: s.ChainBytes,
	}
	if s.Kind == KindIncremental {
		out.Kind = sdk.SnapshotIncremental
	}
	if r := rawOrNil(s.VerifyReport); r != nil {
		var rep sdk.VerifyReport
		if json.Unmarshal(r, &rep) == nil {
			out.VerifyReport = &rep
		}
	}
	return out
}

// jobEvent records a job.* event for j (in the caller's transaction). A
// job that ended failed also gets job.failed after its job.updated.
func jobEvent(ctx context.Context, db bun.IDB, typ string, j *Job, now time.Time) error {
	if err := addObjectEvent(ctx, db, typ, j.TenantID, j.ID, JobView(j), now); err != nil {
		return err
	}
	if typ == sdk.EventJobUpdated && j.Status == JobFailed {
		return addObjectEvent(ctx, db, sdk.EventJobFailed, j.TenantID, j.ID, JobView(j), now)
	}
	return nil
}

// SnapshotEvent records a snapshot.* event for s (in the caller's transaction).
func SnapshotEvent(ctx context.Context, db bun.IDB, typ string, s *Snapshot, now time.Time) error {
	return addObjectEvent(ctx, db, typ, s.TenantID, s.ID, SnapshotView(s), now)
}

func addObjectEvent(ctx context.Context, db bun.IDB, typ, tenantID, objectID string, data any, now time.Time) error {
	e := &Event{TenantID: &tenantID, Type: typ, ObjectID: objectID, CreatedAt: now}
	return AddEvent(ctx, db, e, data)
}

func derefStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// rawOrNil drops empty and null JSON values so they are omitted.
func rawOrNil(b json.RawMessage) json.RawMessage {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return b
}
