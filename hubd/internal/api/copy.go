package api

import (
	"context"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// POST /api/v1/snapshots/{id}/copy: queue a copy job that moves the
// snapshot's whole chain to another storage (store.RequestCopy).
func (s *Server) copySnapshot(ctx context.Context, c *call) (int, any, error) {
	var req sdk.CopySnapshotRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	to := req.ToStorageID
	switch {
	case to == "":
		return 0, nil, fieldError("to_storage_id", "is required: a storage target id, or local_fs for an agent's disk")
	case to == sdk.StorageLocal:
		to = ""
	case len(to) > 64:
		return 0, nil, fieldError("to_storage_id", "must be at most 64 characters")
	}
	if len(req.AgentID) > 64 {
		return 0, nil, fieldError("agent_id", "must be at most 64 characters")
	}
	var job *store.Job
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		job, err = store.RequestCopy(ctx, tx, store.CopyParams{TenantID: c.tenantID, SnapshotID: c.r.PathValue("id"),
			ToStorageID: to, AgentID: req.AgentID, Move: req.Move, Now: s.now()})
		if err != nil {
			return chainConflictAs(notFoundAs(err, "snapshot or storage target"))
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "snapshot.copy", ObjectType: "snapshot",
			ObjectID: *job.SnapshotID, Details: map[string]any{"job_id": job.ID, "to_storage_id": req.ToStorageID,
				"move": req.Move, "agent_id": req.AgentID}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "copy snapshot")
	}
	s.cfg.Waker.Notify(ctx)
	return http.StatusCreated, jobOut(job), nil
}

// POST /api/v1/storage-targets/{id}/test: queue a test_connection job of
// the target. An agent that can reach object storage checks that the
// bucket exists and that the key can write, read, list uploads of and
// delete objects below the tenant's prefix, and reports each check. A
// platform target is tested for the tenant the call names (?tenant_id=).
func (s *Server) testStorageTarget(ctx context.Context, c *call) (int, any, error) {
	if _, err := decodeOptionalEmpty(c); err != nil {
		return 0, nil, err
	}
	sc, err := s.storageScope(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	var job *store.Job
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		t, err := store.GetStorageTarget(ctx, tx, sc, c.r.PathValue("id"))
		if err != nil {
			return notFoundAs(err, "storage target")
		}
		if c.tenantID == "" && !t.Platform() {
			c.tenantID = *t.TenantID
		}
		if c.tenantID == "" {
			return fieldError("tenant_id", "is required for a platform target: the test writes below a tenant's prefix (--tenant)")
		}
		if !c.caller.IsPlatformAdmin() && !c.caller.CanWrite(c.tenantID) {
			return sdk.Errorf(sdk.CodePermissionDenied, "role %s is read-only; hint: use an owner or admin token", c.caller.Role)
		}
		if ok, err := store.AnyAgentCan(ctx, tx, sdk.CapabilityStorageS3); err != nil {
			return err
		} else if !ok {
			return sdk.Errorf(sdk.CodeConflict, "no enrolled agent can reach object storage (none advertises %s)",
				sdk.CapabilityStorageS3)
		}
		now := s.now()
		job = &store.Job{ID: store.NewID(), TenantID: c.tenantID, Type: store.JobTypeTestConnection,
			StorageTargetID: &t.ID, MaxAttempts: 1, RunAfter: now, CreatedAt: now}
		if err := store.EnqueueJob(ctx, tx, job); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "storage_target.test",
			ObjectType: "storage_target", ObjectID: t.ID, Details: map[string]any{"job_id": job.ID}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "test storage target")
	}
	s.cfg.Waker.Notify(ctx)
	return http.StatusCreated, jobOut(job), nil
}
