package sdk

import (
	"context"
	"net/http"
)

// CreateRestore queues a restore of a snapshot into a download.
func (c *Client) CreateRestore(ctx context.Context, snapshotID string, req CreateRestoreRequest) (*Restore, error) {
	var out Restore
	_, err := c.do(ctx, call{op: "create restore", method: http.MethodPost,
		path: pathf("/api/v1/snapshots/%s/restore", snapshotID), body: req, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListRestores lists restores, newest first.
func (c *Client) ListRestores(ctx context.Context, opts RestoreListOptions) (*Page[Restore], error) {
	q := listQuery(opts.ListOptions)
	setIf(q, "snapshot_id", opts.SnapshotID)
	var out Page[Restore]
	_, err := c.do(ctx, call{op: "list restores", method: http.MethodGet, path: "/api/v1/restores",
		query: q, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetRestore fetches one restore; DownloadURL is set while it is ready.
func (c *Client) GetRestore(ctx context.Context, id string) (*Restore, error) {
	var out Restore
	_, err := c.do(ctx, call{op: "get restore", method: http.MethodGet, path: pathf("/api/v1/restores/%s", id),
		out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListSettings lists the platform settings (platform admins).
func (c *Client) ListSettings(ctx context.Context) ([]Setting, error) {
	var out Page[Setting]
	_, err := c.do(ctx, call{op: "list settings", method: http.MethodGet, path: "/api/v1/admin/settings", out: &out})
	if err != nil {
		return nil, err
	}
	return out.Items, nil
}

// GetSetting fetches one setting.
func (c *Client) GetSetting(ctx context.Context, key string) (*Setting, error) {
	var out Setting
	_, err := c.do(ctx, call{op: "get setting", method: http.MethodGet, path: pathf("/api/v1/admin/settings/%s", key), out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// PutSetting changes one setting.
func (c *Client) PutSetting(ctx context.Context, key, value string) (*Setting, error) {
	var out Setting
	_, err := c.do(ctx, call{op: "put setting", method: http.MethodPut, path: pathf("/api/v1/admin/settings/%s", key),
		body: PutSettingRequest{Value: value}, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// TenantIdentity fetches the tenant's age identity for the restore lease
// held, encrypted to the agent's own recipient (agents only).
func (c *Client) TenantIdentity(ctx context.Context, jobID string, lease LeaseRef) (*TenantIdentityRelease, error) {
	var out TenantIdentityRelease
	_, err := c.do(ctx, call{op: "fetch tenant identity", method: http.MethodPost,
		path: pathf("/api/v1/agent/jobs/%s/tenant-identity", jobID), body: lease, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ReportDownload records that the agent served a restore's download (agents only).
func (c *Client) ReportDownload(ctx context.Context, restoreID string, req DownloadReport) error {
	_, err := c.do(ctx, call{op: "report download", method: http.MethodPost,
		path: pathf("/api/v1/agent/restores/%s/downloads", restoreID), body: req})
	return err
}
