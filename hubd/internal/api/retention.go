package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/retention"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// maxSimulated bounds the snapshots one simulation may take.
const maxSimulated = 10_000

// RetentionRunner applies retention policies (retention.Runner).
type RetentionRunner interface {
	RunAll(ctx context.Context) (*sdk.RetentionRunResponse, error)
	RunSource(ctx context.Context, tenantID, sourceID string) (*sdk.RetentionSourceResult, error)
	Preview(ctx context.Context, tenantID, sourceID string) (*sdk.RetentionDecisions, error)
	Trigger(tenantID, sourceID string)
}

// GET /api/v1/sources/{id}/retention
func (s *Server) getRetention(ctx context.Context, c *call) (int, any, error) {
	id := c.r.PathValue("id")
	if _, err := store.GetSource(ctx, s.db, c.tenantID, id); err != nil {
		return 0, nil, wrapf(notFoundAs(err, "source"), "get retention")
	}
	out, err := s.sourceRetention(ctx, s.db, c.tenantID, id)
	return http.StatusOK, out, wrapf(err, "get retention")
}

func (s *Server) sourceRetention(ctx context.Context, db bun.IDB, tenantID, sourceID string) (*sdk.SourceRetention, error) {
	out := &sdk.SourceRetention{SourceID: sourceID}
	row, err := store.GetRetentionPolicy(ctx, db, tenantID, sourceID)
	switch {
	case err == nil:
		p, f := retention.DecodePolicy(row.Policy)
		if f != nil {
			return nil, fmt.Errorf("stored policy of source %s is invalid: %v", sourceID, f)
		}
		out.Policy, out.UpdatedAt = p, &row.UpdatedAt
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	loc, err := retention.SourceLocation(ctx, db, tenantID, sourceID)
	if err != nil {
		return nil, err
	}
	out.Timezone = loc.String()
	return out, nil
}

// PUT /api/v1/sources/{id}/retention: the body is the policy; {} keeps everything.
func (s *Server) putRetention(ctx context.Context, c *call) (int, any, error) {
	var p sdk.RetentionPolicy
	if err := decode(c, &p); err != nil {
		return 0, nil, err
	}
	f := validate.Fields{}
	retention.CheckPolicy(f, "", p)
	if len(f) > 0 {
		return 0, nil, sdk.FieldErrors(f)
	}
	id := c.r.PathValue("id")
	var out *sdk.SourceRetention
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := store.GetSource(ctx, tx, c.tenantID, id); err != nil {
			return notFoundAs(err, "source")
		}
		raw, err := json.Marshal(p)
		if err != nil {
			return err
		}
		if err := s.putPolicy(ctx, tx, c, id, raw, "source"); err != nil {
			return err
		}
		out, err = s.sourceRetention(ctx, tx, c.tenantID, id)
		return err
	})
	if err != nil {
		return 0, nil, wrapf(err, "set retention")
	}
	return http.StatusOK, out, nil
}

// putPolicy stores a source's policy with an audit event; via says which
// route set it (source or schedule).
func (s *Server) putPolicy(ctx context.Context, tx bun.IDB, c *call, sourceID string, raw []byte, via string) error {
	err := store.PutRetentionPolicy(ctx, tx, &store.RetentionPolicyRow{SourceID: sourceID, TenantID: c.tenantID,
		Policy: raw, UpdatedAt: s.now()})
	if err != nil {
		return err
	}
	return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "source.retention_set", ObjectType: "source",
		ObjectID: sourceID, Details: map[string]any{"policy": json.RawMessage(raw), "via": via}})
}

// GET /api/v1/sources/{id}/retention/preview: what the policy would do now.
func (s *Server) previewRetention(ctx context.Context, c *call) (int, any, error) {
	out, err := s.retention.Preview(ctx, c.tenantID, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "source"), "preview retention")
	}
	return http.StatusOK, out, nil
}

// POST /api/v1/retention/simulate: the policy on given timestamps; touches nothing.
func (s *Server) simulateRetention(ctx context.Context, c *call) (int, any, error) {
	var req sdk.SimulateRetentionRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	f := validate.Fields{}
	retention.CheckPolicy(f, "policy.", req.Policy)
	loc, err := retention.LoadLocation(req.Timezone)
	if err != nil {
		f.Add("timezone", err.Error())
	}
	if len(req.Snapshots) > maxSimulated {
		f.Add("snapshots", fmt.Sprintf("must list at most %d snapshots", maxSimulated))
	}
	in := retention.Input{Policy: req.Policy, Location: loc, Now: s.now(), VerifyDrills: req.Verify}
	if req.Now != nil {
		in.Now = req.Now.UTC()
	}
	seen := map[string]bool{}
	for i, sn := range req.Snapshots {
		id := sn.ID
		if id == "" {
			id = fmt.Sprint(i + 1)
		}
		switch {
		case sn.CreatedAt.IsZero():
			f.Add(fmt.Sprintf("snapshots[%d].created_at", i), "is required")
		case seen[id]:
			f.Add(fmt.Sprintf("snapshots[%d].id", i), "is not unique")
		}
		switch sn.VerifyStatus {
		case "", sdk.VerifyOK, sdk.VerifyFailed, sdk.VerifyCorrupt:
		default:
			f.Add(fmt.Sprintf("snapshots[%d].verify_status", i), `must be "ok", "failed", "corrupt" or omitted`)
		}
		seen[id] = true
		in.Snapshots = append(in.Snapshots, retention.Snapshot{ID: id, CreatedAt: sn.CreatedAt, VerifyStatus: sn.VerifyStatus,
			ParentID: sn.ParentID})
	}
	for i, sn := range req.Snapshots {
		if sn.ParentID != "" && (!seen[sn.ParentID] || sn.ParentID == in.Snapshots[i].ID) {
			f.Add(fmt.Sprintf("snapshots[%d].parent_id", i), "must name another snapshot of the request")
		}
	}
	if len(f) > 0 {
		return 0, nil, sdk.FieldErrors(f)
	}
	return http.StatusOK, sdk.RetentionDecisions{Policy: req.Policy, Timezone: loc.String(), Now: in.Now,
		Decisions: retention.Evaluate(in)}, nil
}

// POST /api/v1/admin/retention/run: apply every source's policy now.
func (s *Server) runRetention(ctx context.Context, c *call) (int, any, error) {
	if err := decodeOptional(c, &struct{}{}); err != nil {
		return 0, nil, err
	}
	out, err := s.retention.RunAll(ctx)
	if out == nil {
		return 0, nil, wrapf(err, "run retention")
	}
	return http.StatusOK, out, nil // per-source errors are in the results
}

// POST /api/v1/admin/retention/run/{id}: apply one source's policy now.
func (s *Server) runRetentionSource(ctx context.Context, c *call) (int, any, error) {
	if err := decodeOptional(c, &struct{}{}); err != nil {
		return 0, nil, err
	}
	id := c.r.PathValue("id")
	tenantID, err := store.SourceOwner(ctx, s.db, id)
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "source"), "run retention")
	}
	res, err := s.retention.RunSource(ctx, tenantID, id)
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "source"), "run retention of source %s", id)
	}
	results := []sdk.RetentionSourceResult{*res}
	return http.StatusOK, sdk.RetentionRunResponse{Results: results, Summary: retention.Summarize(results)}, nil
}

// DELETE /api/v1/snapshots/{id}: mark it deleting and enqueue a
// delete_snapshot job for the agent holding it. 202 with the job; 200 with
// the delete job already under way; 409 while a restore reads it.
func (s *Server) deleteSnapshot(ctx context.Context, c *call) (int, any, error) {
	id := c.r.PathValue("id")
	var job *store.Job
	var created bool
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		job, created, err = store.RequestSnapshotDelete(ctx, tx, store.DeleteSnapshotParams{TenantID: c.tenantID,
			SnapshotID: id, Now: s.now()})
		if err != nil {
			return conflictAs(chainConflictAs(notFoundAs(err, "snapshot")),
				"snapshot %s is being restored; hint: wait for the restore to end", id)
		}
		if !created {
			return nil
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "snapshot.delete", ObjectType: "snapshot",
			ObjectID: id, Details: map[string]any{"job_id": job.ID, "reasons": []string{"requested by operator"}}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "delete snapshot")
	}
	if !created {
		return http.StatusOK, jobOut(job), nil
	}
	s.cfg.Waker.Notify(ctx)
	return http.StatusAccepted, jobOut(job), nil
}
