package sdk

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// SourceListOptions filter ListSources.
type SourceListOptions struct {
	ListOptions
	Type SourceType
}

// CreateSource adds a system to back up.
func (c *Client) CreateSource(ctx context.Context, req CreateSourceRequest) (*Source, error) {
	var out Source
	_, err := c.do(ctx, call{op: "create source", method: http.MethodPost, path: "/api/v1/sources",
		body: req, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListSources lists the tenant's sources, newest first.
func (c *Client) ListSources(ctx context.Context, opts SourceListOptions) (*Page[Source], error) {
	q := listQuery(opts.ListOptions)
	setIf(q, "type", string(opts.Type))
	var out Page[Source]
	_, err := c.do(ctx, call{op: "list sources", method: http.MethodGet, path: "/api/v1/sources",
		query: q, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSource fetches one source.
func (c *Client) GetSource(ctx context.Context, id string) (*Source, error) {
	var out Source
	_, err := c.do(ctx, call{op: "get source", method: http.MethodGet, path: pathf("/api/v1/sources/%s", id),
		out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateSource changes the fields set in req.
func (c *Client) UpdateSource(ctx context.Context, id string, req UpdateSourceRequest) (*Source, error) {
	var out Source
	_, err := c.do(ctx, call{op: "update source", method: http.MethodPatch, path: pathf("/api/v1/sources/%s", id),
		body: req, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// TestSource queues a test_connection job for a source: the agent connects,
// lists what a backup would take, checks privileges and changes nothing.
// Wait for it with WaitJob; the finished job's Test holds the report.
func (c *Client) TestSource(ctx context.Context, id string) (*Job, error) {
	var out Job
	_, err := c.do(ctx, call{op: "test source", method: http.MethodPost, path: pathf("/api/v1/sources/%s/test", id),
		body: struct{}{}, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteSource deletes a source; ErrConflict while it has snapshots or active jobs.
func (c *Client) DeleteSource(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{op: "delete source", method: http.MethodDelete, path: pathf("/api/v1/sources/%s", id),
		tenant: true})
	return err
}

// CreateJob triggers a job (a backup unless req.Type says otherwise).
// created is false when the hub returned the already active backup of the
// source instead of queuing a new one.
func (c *Client) CreateJob(ctx context.Context, req CreateJobRequest) (job *Job, created bool, err error) {
	var out Job
	status, err := c.do(ctx, call{op: "create job", method: http.MethodPost, path: "/api/v1/jobs",
		body: req, out: &out, tenant: true})
	if err != nil {
		return nil, false, err
	}
	return &out, status == http.StatusCreated, nil
}

// ListJobs lists jobs, newest first.
func (c *Client) ListJobs(ctx context.Context, opts JobListOptions) (*Page[Job], error) {
	q := listQuery(opts.ListOptions)
	setIf(q, "status", string(opts.Status))
	setIf(q, "source_id", opts.SourceID)
	setIf(q, "type", string(opts.Type))
	var out Page[Job]
	_, err := c.do(ctx, call{op: "list jobs", method: http.MethodGet, path: "/api/v1/jobs",
		query: q, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetJob fetches one job.
func (c *Client) GetJob(ctx context.Context, id string) (*Job, error) {
	var out Job
	_, err := c.do(ctx, call{op: "get job", method: http.MethodGet, path: pathf("/api/v1/jobs/%s", id),
		out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CancelJob asks for a job to stop; a running job's agent learns it on its
// next lease renewal.
func (c *Client) CancelJob(ctx context.Context, id string) (*Job, error) {
	var out Job
	_, err := c.do(ctx, call{op: "cancel job", method: http.MethodPost, path: pathf("/api/v1/jobs/%s/cancel", id),
		out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// waitJobMaxTransient is how many polls in a row WaitJob tolerates failing
// for transient reasons (hub unreachable or unavailable) before giving up.
const waitJobMaxTransient = 5

// WaitJob polls a job every interval (default 2s) until it is no longer
// active and returns its final state. onUpdate, when not nil, sees every
// polled state, the first one included. A canceled ctx returns the last seen
// job with ctx's error.
func (c *Client) WaitJob(ctx context.Context, id string, interval time.Duration, onUpdate func(*Job)) (*Job, error) {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var last *Job
	failures := 0
	for {
		job, err := c.GetJob(ctx, id)
		switch {
		case err == nil:
			failures = 0
			last = job
			if onUpdate != nil {
				onUpdate(job)
			}
			if !job.Status.Active() {
				return job, nil
			}
		case ctx.Err() != nil:
			return last, err
		case isTransient(err) && failures < waitJobMaxTransient:
			failures++
		default:
			return last, err
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-ticker.C:
		}
	}
}

func isTransient(err error) bool {
	var te *TransportError
	return errors.As(err, &te) || errors.Is(err, ErrUnavailable)
}

// ListSnapshots lists snapshots, newest first.
func (c *Client) ListSnapshots(ctx context.Context, opts SnapshotListOptions) (*Page[Snapshot], error) {
	q := listQuery(opts.ListOptions)
	setIf(q, "source_id", opts.SourceID)
	if opts.FailedVerify {
		q.Set("failed_verify", "true")
	}
	var out Page[Snapshot]
	_, err := c.do(ctx, call{op: "list snapshots", method: http.MethodGet, path: "/api/v1/snapshots",
		query: q, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSnapshot fetches one snapshot record.
func (c *Client) GetSnapshot(ctx context.Context, id string) (*Snapshot, error) {
	var out Snapshot
	_, err := c.do(ctx, call{op: "get snapshot", method: http.MethodGet, path: pathf("/api/v1/snapshots/%s", id),
		out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// VerifySnapshot asks the agent holding a snapshot to verify it (a verify
// job; see VerifyReport). created is false when a verify job was already
// queued or running for the snapshot: that job is returned.
func (c *Client) VerifySnapshot(ctx context.Context, id string) (job *Job, created bool, err error) {
	var out Job
	status, err := c.do(ctx, call{op: "verify snapshot", method: http.MethodPost,
		path: pathf("/api/v1/snapshots/%s/verify", id), out: &out, tenant: true})
	if err != nil {
		return nil, false, err
	}
	return &out, status == http.StatusCreated, nil
}

// ListAudit lists audit events, newest first. A platform admin without a
// tenant sees every tenant's events.
func (c *Client) ListAudit(ctx context.Context, opts AuditListOptions) (*Page[AuditEvent], error) {
	q := listQuery(opts.ListOptions)
	setIf(q, "action", opts.Action)
	setIf(q, "object_id", opts.ObjectID)
	var out Page[AuditEvent]
	_, err := c.do(ctx, call{op: "list audit events", method: http.MethodGet, path: "/api/v1/audit",
		query: q, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
