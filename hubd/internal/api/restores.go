package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/auth"
	"github.com/xvault/xvault/hubd/internal/keys"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// downloadTokenPrefix marks download tokens ("xvd_" + 256 random bits).
const downloadTokenPrefix = "xvd_"

const maxRestorePaths = 100

// restoreJobPayload is what a restore job stores; the hub turns it into an
// sdk.RestorePayload at claim time (with the settings of that moment).
type restoreJobPayload struct {
	RestoreID        string            `json:"restore_id"`
	Format           sdk.RestoreFormat `json:"format"`
	Paths            []string          `json:"paths,omitempty"`
	ExpiresInSeconds int64             `json:"expires_in_seconds,omitempty"` // 0 = the setting
	DownloadVia      sdk.DownloadVia   `json:"download_via,omitempty"`       // resolved at creation (the restore row has it too)

	Database *sdk.DatabaseRestoreOptions `json:"database,omitempty"` // format database
}

// POST /api/v1/snapshots/{id}/restore: a restores row and a restore job for
// the agent holding the snapshot. The download token is made here: its hash
// goes to the agent (in the claimed job), the token itself is kept sealed
// with the KEK so that GET /restores/{id} can show the link (docs/restore.md).
func (s *Server) createRestore(ctx context.Context, c *call) (int, any, error) {
	var req sdk.CreateRestoreRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	if req.IntoSourceID != "" || req.Format == sdk.RestoreDatabase {
		if req.DownloadVia != "" {
			return 0, nil, fieldError("download_via", "is for downloads, not for a restore into a database")
		}
		return s.createDatabaseRestore(ctx, c, &req)
	}
	if !isZeroOptions(&req.DatabaseRestoreOptions) {
		return 0, nil, fieldError("into_source_id", "is required with databases, as, create_database, replace, keep_owners or table_prefix")
	}
	set, err := s.downloadSettings(ctx, s.db)
	if err != nil {
		return 0, nil, err
	}
	p, err := checkRestoreRequest(&req, set)
	if err != nil {
		return 0, nil, err
	}
	var r *store.Restore
	var job *store.Job
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		snap, err := store.LockSnapshot(ctx, tx, c.tenantID, c.r.PathValue("id"))
		if err != nil {
			return notFoundAs(err, "snapshot")
		}
		if err := restorable(snap, req.Force); err != nil {
			return err
		}
		if _, err := snapshotChain(ctx, tx, snap); err != nil {
			return err
		}
		if p.DownloadVia, err = downloadVia(snap, req.DownloadVia); err != nil {
			return err
		}
		if r, job, err = s.insertRestore(ctx, tx, snap, p); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "restore.create", ObjectType: "restore",
			ObjectID: r.ID, Details: map[string]any{"snapshot_id": snap.ID, "job_id": job.ID, "format": p.Format,
				"paths": p.Paths, "download_via": p.DownloadVia}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "create restore")
	}
	s.cfg.Waker.Notify(ctx)
	return http.StatusCreated, s.restoreOut(r, job, ""), nil
}

// restorable refuses snapshots that are not completed, and those whose last
// verification found them corrupt unless force is given.
func restorable(snap *store.Snapshot, force bool) error {
	if snap.Status != string(sdk.SnapshotCompleted) {
		return sdk.Errorf(sdk.CodeConflict, "snapshot %s is %s; only completed snapshots can be restored", snap.ID, snap.Status)
	}
	if deref(snap.VerifyStatus) == store.VerifyCorrupt && !force {
		return sdk.Errorf(sdk.CodeConflict, "snapshot %s failed verification as corrupt (xv snapshot show %s); "+
			"restore it anyway with --force (force: true), or pick another snapshot", snap.ID, snap.ID)
	}
	return nil
}

// downloadVia resolves a request's download_via for snapshot snap: bucket
// by default for a snapshot kept in an S3 target, agent for local_fs, where
// there is no bucket to write to.
func downloadVia(snap *store.Snapshot, asked sdk.DownloadVia) (sdk.DownloadVia, error) {
	inBucket := snap.StorageBackend == sdk.StorageBackendS3
	switch {
	case asked == "" && inBucket:
		return sdk.DownloadViaBucket, nil
	case asked == "":
		return sdk.DownloadViaAgent, nil
	case asked == sdk.DownloadViaBucket && !inBucket:
		return "", fieldError("download_via", fmt.Sprintf("bucket needs a snapshot kept in an S3 storage target; "+
			"snapshot %s is kept on its agent (%s): use agent", snap.ID, snap.StorageBackend))
	}
	return asked, nil
}

func isZeroOptions(o *sdk.DatabaseRestoreOptions) bool {
	return len(o.Databases) == 0 && o.As == "" && !o.CreateDatabase && !o.Replace && !o.KeepOwners && o.TablePrefix == ""
}

// checkRestoreRequest validates a request against the settings.
func checkRestoreRequest(req *sdk.CreateRestoreRequest, set downloadSettings) (*restoreJobPayload, error) {
	f := validate.Fields{}
	p := &restoreJobPayload{Format: req.Format}
	switch p.Format {
	case "":
		p.Format = sdk.RestoreZip
	case sdk.RestoreZip, sdk.RestoreTarZst:
	default:
		f.Add("format", "must be zip or tar.zst")
	}
	if req.ExpiresIn != "" {
		d, err := time.ParseDuration(req.ExpiresIn)
		switch {
		case err != nil || d < time.Second:
			f.Add("expires_in", "must be a Go duration like 6h or 30m, at least 1s")
		case d > set.Expiration:
			f.Add("expires_in", fmt.Sprintf("must be at most %s (setting %s)", set.Expiration, sdk.SettingDownloadExpirationHours))
		default:
			p.ExpiresInSeconds = int64(d / time.Second)
		}
	}
	p.Paths = cleanRestorePaths(f, req.Paths)
	switch req.DownloadVia {
	case "", sdk.DownloadViaBucket, sdk.DownloadViaAgent:
	default:
		f.Add("download_via", "must be bucket or agent")
	}
	if len(f) > 0 {
		return nil, sdk.FieldErrors(f)
	}
	return p, nil
}

// cleanRestorePaths turns "/var/www/" into the entry name "var/www".
func cleanRestorePaths(f validate.Fields, in []string) []string {
	if len(in) > maxRestorePaths {
		f.Add("paths", fmt.Sprintf("must list at most %d paths", maxRestorePaths))
		return nil
	}
	var out []string
	for _, p := range in {
		clean := strings.TrimPrefix(path.Clean("/"+p), "/")
		dotdot := slices.Contains(strings.Split(p, "/"), "..")
		if strings.TrimSpace(p) == "" || clean == "" || dotdot || archive.ValidName(clean) != nil || len(p) > 4096 {
			f.Add("paths", fmt.Sprintf("%q is not a path inside the snapshot", p))
			continue
		}
		out = append(out, clean)
	}
	return out
}

// insertRestore makes the token, the restore row and its job.
func (s *Server) insertRestore(ctx context.Context, tx bun.IDB, snap *store.Snapshot, p *restoreJobPayload) (
	*store.Restore, *store.Job, error) {
	now := s.now()
	r := &store.Restore{ID: store.NewID(), TenantID: snap.TenantID, SnapshotID: snap.ID, Format: string(p.Format),
		DownloadVia: string(p.DownloadVia), Status: store.RestorePending, CreatedAt: now}
	token, hash, err := auth.NewSecret(downloadTokenPrefix)
	if err != nil {
		return nil, nil, err
	}
	sealed, kekID, err := s.cfg.Keys.Seal([]byte(token), keys.DownloadTokenAD(r.TenantID, r.ID))
	if err != nil {
		return nil, nil, wrapf(err, "seal download token")
	}
	r.DownloadTokenHash, r.TokenSealed, r.TokenKEKID = hash, sealed, &kekID
	if len(p.Paths) > 0 {
		r.Paths, _ = json.Marshal(p.Paths)
	}
	p.RestoreID = r.ID
	job, err := enqueueRestoreJob(ctx, tx, snap, snap.SourceID, p, now)
	if err != nil {
		return nil, nil, err
	}
	r.JobID = &job.ID
	if err := store.InsertRestore(ctx, tx, r); err != nil {
		return nil, nil, err
	}
	return r, job, nil
}

// enqueueRestoreJob enqueues the restore job of a snapshot on the agent
// holding it. sourceID is the job's source: the snapshot's own for a
// download, the target for a restore into a database (its connection and
// credentials are what the agent is given).
func enqueueRestoreJob(ctx context.Context, tx bun.IDB, snap *store.Snapshot, sourceID string, p *restoreJobPayload,
	now time.Time) (*store.Job, error) {
	payload, err := json.Marshal(p)
	if err != nil {
		return nil, wrapf(err, "encode restore job payload")
	}
	job := &store.Job{ID: store.NewID(), TenantID: snap.TenantID, SourceID: &sourceID, SnapshotID: &snap.ID,
		Type: store.JobTypeRestore, MaxAttempts: defaultMaxAttempts, Payload: payload, RunAfter: now, CreatedAt: now}
	if snap.StorageBackend == sdk.StorageLocalFS && snap.AgentID != "" {
		job.TargetAgentID = &snap.AgentID
	}
	return job, store.EnqueueJob(ctx, tx, job)
}

// GET /api/v1/restores[?snapshot_id=]
func (s *Server) listRestores(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	rows, next, err := store.ListRestores(ctx, s.db, c.tenantID, store.RestoreListParams{
		ListParams: lp, SnapshotID: c.r.URL.Query().Get("snapshot_id")})
	if err != nil {
		return 0, nil, wrapf(err, "list restores")
	}
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		if r.JobID != nil {
			ids = append(ids, *r.JobID)
		}
	}
	jobs, err := store.JobsByID(ctx, s.db, c.tenantID, ids)
	if err != nil {
		return 0, nil, wrapf(err, "list restores")
	}
	out := sdk.Page[sdk.Restore]{Items: make([]sdk.Restore, 0, len(rows)), NextCursor: next}
	for i := range rows {
		out.Items = append(out.Items, s.restoreOut(&rows[i], jobs[deref(rows[i].JobID)], s.openLink(&rows[i])))
	}
	return http.StatusOK, out, nil
}

// GET /api/v1/restores/{id}
func (s *Server) getRestore(ctx context.Context, c *call) (int, any, error) {
	r, err := store.GetRestore(ctx, s.db, c.tenantID, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "restore"), "get restore")
	}
	var job *store.Job
	if r.JobID != nil {
		if job, err = store.GetJob(ctx, s.db, c.tenantID, *r.JobID); err != nil {
			return 0, nil, wrapf(err, "get restore %s: load job", r.ID)
		}
	}
	return http.StatusOK, s.restoreOut(r, job, s.openLink(r)), nil
}

// openLink unseals the download link of a ready restore ("" otherwise):
// the presigned URL of a download_via bucket restore, or the agent's URL
// base plus the download token.
func (s *Server) openLink(r *store.Restore) string {
	if r.Status != store.RestoreReady {
		return ""
	}
	if r.DownloadVia == store.DownloadViaBucket {
		if len(r.URLSealed) == 0 || r.URLKEKID == nil {
			return ""
		}
		u, err := s.cfg.Keys.Open(r.URLSealed, keys.DownloadURLAD(r.TenantID, r.ID), *r.URLKEKID)
		if err != nil {
			s.cfg.Log.Error("open download url", "restore_id", r.ID, "tenant_id", r.TenantID, "err", err)
			return ""
		}
		return string(u)
	}
	if len(r.TokenSealed) == 0 || r.TokenKEKID == nil || r.DownloadURL == nil {
		return ""
	}
	tok, err := s.cfg.Keys.Open(r.TokenSealed, keys.DownloadTokenAD(r.TenantID, r.ID), *r.TokenKEKID)
	if err != nil {
		s.cfg.Log.Error("open download token", "restore_id", r.ID, "tenant_id", r.TenantID, "err", err)
		return ""
	}
	return strings.TrimRight(*r.DownloadURL, "/") + "/download/" + string(tok)
}

// restoreOut shows a restore. Its status follows its job (a job the lease
// rescuer failed fails the restore) and the clock (a ready restore past
// its expiry is expired, without a link). link is openLink's.
func (s *Server) restoreOut(r *store.Restore, job *store.Job, link string) sdk.Restore {
	out := sdk.Restore{ID: r.ID, TenantID: r.TenantID, SnapshotID: r.SnapshotID, JobID: deref(r.JobID),
		Format: sdk.RestoreFormat(r.Format), Status: sdk.RestoreStatus(r.Status), SizeBytes: r.SizeBytes,
		ExpiresAt: r.ExpiresAt, ErrorMessage: deref(r.ErrorMessage), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if len(r.Paths) > 0 {
		_ = json.Unmarshal(r.Paths, &out.Paths)
	}
	if r.Format != string(sdk.RestoreDatabase) {
		out.DownloadVia = sdk.DownloadVia(r.DownloadVia)
	} else {
		out.IntoSourceID = deref(r.IntoSourceID)
		if len(r.Options) > 0 {
			out.Options = new(sdk.DatabaseRestoreOptions)
			_ = json.Unmarshal(r.Options, out.Options)
		}
		if len(r.Report) > 0 {
			_ = json.Unmarshal(r.Report, &out.Databases)
		}
	}
	if job != nil && !out.Status.Ended() {
		switch job.Status {
		case store.JobFailed, store.JobCanceled:
			out.Status, out.ErrorMessage = sdk.RestoreFailed, deref(job.ErrorMessage)
			if out.ErrorMessage == "" {
				out.ErrorMessage = "restore job " + job.Status
			}
		case store.JobRunning, store.JobFinalizing:
			out.Status = sdk.RestoreRunning
		}
	}
	if out.Status == sdk.RestoreReady && r.ExpiresAt != nil && !s.now().Before(*r.ExpiresAt) {
		out.Status = sdk.RestoreExpired
	}
	if out.Status == sdk.RestoreReady {
		out.DownloadURL = link
	}
	return out
}
