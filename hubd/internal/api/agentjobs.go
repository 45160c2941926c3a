package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/keys"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// staleLease is the answer to any call about a job whose lease the agent
// no longer holds with this epoch.
func staleLease(err error) error {
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return sdk.Errorf(sdk.CodeConflict,
			"lease is stale: the job was re-queued, canceled or ended; abort it and delete its partial output")
	}
	return err
}

// POST /api/v1/agent/jobs/{id}/renew: extend the lease, store progress,
// and tell the agent whether the job was canceled.
func (s *Server) renew(ctx context.Context, c *call) (int, any, error) {
	var req sdk.RenewRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	progress, err := json.Marshal(req.Progress)
	if err != nil {
		return 0, nil, wrapf(err, "encode progress")
	}
	var job *store.Job
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { // the renewal and its job.progress event
		job, err = store.RenewLease(ctx, tx, store.RenewParams{JobID: c.r.PathValue("id"), AgentID: c.caller.AgentID,
			Epoch: req.LeaseEpoch, Now: s.now(), Lease: s.cfg.Lease, Progress: progress})
		return err
	})
	if err != nil {
		return 0, nil, wrapf(staleLease(err), "renew lease")
	}
	out := sdk.RenewResponse{CancelRequested: job.CancelRequested}
	if job.LeaseExpiresAt != nil {
		out.LeaseExpiresAt = *job.LeaseExpiresAt
	}
	return http.StatusOK, out, nil
}

// POST /api/v1/agent/jobs/{id}/credentials: the job's source credential,
// only for the live lease, encrypted to the agent's own age recipient.
func (s *Server) releaseCredentials(ctx context.Context, c *call) (int, any, error) {
	var req sdk.LeaseRef
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	var out sdk.CredentialRelease
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		job, err := store.JobForLease(ctx, tx, c.r.PathValue("id"), c.caller.AgentID, req.LeaseEpoch, s.now())
		if err != nil {
			return staleLease(err)
		}
		creds, err := s.jobCredentials(ctx, tx, job)
		if err != nil {
			return err
		}
		payload, err := s.openCredentials(creds)
		if err != nil {
			return err
		}
		out.Ciphertext, err = s.sealForAgent(ctx, tx, c.caller.AgentID, payload)
		clear(payload)
		if err != nil {
			return err
		}
		for _, cred := range creds.all() {
			err := s.audit(ctx, tx, c, auditEntry{TenantID: job.TenantID, Action: "credential.release",
				ObjectType: "credential", ObjectID: cred.ID,
				Details: map[string]any{"job_id": job.ID, "lease_epoch": job.LeaseEpoch}})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, wrapf(err, "release credentials")
	}
	return http.StatusOK, out, nil
}

// jobCreds are the credentials a job's source names: its own, the one of
// its "ssh" block (mysql, postgres), the database one of a wordpress source.
// With a storage target (ClaimedJob.Storage), also its access key.
type jobCreds struct{ main, ssh, db, storage, copyTo *store.Credential }

func (j jobCreds) all() []*store.Credential {
	var out []*store.Credential
	for _, c := range []*store.Credential{j.main, j.ssh, j.db, j.storage, j.copyTo} {
		if c != nil {
			out = append(out, c)
		}
	}
	return out
}

// extraCredentialIDs are the credential ids a source config names besides
// the source's own credential_id.
func extraCredentialIDs(config []byte) (sshID, dbID string) {
	var cfg struct {
		SSH *struct {
			CredentialID string `json:"credential_id"`
		} `json:"ssh"`
		DBCredentialID string `json:"db_credential_id"`
	}
	if json.Unmarshal(config, &cfg) != nil {
		return "", ""
	}
	if cfg.SSH != nil {
		sshID = cfg.SSH.CredentialID
	}
	return sshID, cfg.DBCredentialID
}

func (s *Server) jobCredentials(ctx context.Context, tx bun.IDB, job *store.Job) (jobCreds, error) {
	var out jobCreds
	var err error
	if out.storage, err = s.storageCredential(ctx, tx, job); err != nil {
		return out, err
	}
	if dst, err := store.CopyDestination(ctx, tx, job); err != nil {
		return out, wrapf(err, "load destination of job %s", job.ID)
	} else if dst != nil {
		if out.copyTo, err = store.StorageCredential(ctx, tx, dst); err != nil {
			return out, wrapf(notFoundAs(err, "credential"), "load credential of storage target %s", dst.ID)
		}
	}
	if job.SourceID == nil || job.Type == store.JobTypeCopy {
		// A storage test has no source; a copy needs only storage keys.
		if out.storage != nil || out.copyTo != nil {
			return out, nil
		}
		return out, sdk.Errorf(sdk.CodeNotFound, "job %s has no credential", job.ID)
	}
	src, err := store.GetSource(ctx, tx, job.TenantID, *job.SourceID)
	if err != nil {
		return out, wrapf(notFoundAs(err, "source"), "load source of job %s", job.ID)
	}
	if src.CredentialID == nil {
		if out.storage != nil {
			return out, nil
		}
		return out, sdk.Errorf(sdk.CodeNotFound, "source %s has no credential", src.ID)
	}
	load := func(id string) (*store.Credential, error) {
		cred, err := store.GetCredential(ctx, tx, job.TenantID, id)
		return cred, wrapf(notFoundAs(err, "credential"), "load credential of job %s", job.ID)
	}
	if out.main, err = load(*src.CredentialID); err != nil {
		return out, err
	}
	sshID, dbID := extraCredentialIDs(src.Config)
	if sshID != "" {
		if out.ssh, err = load(sshID); err != nil {
			return out, err
		}
	}
	if dbID != "" {
		if out.db, err = load(dbID); err != nil {
			return out, err
		}
	}
	return out, nil
}

// openCredentials opens each credential with the KEK and combines them into
// one JSON SecretPayload. The caller clears the returned plaintext.
func (s *Server) openCredentials(creds jobCreds) ([]byte, error) {
	open := func(cred *store.Credential) (*sdk.SecretPayload, error) {
		plain, err := s.cfg.Keys.Open(cred.Ciphertext, keys.CredentialAD(cred.TenantID, cred.ID), cred.KEKID)
		if err != nil {
			return nil, wrapf(err, "open credential %s", cred.ID)
		}
		defer clear(plain)
		var p sdk.SecretPayload
		if err := json.Unmarshal(plain, &p); err != nil {
			return nil, wrapf(err, "decode credential %s", cred.ID)
		}
		return &p, nil
	}
	payload := &sdk.SecretPayload{}
	var err error
	if creds.main != nil {
		if payload, err = open(creds.main); err != nil {
			return nil, err
		}
	}
	if creds.storage != nil {
		if payload.Storage, err = open(creds.storage); err != nil {
			return nil, err
		}
	}
	if creds.copyTo != nil {
		if payload.CopyTo, err = open(creds.copyTo); err != nil {
			return nil, err
		}
	}
	if creds.ssh != nil {
		if payload.SSH, err = open(creds.ssh); err != nil {
			return nil, err
		}
	}
	if creds.db != nil {
		if payload.DB, err = open(creds.db); err != nil {
			return nil, err
		}
	}
	b, err := json.Marshal(payload)
	return b, wrapf(err, "encode credentials")
}

// sealForAgent encrypts a JSON SecretPayload to the agent's recipient. The
// plaintext never leaves memory.
func (s *Server) sealForAgent(ctx context.Context, tx bun.IDB, agentID string, plain []byte) (string, error) {
	agent, err := store.GetAgent(ctx, tx, agentID)
	if err != nil {
		return "", wrapf(err, "load agent %s", agentID)
	}
	armored, err := keys.EncryptToRecipient(agent.PublicKey, plain)
	return armored, wrapf(err, "encrypt credentials to agent %s", agentID)
}

// hostKeyResponse is the answer of the host-key route.
type hostKeyResponse struct {
	Fingerprint string `json:"fingerprint"`
}

// POST /api/v1/agent/jobs/{id}/host-key: trust on first use. The first
// fingerprint reported for a source is stored; the answer is the stored
// one, which the agent compares with what it saw.
func (s *Server) reportHostKey(ctx context.Context, c *call) (int, any, error) {
	var req sdk.HostKeyReport
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	if !validate.HostKeyFingerprint(req.Fingerprint) {
		return 0, nil, fieldError("fingerprint", `must be "SHA256:" followed by 43 base64 characters`)
	}
	var stored string
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		job, err := store.JobForLease(ctx, tx, c.r.PathValue("id"), c.caller.AgentID, req.LeaseEpoch, s.now())
		if err != nil {
			return staleLease(err)
		}
		if job.SourceID == nil {
			return fieldError("fingerprint", "the job has no source to record a host key for")
		}
		src, err := store.GetSource(ctx, tx, job.TenantID, *job.SourceID)
		if err != nil {
			return wrapf(err, "load source of job %s", job.ID)
		}
		if stored, err = store.RecordHostKey(ctx, tx, job.TenantID, src.ID, req.Fingerprint); err != nil {
			return err
		}
		if src.HostKeyFingerprint != nil {
			return nil // already known: nothing changed
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: job.TenantID, Action: "source.host_key_record",
			ObjectType: "source", ObjectID: src.ID, Details: map[string]any{"fingerprint": stored, "job_id": job.ID}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "record host key")
	}
	return http.StatusOK, hostKeyResponse{Fingerprint: stored}, nil
}

// POST /api/v1/agent/jobs/{id}/complete: fenced by the epoch, idempotent.
// A completed backup records its snapshot in the same transaction.
func (s *Server) complete(ctx context.Context, c *call) (int, any, error) {
	var req sdk.CompleteRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	p, err := s.completeParams(c, &req)
	if err != nil {
		return 0, nil, err
	}
	var job *store.Job
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := s.fillRecipient(ctx, tx, p); err != nil {
			return err
		}
		if job, err = store.CompleteJob(ctx, tx, *p); err != nil {
			return staleLease(err)
		}
		if job.Type == store.JobTypeBackup && job.Status == store.JobCompleted && p.Snapshot == nil {
			return fieldError("snapshot", "is required when a backup completes")
		}
		switch job.Type {
		case store.JobTypeRestore:
			if err := s.recordRestoreEnd(ctx, tx, job, req.Restore); err != nil {
				return err
			}
		case store.JobTypeVerify:
			if err := s.recordVerifyEnd(ctx, tx, c, job, req.Verify); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: job.TenantID, Action: "job.complete", ObjectType: "job",
			ObjectID: job.ID, Details: map[string]any{"status": req.Status, "job_status": job.Status,
				"attempt": job.Attempt, "lease_epoch": req.LeaseEpoch}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "complete job")
	}
	observeCompletion(job, p.Now) // metrics: duration and bytes of the ended attempt
	if job.Status == store.JobQueued {
		s.cfg.Waker.Notify(ctx) // re-queued for another attempt
	}
	if job.Type == store.JobTypeBackup && job.Status == store.JobCompleted && job.SourceID != nil {
		s.retention.Trigger(job.TenantID, *job.SourceID) // apply the source's retention policy
	}
	return http.StatusOK, jobOut(job), nil
}

// fillRecipient records on the new snapshot the tenant recipient its
// artifact was encrypted to (the active tenant key handed out at claim).
// A repeated completion has no live lease; the store then returns the
// first result and ignores the snapshot given.
func (s *Server) fillRecipient(ctx context.Context, tx bun.IDB, p *store.CompleteParams) error {
	if p.Snapshot == nil {
		return nil
	}
	job, err := store.JobForLease(ctx, tx, p.JobID, p.AgentID, p.Epoch, p.Now)
	if errors.Is(err, store.ErrConflict) {
		return nil
	} else if err != nil {
		return wrapf(err, "load job %s", p.JobID)
	}
	key, err := store.ActiveTenantKey(ctx, tx, job.TenantID)
	if err != nil {
		return wrapf(err, "load key of tenant %s", job.TenantID)
	}
	p.Snapshot.Recipient = key.PublicKey
	return nil
}

// storageCredential is the credential of the job's storage target
// (store.JobStorage); nil for local_fs.
func (s *Server) storageCredential(ctx context.Context, tx bun.IDB, job *store.Job) (*store.Credential, error) {
	t, err := store.JobStorage(ctx, tx, job)
	if err != nil || t == nil {
		return nil, wrapf(err, "load storage target of job %s", job.ID)
	}
	cred, err := store.StorageCredential(ctx, tx, t)
	return cred, wrapf(notFoundAs(err, "credential"), "load credential of storage target %s", t.ID)
}
