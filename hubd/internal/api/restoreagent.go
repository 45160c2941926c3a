package api

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/keys"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// restorePayload is the claimed restore job's payload: the stored request
// plus what the agent needs to check and publish it, with the settings of
// this moment. It also marks the restore running. A restore that vanished
// (its snapshot was deleted) yields an empty payload, which the agent fails.
func (s *Server) restorePayload(ctx context.Context, j *store.Job) (json.RawMessage, error) {
	var p restoreJobPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.RestoreID == "" {
		return nil, nil
	}
	r, err := store.GetRestore(ctx, s.db, j.TenantID, p.RestoreID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, wrapf(err, "claimed restore job %s: load restore", j.ID)
	}
	snap, err := store.GetSnapshot(ctx, s.db, j.TenantID, r.SnapshotID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, wrapf(err, "claimed restore job %s: load snapshot", j.ID)
	}
	chain, err := store.SnapshotChain(ctx, s.db, snap)
	if errors.As(err, new(*store.ChainConflict)) {
		return nil, nil // a member went away meanwhile: the agent fails the empty payload
	} else if err != nil {
		return nil, wrapf(err, "claimed restore job %s: load chain", j.ID)
	}
	out, err := s.restorePayloadFor(ctx, &p, r, snap)
	if err != nil {
		return nil, err
	}
	out.Chain = store.ChainLinks(chain)
	if err := store.UpdateRestore(ctx, s.db, store.RestoreUpdate{ID: r.ID, Status: store.RestoreRunning, Now: s.now()}); err != nil {
		return nil, wrapf(err, "claimed restore job %s: mark running", j.ID)
	}
	b, err := json.Marshal(out)
	return b, wrapf(err, "encode restore payload")
}

// restorePayloadFor is what the agent gets for one restore: a database
// restore's options, or a download's token hash, expiry and size limit.
func (s *Server) restorePayloadFor(ctx context.Context, p *restoreJobPayload, r *store.Restore, snap *store.Snapshot) (
	*sdk.RestorePayload, error) {
	if p.Format == sdk.RestoreDatabase {
		return &sdk.RestorePayload{RestoreID: r.ID, Format: p.Format, SnapshotSHA256: snap.SHA256,
			PlainBytes: snap.PlainBytes, Database: p.Database, SnapshotSourceID: snap.SourceID}, nil
	}
	set, err := s.downloadSettings(ctx, s.db)
	if err != nil {
		return nil, err
	}
	life := set.Expiration
	if d := time.Duration(p.ExpiresInSeconds) * time.Second; d > 0 && d < life {
		life = d
	}
	out := sdk.RestorePayload{RestoreID: r.ID, Format: p.Format, Paths: p.Paths, SnapshotSHA256: snap.SHA256,
		PlainBytes: snap.PlainBytes, TokenSHA256: hex.EncodeToString(r.DownloadTokenHash),
		ExpiresInSeconds: int64(life / time.Second), MaxBytes: set.MaxBytes, DownloadVia: sdk.DownloadVia(r.DownloadVia)}
	return &out, nil
}

// recordRestoreEnd mirrors a restore job's end on its restore, in the
// completion's transaction: ready with size, link base and expiry; failed
// with the job's error; pending again when the job was re-queued.
func (s *Server) recordRestoreEnd(ctx context.Context, tx bun.IDB, job *store.Job, rep *sdk.RestoreReport) error {
	r, err := store.RestoreByJob(ctx, tx, job.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	u := store.RestoreUpdate{ID: r.ID, Now: s.now(), ErrorMessage: job.ErrorMessage}
	if r.Format == string(sdk.RestoreDatabase) {
		return s.recordDatabaseRestoreEnd(ctx, tx, job, u, rep)
	}
	switch job.Status {
	case store.JobCompleted:
		if rep == nil {
			return fieldError("restore", "is required when a restore completes")
		}
		if err := checkRestoreReport(rep, r.DownloadVia == store.DownloadViaBucket); err != nil {
			return err
		}
		exp := rep.ExpiresAt.UTC()
		u.Status, u.SizeBytes, u.ExpiresAt, u.ErrorMessage = store.RestoreReady, &rep.SizeBytes, &exp, ptr("")
		if err := s.setRestoreLink(&u, r, rep); err != nil {
			return err
		}
	case store.JobFailed, store.JobCanceled:
		u.Status = store.RestoreFailed
		if u.ErrorMessage == nil {
			u.ErrorMessage = ptr("restore job " + job.Status)
		}
	default:
		u.Status = store.RestorePending
	}
	return store.UpdateRestore(ctx, tx, u)
}

// recordDatabaseRestoreEnd: a database restore is ready (loaded) with one
// result per database, failed with the results up to the failing one.
func (s *Server) recordDatabaseRestoreEnd(ctx context.Context, tx bun.IDB, job *store.Job, u store.RestoreUpdate,
	rep *sdk.RestoreReport) error {
	if rep != nil && len(rep.Databases) > 0 {
		b, err := json.Marshal(rep.Databases)
		if err != nil {
			return wrapf(err, "encode database restore results")
		}
		u.Report = b
	}
	switch job.Status {
	case store.JobCompleted:
		if rep == nil || len(rep.Databases) == 0 {
			return fieldError("restore.databases", "is required when a database restore completes")
		}
		u.Status, u.ErrorMessage = store.RestoreReady, ptr("")
	case store.JobFailed, store.JobCanceled:
		u.Status = store.RestoreFailed
		if u.ErrorMessage == nil {
			u.ErrorMessage = ptr("restore job " + job.Status)
		}
	default:
		u.Status = store.RestorePending
	}
	return store.UpdateRestore(ctx, tx, u)
}

// maxDownloadURL bounds a presigned URL (a SigV4 GET URL with a session
// token stays well below it).
const maxDownloadURL = 8192

// setRestoreLink records where a ready restore is downloaded: the agent's
// URL base, or, for download_via bucket, the presigned URL sealed with the
// KEK (the URL is a bearer secret: it is never stored nor logged in clear).
func (s *Server) setRestoreLink(u *store.RestoreUpdate, r *store.Restore, rep *sdk.RestoreReport) error {
	if r.DownloadVia != store.DownloadViaBucket {
		u.URLBase = &rep.URLBase
		return nil
	}
	sealed, kekID, err := s.cfg.Keys.Seal([]byte(rep.DownloadURL), keys.DownloadURLAD(r.TenantID, r.ID))
	if err != nil {
		return wrapf(err, "seal download url of restore %s", r.ID)
	}
	u.URLSealed, u.URLKEKID = sealed, &kekID
	return nil
}

// checkRestoreReport checks a completed download restore's report: a URL
// base from the agent's download server, or (bucket) a full presigned URL
// and no URL base.
func checkRestoreReport(rep *sdk.RestoreReport, bucket bool) error {
	switch {
	case bucket && rep.URLBase != "":
		return fieldError("restore.url_base", "must be empty for a download_via bucket restore")
	case bucket && !httpURL(rep.DownloadURL, maxDownloadURL):
		return fieldError("restore.download_url", "must be an http(s) URL of at most 8192 bytes (the presigned GET URL)")
	case !bucket && rep.DownloadURL != "":
		return fieldError("restore.download_url", "is only for download_via bucket restores")
	case !bucket && !httpURL(rep.URLBase, 2048):
		return fieldError("restore.url_base", "must be an http(s) URL")
	case rep.SizeBytes < 0:
		return fieldError("restore.size_bytes", "must not be negative")
	case rep.ExpiresAt.IsZero():
		return fieldError("restore.expires_at", "is required")
	}
	return nil
}

// httpURL reports whether s is an absolute http(s) URL with a host, at most max bytes.
func httpURL(s string, max int) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && len(s) <= max
}

// POST /api/v1/agent/jobs/{id}/tenant-identity: the tenant's age identity
// for the live lease of a restore job only, encrypted to the agent's own
// recipient. Audited; the agent keeps it in memory only.
func (s *Server) releaseTenantIdentity(ctx context.Context, c *call) (int, any, error) {
	var req sdk.LeaseRef
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	var out sdk.TenantIdentityRelease
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		job, err := store.JobForLease(ctx, tx, c.r.PathValue("id"), c.caller.AgentID, req.LeaseEpoch, s.now())
		if err != nil {
			return staleLease(err)
		}
		if (job.Type != store.JobTypeRestore && job.Type != store.JobTypeVerify) || job.SnapshotID == nil {
			return sdk.Errorf(sdk.CodePermissionDenied, "the tenant identity is released for restore and verify jobs only")
		}
		key, err := s.snapshotKey(ctx, tx, job)
		if err != nil {
			return err
		}
		if out.Ciphertext, err = s.sealIdentityForAgent(ctx, tx, c.caller.AgentID, key); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: job.TenantID, Action: "tenant_key.release",
			ObjectType: "tenant_key", ObjectID: key.ID,
			Details: map[string]any{"job_id": job.ID, "lease_epoch": job.LeaseEpoch, "snapshot_id": *job.SnapshotID}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "release tenant identity")
	}
	return http.StatusOK, out, nil
}

// snapshotKey is the tenant key the job's snapshot was encrypted to.
func (s *Server) snapshotKey(ctx context.Context, tx bun.IDB, job *store.Job) (*store.TenantKey, error) {
	snap, err := store.GetSnapshot(ctx, tx, job.TenantID, *job.SnapshotID)
	if err != nil {
		return nil, wrapf(notFoundAs(err, "snapshot"), "load snapshot of job %s", job.ID)
	}
	if snap.Recipient != "" {
		key, err := store.TenantKeyByRecipient(ctx, tx, job.TenantID, snap.Recipient)
		if err == nil {
			return key, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	key, err := store.ActiveTenantKey(ctx, tx, job.TenantID)
	return key, wrapf(err, "load key of tenant %s", job.TenantID)
}

func (s *Server) sealIdentityForAgent(ctx context.Context, tx bun.IDB, agentID string, key *store.TenantKey) (string, error) {
	agent, err := store.GetAgent(ctx, tx, agentID)
	if err != nil {
		return "", wrapf(err, "load agent %s", agentID)
	}
	plain, err := s.cfg.Keys.Open(key.EncryptedPrivateKey, keys.TenantKeyAD(key.TenantID), key.KEKID)
	if err != nil {
		return "", wrapf(err, "open key %s of tenant %s", key.ID, key.TenantID)
	}
	defer clear(plain)
	armored, err := keys.EncryptToRecipient(agent.PublicKey, plain)
	return armored, wrapf(err, "encrypt tenant key %s to agent %s", key.ID, agentID)
}

// POST /api/v1/agent/restores/{id}/downloads: the agent that published a
// restore reports one download; it becomes an audit event of the restore's
// tenant, with the downloader's address. Another agent's restore is 404.
func (s *Server) reportDownload(ctx context.Context, c *call) (int, any, error) {
	var req sdk.DownloadReport
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	if req.Bytes < 0 || len(req.RemoteAddr) > 256 || len(req.Range) > 1024 || req.Status < 100 || req.Status > 599 {
		return 0, nil, fieldError("bytes", "bytes >= 0, remote_addr <= 256 bytes, range <= 1024 bytes, status 100-599")
	}
	r, err := store.RestoreByID(ctx, s.db, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "restore"), "report download")
	}
	snap, err := store.GetSnapshot(ctx, s.db, r.TenantID, r.SnapshotID)
	if err != nil || snap.AgentID != c.caller.AgentID {
		return 0, nil, sdk.Errorf(sdk.CodeNotFound, "restore not found")
	}
	details, _ := json.Marshal(map[string]any{"bytes": req.Bytes, "status": req.Status, "range": req.Range,
		"agent_id": c.caller.AgentID, "snapshot_id": r.SnapshotID})
	ev := &store.AuditEvent{ID: store.NewID(), TenantID: &r.TenantID, ActorKind: string(c.caller.Kind),
		ActorID: c.caller.ActorID(), Action: "restore.download", ObjectType: "restore", ObjectID: &r.ID,
		Details: details, RemoteAddr: req.RemoteAddr, CreatedAt: s.now()}
	if err := store.InsertAudit(ctx, s.db, ev); err != nil {
		return 0, nil, wrapf(err, "report download")
	}
	return http.StatusNoContent, nil, nil
}
