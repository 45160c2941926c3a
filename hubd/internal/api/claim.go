package api

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// POST /api/v1/agent/jobs/claim: long-poll for one job. The wait ends with
// a job as soon as one is claimable (enqueue wakes it), with {"job":null}
// after wait_seconds or when the hub shuts down, and silently when the
// client goes away.
func (s *Server) claim(ctx context.Context, c *call) (int, any, error) {
	var req sdk.ClaimRequest
	if err := decodeOptional(c, &req); err != nil {
		return 0, nil, err
	}
	wait, types, err := checkClaim(&req)
	if err != nil {
		return 0, nil, err
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		job, woken, err := s.tryClaim(ctx, c.caller.AgentID, types, deadline.C)
		if err != nil {
			return 0, nil, err
		}
		if job != nil {
			return http.StatusOK, sdk.ClaimResponse{Job: job}, nil
		}
		if !woken {
			return http.StatusOK, sdk.ClaimResponse{}, nil
		}
	}
}

// tryClaim claims a job or, if none is runnable, waits for a wake-up;
// woken is false when the wait should end empty.
func (s *Server) tryClaim(ctx context.Context, agentID string, types []string, deadline <-chan time.Time) (
	job *sdk.ClaimedJob, woken bool, err error) {
	wake, release := s.cfg.Waker.Subscribe() // before looking, so no wake-up is missed
	defer release()
	var row *store.Job
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { // the claim and its job.updated event
		// A drained agent claims nothing: its claim waits and ends empty. The
		// flag is read in the claim's transaction (share-locked on PostgreSQL),
		// so no job is claimed once a drain has committed.
		if draining, err := store.AgentDraining(ctx, tx, agentID); err != nil || draining {
			return err
		}
		agent, err := store.GetAgent(ctx, tx, agentID)
		if err != nil {
			return err
		}
		row, err = store.ClaimJob(ctx, tx, store.ClaimParams{AgentID: agentID, Types: types, Now: s.now(), Lease: s.cfg.Lease,
			NoObjectStorage: !store.HasCapability(agent.Capabilities, sdk.CapabilityStorageS3)})
		if err != nil || row == nil || row.Type != store.JobTypeBackup {
			return err
		}
		// Plan at claim time (the chain may have changed since enqueue),
		// kept on the job for the completion's check.
		_, err = store.PlanBackup(ctx, tx, store.PlanParams{Job: row, Now: s.now(), Grace: s.cfg.ChainGrace})
		return err
	})
	if err != nil {
		return nil, false, wrapf(err, "claim job")
	}
	if row != nil {
		job, err := s.claimedJob(ctx, row)
		return job, false, err
	}
	recheck := time.NewTimer(s.cfg.ClaimRecheck)
	defer recheck.Stop()
	select {
	case <-wake:
		return nil, true, nil
	case <-recheck.C:
		return nil, true, nil
	case <-deadline:
		return nil, false, nil
	case <-s.stopping:
		return nil, false, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// claimedJob is everything the agent needs to run the job, minus secrets.
func (s *Server) claimedJob(ctx context.Context, j *store.Job) (*sdk.ClaimedJob, error) {
	out := &sdk.ClaimedJob{ID: j.ID, TenantID: j.TenantID, Type: sdk.JobType(j.Type), Attempt: j.Attempt,
		LeaseEpoch: j.LeaseEpoch, LeaseSeconds: int(s.cfg.Lease / time.Second), SnapshotID: deref(j.SnapshotID),
		Payload: rawOrNil(j.Payload)}
	if j.LeaseExpiresAt != nil {
		out.LeaseExpiresAt = *j.LeaseExpiresAt
	}
	if string(out.Payload) == "{}" {
		out.Payload = nil
	}
	if j.SourceID != nil {
		src, err := store.GetSource(ctx, s.db, j.TenantID, *j.SourceID)
		if err != nil {
			return nil, wrapf(err, "claimed job %s: load source", j.ID)
		}
		out.SourceID, out.SourceType, out.SourceConfig = src.ID, sdk.SourceType(src.Type), src.Config
		out.HasCredential = src.CredentialID != nil
		out.HostKey = pinnedHostKey(src)
	}
	key, err := store.ActiveTenantKey(ctx, s.db, j.TenantID)
	if err != nil {
		return nil, wrapf(err, "claimed job %s: load tenant key", j.ID)
	}
	out.TenantRecipient = key.PublicKey
	if out.Storage, err = s.storageLease(ctx, j); err != nil {
		return nil, err
	}
	if j.Type == store.JobTypeTestConnection && j.StorageTargetID != nil {
		out.StorageTargetID = *j.StorageTargetID
	}
	if dst, err := store.CopyDestination(ctx, s.db, j); err != nil {
		return nil, wrapf(err, "claimed job %s", j.ID)
	} else if dst != nil {
		out.CopyTo = leaseOf(dst)
	}
	switch j.Type {
	case store.JobTypeBackup:
		plan := store.DecodeBackupPlan(j.BackupPlan)
		out.Incremental, out.FullReason = plan.Incremental, plan.FullReason
		if out.Storage != nil {
			if out.IndexRecipients, err = store.AgentRecipients(ctx, s.db, sdk.CapabilityStorageS3); err != nil {
				return nil, wrapf(err, "claimed job %s", j.ID)
			}
		}
	case store.JobTypeRestore:
		if out.Payload, err = s.restorePayload(ctx, j); err != nil {
			return nil, err
		}
	case store.JobTypeVerify:
		if out.Payload, err = s.verifyPayload(ctx, j); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pinnedHostKey is the config's pinned host key, else the one recorded on
// first use, else "" (trust on first use).
// For mysql and postgres sources it is the key of their "ssh" block's server.
func pinnedHostKey(src *store.Source) string {
	var cfg struct {
		HostKey string `json:"host_key"`
		SSH     *struct {
			HostKey string `json:"host_key"`
		} `json:"ssh"`
	}
	if json.Unmarshal(src.Config, &cfg) == nil {
		if cfg.HostKey != "" {
			return cfg.HostKey
		}
		if cfg.SSH != nil && cfg.SSH.HostKey != "" {
			return cfg.SSH.HostKey
		}
	}
	return deref(src.HostKeyFingerprint)
}

func itoa(i int) string { return strconv.Itoa(i) }

// storageLease is the storage target the job works on (store.JobStorage),
// minus its credential; nil for local_fs.
func (s *Server) storageLease(ctx context.Context, j *store.Job) (*sdk.StorageLease, error) {
	t, err := store.JobStorage(ctx, s.db, j)
	if err != nil || t == nil {
		return nil, wrapf(err, "claimed job %s: load storage target", j.ID)
	}
	return leaseOf(t), nil
}

// leaseOf is what an agent is told of a storage target (no credential).
func leaseOf(t *store.StorageTarget) *sdk.StorageLease {
	return &sdk.StorageLease{TargetID: t.ID, Type: sdk.StorageType(t.Type), Endpoint: t.Endpoint, Bucket: t.Bucket,
		Region: t.Region, Prefix: t.Prefix, PathStyle: t.PathStyle}
}
