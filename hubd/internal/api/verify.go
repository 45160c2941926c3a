package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// POST /api/v1/snapshots/{id}/verify: a verify job on the agent holding
// the snapshot (201), or the verify job already queued or running for it (200).
func (s *Server) verifySnapshot(ctx context.Context, c *call) (int, any, error) {
	if _, err := decodeOptionalEmpty(c); err != nil {
		return 0, nil, err
	}
	var job *store.Job
	var created bool
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		snap, err := store.LockSnapshot(ctx, tx, c.tenantID, c.r.PathValue("id"))
		if err != nil {
			return notFoundAs(err, "snapshot")
		}
		if snap.Status != string(sdk.SnapshotCompleted) {
			return sdk.Errorf(sdk.CodeConflict, "snapshot %s is %s; only completed snapshots can be verified", snap.ID, snap.Status)
		}
		if _, err := snapshotChain(ctx, tx, snap); err != nil {
			return err
		}
		if job, created, err = store.EnqueueVerify(ctx, tx, snap, s.now()); err != nil || !created {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "snapshot.verify_enqueue",
			ObjectType: "snapshot", ObjectID: snap.ID, Details: map[string]any{"job_id": job.ID}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "verify snapshot")
	}
	if !created {
		return http.StatusOK, jobOut(job), nil
	}
	s.cfg.Waker.Notify(ctx)
	return http.StatusCreated, jobOut(job), nil
}

// verifyPayload is a claimed verify job's payload: the sha256 the artifact
// must have. A snapshot that vanished yields an empty payload, which the
// agent fails.
func (s *Server) verifyPayload(ctx context.Context, j *store.Job) (json.RawMessage, error) {
	if j.SnapshotID == nil {
		return nil, nil
	}
	snap, err := store.GetSnapshot(ctx, s.db, j.TenantID, *j.SnapshotID)
	if err != nil {
		return nil, ignoreNotFound(wrapf(err, "claimed verify job %s: load snapshot", j.ID))
	}
	chain, err := store.SnapshotChain(ctx, s.db, snap)
	if errors.As(err, new(*store.ChainConflict)) {
		return nil, nil // a member went away meanwhile: the agent fails the empty payload
	} else if err != nil {
		return nil, wrapf(err, "claimed verify job %s: load chain", j.ID)
	}
	b, err := json.Marshal(sdk.VerifyPayload{SnapshotSHA256: snap.SHA256, Chain: store.ChainLinks(chain)})
	return b, wrapf(err, "encode verify payload")
}

// snapshotChain is the chain of snap (tip first), for a restore or a
// verify to read; a missing or deleting member is a 409 naming it, and so
// is a move of the source's chain in progress (its copies are changing
// place).
func snapshotChain(ctx context.Context, tx bun.IDB, snap *store.Snapshot) ([]store.Snapshot, error) {
	chain, err := store.SnapshotChain(ctx, tx, snap)
	if err == nil {
		err = store.CheckNoCopyOfSource(ctx, tx, snap.TenantID, snap.SourceID)
	}
	return chain, chainConflictAs(err)
}

// chainConflictAs turns a *store.ChainConflict into a 409 with its message.
func chainConflictAs(err error) error {
	var cc *store.ChainConflict
	if errors.As(err, &cc) {
		return sdk.Errorf(sdk.CodeConflict, "%s", cc.Msg)
	}
	return err
}

const maxVerifyDatabases = 1000

// checkVerifyReport checks an agent's verify report.
func checkVerifyReport(f validate.Fields, r *sdk.VerifyReport) {
	switch r.Status {
	case sdk.VerifyOK, sdk.VerifyFailed, sdk.VerifyCorrupt:
	default:
		f.Add("verify.status", "must be ok, failed or corrupt")
	}
	if len(r.Message) > maxErrorMessage {
		f.Add("verify.message", "must be at most 4096 bytes")
	}
	if len(r.Databases) > maxVerifyDatabases {
		f.Add("verify.databases", fmt.Sprintf("must list at most %d databases", maxVerifyDatabases))
	}
	for _, d := range r.Databases {
		if len(d.Error) > maxErrorMessage || len(d.Tables) > 100000 {
			f.Add("verify.databases", "an error is at most 4096 bytes, a database at most 100000 tables")
			break
		}
	}
}

// recordVerifyEnd stores a completed verify job's verdict on its snapshot
// and audits it: a failed or corrupt verification is an event operators
// (and, later, webhooks) react to.
func (s *Server) recordVerifyEnd(ctx context.Context, tx bun.IDB, c *call, job *store.Job, rep *sdk.VerifyReport) error {
	if job.Status != store.JobCompleted || job.SnapshotID == nil {
		return nil
	}
	if rep == nil {
		return fieldError("verify", "is required when a verify job completes")
	}
	b, err := json.Marshal(rep)
	if err != nil {
		return wrapf(err, "encode verify report")
	}
	err = store.RecordVerify(ctx, tx, job.TenantID, *job.SnapshotID, string(rep.Status), b, s.now())
	if err == nil {
		err = s.snapshotVerifiedEvent(ctx, tx, job)
	}
	if err := ignoreNotFound(err); err != nil {
		return err
	}
	action := "snapshot.verify_ok"
	if rep.Status != sdk.VerifyOK {
		action = "snapshot.verify_" + string(rep.Status)
	}
	return s.audit(ctx, tx, c, auditEntry{TenantID: job.TenantID, Action: action, ObjectType: "snapshot",
		ObjectID: *job.SnapshotID, Details: map[string]any{"job_id": job.ID, "status": rep.Status, "message": rep.Message}})
}

// snapshotVerifiedEvent records snapshot.verified with the snapshot as it
// is after its verdict was stored.
func (s *Server) snapshotVerifiedEvent(ctx context.Context, tx bun.IDB, job *store.Job) error {
	snap, err := store.GetSnapshot(ctx, tx, job.TenantID, *job.SnapshotID)
	if err != nil {
		return err
	}
	return store.SnapshotEvent(ctx, tx, sdk.EventSnapshotVerified, snap, s.now())
}

// ignoreNotFound turns a store.ErrNotFound into nil: the row vanished
// meanwhile (a snapshot deleted while its verify job ran).
func ignoreNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}
