package api

import (
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

const (
	maxErrorMessage = 4096
	maxWarnings     = 1000
)

// completeParams checks a completion and turns it into store parameters.
func (s *Server) completeParams(c *call, req *sdk.CompleteRequest) (*store.CompleteParams, error) {
	f := validate.Fields{}
	switch req.Status {
	case sdk.JobCompleted, sdk.JobFailed, sdk.JobCanceled:
	default:
		f.Add("status", "must be completed, failed or canceled")
	}
	if len(req.ErrorMessage) > maxErrorMessage {
		f.Add("error_message", "must be at most 4096 bytes")
	}
	if len(req.Warnings) > maxWarnings {
		f.Add("warnings", "must list at most 1000 warnings")
	}
	if req.Snapshot != nil && req.Status != sdk.JobCompleted {
		f.Add("snapshot", "is only for completed jobs")
	}
	if r := req.Restore; r != nil && req.Status != sdk.JobCompleted &&
		(len(r.Databases) == 0 || r.SizeBytes != 0 || r.URLBase != "" || r.FileName != "" || r.DownloadURL != "") {
		f.Add("restore", "is only for completed jobs (a failed database restore may report its databases)")
	}
	if r := req.Restore; r != nil && len(r.DownloadURL) > maxDownloadURL {
		f.Add("restore.download_url", "must be at most 8192 bytes")
	}
	if r := req.Restore; r != nil && len(r.Databases) > maxVerifyDatabases {
		f.Add("restore.databases", "must list at most 1000 databases")
	}
	if req.Test != nil && req.Status != sdk.JobCompleted {
		f.Add("test", "is only for completed jobs")
	}
	if req.Verify != nil {
		if req.Status != sdk.JobCompleted {
			f.Add("verify", "is only for completed jobs")
		}
		checkVerifyReport(f, req.Verify)
	}
	if req.Copy != nil {
		if req.Status != sdk.JobCompleted {
			f.Add("copy", "is only for completed jobs")
		}
		if len(req.Copy.Links) > store.MaxChainLinks {
			f.Add("copy.links", "must list at most 64 snapshots")
		}
	}
	var snap *store.Snapshot
	if req.Snapshot != nil {
		snap = snapshotIn(f, req.Snapshot)
	}
	if len(f) > 0 {
		return nil, sdk.FieldErrors(f)
	}
	p := &store.CompleteParams{JobID: c.r.PathValue("id"), AgentID: c.caller.AgentID, Epoch: req.LeaseEpoch,
		Now: s.now(), Status: string(req.Status), ErrorMessage: req.ErrorMessage, Permanent: req.Permanent,
		Snapshot: snap, Backoff: s.cfg.Backoff}
	if req.Snapshot != nil {
		p.FullReason = req.Snapshot.FullReason
	}
	if req.Warnings != nil {
		p.Warnings, _ = json.Marshal(req.Warnings)
	}
	if req.Progress != nil {
		p.Progress, _ = json.Marshal(req.Progress)
	}
	switch {
	case req.Test != nil:
		p.Result, _ = json.Marshal(req.Test)
	case req.Verify != nil:
		p.Result, _ = json.Marshal(req.Verify)
	case req.Copy != nil:
		p.Result, _ = json.Marshal(req.Copy)
	}
	return p, nil
}

// snapshotIn checks an agent's snapshot report and makes the row to insert;
// the store fills in its id, tenant, source, job and agent from the job.
func snapshotIn(f validate.Fields, r *sdk.SnapshotReport) *store.Snapshot {
	if b, err := hex.DecodeString(r.SHA256); err != nil || len(b) != 32 || strings.ToLower(r.SHA256) != r.SHA256 {
		f.Add("snapshot.sha256", "must be 64 lowercase hex characters")
	}
	if r.SizeBytes < 0 || r.PlainBytes < 0 || r.FileCount < 0 {
		f.Add("snapshot", "sizes and file_count must not be negative")
	}
	if r.LocalPath == "" || len(r.LocalPath) > 4096 || strings.ContainsRune(r.LocalPath, 0) {
		f.Add("snapshot.local_path", "is required (at most 4096 bytes, no NUL)")
	}
	s := &store.Snapshot{Status: string(sdk.SnapshotCompleted), SizeBytes: r.SizeBytes, PlainBytes: r.PlainBytes,
		FileCount: r.FileCount, SHA256: r.SHA256, ManifestJSON: rawOrNil(r.Manifest),
		StorageBackend: sdk.StorageLocalFS, LocalPath: r.LocalPath}
	chainIn(f, r, s)
	if r.StorageTargetID != "" {
		if len(r.StorageTargetID) > 100 || strings.ContainsRune(r.StorageTargetID, 0) {
			f.Add("snapshot.storage_target_id", "must be a storage target id (at most 100 characters)")
		}
		// The store checks the tenant may use the target (checkSnapshotStorage).
		s.StorageBackend, s.StorageTargetID = sdk.StorageBackendS3, &r.StorageTargetID
	}
	if !r.StartedAt.IsZero() {
		started := r.StartedAt.UTC()
		s.StartedAt = &started
	}
	if !r.FinishedAt.IsZero() {
		finished := r.FinishedAt.UTC()
		s.FinishedAt = &finished
		if s.StartedAt != nil {
			s.DurationMS = finished.Sub(*s.StartedAt).Milliseconds()
		}
	}
	return s
}

// chainIn checks the chain fields of a snapshot report (docs/incremental.md
// section 4) and copies them onto the row; completion then checks the
// parent against the claim's plan.
func chainIn(f validate.Fields, r *sdk.SnapshotReport, s *store.Snapshot) {
	switch r.Kind {
	case "", sdk.SnapshotFull:
		s.Kind = store.KindFull
		if r.ParentSnapshotID != "" {
			f.Add("snapshot.parent_snapshot_id", "is only for incremental snapshots")
		}
	case sdk.SnapshotIncremental:
		s.Kind = store.KindIncremental
		if r.ParentSnapshotID == "" || len(r.ParentSnapshotID) > 100 {
			f.Add("snapshot.parent_snapshot_id", "is required for an incremental snapshot (at most 100 characters)")
		}
		s.ParentSnapshotID = &r.ParentSnapshotID
	default:
		f.Add("snapshot.kind", "must be full or incremental")
	}
	if r.ConfigHash != "" {
		if b, err := hex.DecodeString(r.ConfigHash); err != nil || len(b) != 32 || strings.ToLower(r.ConfigHash) != r.ConfigHash {
			f.Add("snapshot.config_hash", "must be 64 lowercase hex characters")
		}
		s.ConfigHash = &r.ConfigHash
	} else if s.Kind == store.KindIncremental {
		f.Add("snapshot.config_hash", "is required for an incremental snapshot")
	}
	if len(r.FullReason) > maxErrorMessage {
		f.Add("snapshot.full_reason", "must be at most 4096 bytes")
	}
}
