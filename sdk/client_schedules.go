package sdk

import (
	"context"
	"net/http"
)

// CreateSchedule adds a schedule to a source.
func (c *Client) CreateSchedule(ctx context.Context, req CreateScheduleRequest) (*Schedule, error) {
	var out Schedule
	_, err := c.do(ctx, call{op: "create schedule", method: http.MethodPost, path: "/api/v1/schedules",
		body: req, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListSchedules lists the tenant's schedules, newest first.
func (c *Client) ListSchedules(ctx context.Context, opts ScheduleListOptions) (*Page[Schedule], error) {
	q := listQuery(opts.ListOptions)
	setIf(q, "source_id", opts.SourceID)
	var out Page[Schedule]
	_, err := c.do(ctx, call{op: "list schedules", method: http.MethodGet, path: "/api/v1/schedules",
		query: q, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetSchedule fetches one schedule.
func (c *Client) GetSchedule(ctx context.Context, id string) (*Schedule, error) {
	var out Schedule
	_, err := c.do(ctx, call{op: "get schedule", method: http.MethodGet, path: pathf("/api/v1/schedules/%s", id),
		out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateSchedule changes the fields set in req (pause: Enabled=false).
func (c *Client) UpdateSchedule(ctx context.Context, id string, req UpdateScheduleRequest) (*Schedule, error) {
	var out Schedule
	_, err := c.do(ctx, call{op: "update schedule", method: http.MethodPut, path: pathf("/api/v1/schedules/%s", id),
		body: req, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteSchedule removes a schedule; the source's retention policy stays.
func (c *Client) DeleteSchedule(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{op: "delete schedule", method: http.MethodDelete, path: pathf("/api/v1/schedules/%s", id),
		tenant: true})
	return err
}

// GetRetention returns a source's retention policy.
func (c *Client) GetRetention(ctx context.Context, sourceID string) (*SourceRetention, error) {
	var out SourceRetention
	_, err := c.do(ctx, call{op: "get retention", method: http.MethodGet,
		path: pathf("/api/v1/sources/%s/retention", sourceID), out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// SetRetention replaces a source's retention policy ({} keeps everything).
func (c *Client) SetRetention(ctx context.Context, sourceID string, p RetentionPolicy) (*SourceRetention, error) {
	var out SourceRetention
	_, err := c.do(ctx, call{op: "set retention", method: http.MethodPut,
		path: pathf("/api/v1/sources/%s/retention", sourceID), body: p, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// PreviewRetention says what the source's policy would do now, touching nothing.
func (c *Client) PreviewRetention(ctx context.Context, sourceID string) (*RetentionDecisions, error) {
	var out RetentionDecisions
	_, err := c.do(ctx, call{op: "preview retention", method: http.MethodGet,
		path: pathf("/api/v1/sources/%s/retention/preview", sourceID), out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// SimulateRetention runs a policy on given timestamps.
func (c *Client) SimulateRetention(ctx context.Context, req SimulateRetentionRequest) (*RetentionDecisions, error) {
	var out RetentionDecisions
	_, err := c.do(ctx, call{op: "simulate retention", method: http.MethodPost, path: "/api/v1/retention/simulate",
		body: req, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RunRetention applies retention now: every source's policy, or one
// source's when sourceID is not empty (platform admins only).
func (c *Client) RunRetention(ctx context.Context, sourceID string) (*RetentionRunResponse, error) {
	path := "/api/v1/admin/retention/run"
	if sourceID != "" {
		path = pathf("/api/v1/admin/retention/run/%s", sourceID)
	}
	var out RetentionRunResponse
	_, err := c.do(ctx, call{op: "run retention", method: http.MethodPost, path: path, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteSnapshot asks for a snapshot to be deleted: the hub marks it
// deleting and queues a delete_snapshot job for the agent holding it.
// created is false when a delete was already under way (its job is returned).
func (c *Client) DeleteSnapshot(ctx context.Context, id string) (job *Job, created bool, err error) {
	var out Job
	status, err := c.do(ctx, call{op: "delete snapshot", method: http.MethodDelete,
		path: pathf("/api/v1/snapshots/%s", id), out: &out, tenant: true})
	if err != nil {
		return nil, false, err
	}
	return &out, status == http.StatusAccepted, nil
}
