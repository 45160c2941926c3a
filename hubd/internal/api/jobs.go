package api

import (
	"context"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// defaultMaxAttempts is how often a backup is tried before it fails.
const defaultMaxAttempts = 3

// POST /api/v1/jobs: trigger a backup. 201 with a new job, or 200 with the
// source's already active backup.
func (s *Server) createJob(ctx context.Context, c *call) (int, any, error) {
	var req sdk.CreateJobRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	switch {
	case req.Type != "" && req.Type != sdk.JobBackup:
		return 0, nil, fieldError("type", "must be backup: restore and delete jobs are made by their own routes")
	case req.SourceID == "":
		return 0, nil, fieldError("source_id", "is required")
	}
	var job *store.Job
	var created bool
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		src, err := store.GetSource(ctx, tx, c.tenantID, req.SourceID)
		if err != nil {
			return notFoundAs(err, "source")
		}
		if src.Status != string(sdk.SourceActive) {
			return sdk.Errorf(sdk.CodeConflict, "source %s is disabled; hint: set its status to active first", src.ID)
		}
		j := s.newBackupJob(c.tenantID, src.ID)
		if j.TargetAgentID, err = store.ChainTarget(ctx, tx, c.tenantID, src.ID, s.now(), s.cfg.ChainGrace); err != nil {
			return err
		}
		job, created, err = store.EnqueueBackup(ctx, tx, j)
		if err != nil || !created {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "job.create", ObjectType: "job",
			ObjectID: job.ID, Details: map[string]any{"type": job.Type, "source_id": src.ID, "snapshot_id": deref(job.SnapshotID)}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "create job")
	}
	if !created {
		return http.StatusOK, jobOut(job), nil
	}
	s.cfg.Waker.Notify(ctx)
	return http.StatusCreated, jobOut(job), nil
}

func (s *Server) newBackupJob(tenantID, sourceID string) *store.Job {
	now := s.now()
	return &store.Job{
		ID: store.NewID(), TenantID: tenantID, SourceID: &sourceID, SnapshotID: ptr(store.NewID()),
		Type: string(sdk.JobBackup), Status: string(sdk.JobQueued), MaxAttempts: defaultMaxAttempts,
		RunAfter: now, CreatedAt: now, UpdatedAt: now,
	}
}

// GET /api/v1/jobs[?status=&source_id=&type=]
func (s *Server) listJobs(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	q := c.r.URL.Query()
	p := store.JobListParams{ListParams: lp, Status: q.Get("status"), SourceID: q.Get("source_id"), Type: q.Get("type")}
	if p.Status != "" && !validJobStatus(sdk.JobStatus(p.Status)) {
		return 0, nil, fieldError("status", "must be queued, running, finalizing, completed, failed or canceled")
	}
	rows, next, err := store.ListJobs(ctx, s.db, c.tenantID, p)
	if err != nil {
		return 0, nil, wrapf(err, "list jobs")
	}
	return http.StatusOK, page(rows, next, jobOut), nil
}

func validJobStatus(st sdk.JobStatus) bool {
	switch st {
	case sdk.JobQueued, sdk.JobRunning, sdk.JobFinalizing, sdk.JobCompleted, sdk.JobFailed, sdk.JobCanceled:
		return true
	}
	return false
}

// GET /api/v1/jobs/{id}
func (s *Server) getJob(ctx context.Context, c *call) (int, any, error) {
	job, err := store.GetJob(ctx, s.db, c.tenantID, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "job"), "get job")
	}
	return http.StatusOK, jobOut(job), nil
}

// POST /api/v1/jobs/{id}/cancel: a queued job ends at once; a running one
// learns it on its agent's next lease renewal.
func (s *Server) cancelJob(ctx context.Context, c *call) (int, any, error) {
	if _, err := decodeOptionalEmpty(c); err != nil {
		return 0, nil, err
	}
	id := c.r.PathValue("id")
	var job *store.Job
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var err error
		job, err = store.CancelJob(ctx, tx, c.tenantID, id, s.now())
		if err != nil {
			return conflictAs(notFoundAs(err, "job"), "job %s has already ended", id)
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "job.cancel", ObjectType: "job", ObjectID: id})
	})
	if err != nil {
		return 0, nil, wrapf(err, "cancel job")
	}
	return http.StatusOK, jobOut(job), nil
}

func jobOut(j *store.Job) sdk.Job { return store.JobView(j) }

// POST /api/v1/sources/{id}/test: queue a test_connection job, which
// connects to the source, lists what a backup would take, checks the
// privileges it needs and changes nothing. It is tried once: a test that
// cannot reach the source says so instead of retrying.
func (s *Server) testSource(ctx context.Context, c *call) (int, any, error) {
	if _, err := decodeOptionalEmpty(c); err != nil {
		return 0, nil, err
	}
	var job *store.Job
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		src, err := store.GetSource(ctx, tx, c.tenantID, c.r.PathValue("id"))
		if err != nil {
			return notFoundAs(err, "source")
		}
		now := s.now()
		job = &store.Job{
			ID: store.NewID(), TenantID: c.tenantID, SourceID: &src.ID, Type: store.JobTypeTestConnection,
			MaxAttempts: 1, RunAfter: now, CreatedAt: now,
		}
		if err := store.EnqueueJob(ctx, tx, job); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "source.test", ObjectType: "source",
			ObjectID: src.ID, Details: map[string]any{"job_id": job.ID}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "test source")
	}
	s.cfg.Waker.Notify(ctx)
	return http.StatusCreated, jobOut(job), nil
}
