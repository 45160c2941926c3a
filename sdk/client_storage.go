package sdk

import (
	"context"
	"net/http"
)

// CreateStorageTarget makes a storage target. A platform target is sent
// without tenant_id even when the client names a tenant.
func (c *Client) CreateStorageTarget(ctx context.Context, req CreateStorageTargetRequest) (*StorageTarget, error) {
	var out StorageTarget
	_, err := c.do(ctx, call{op: "create storage target", method: http.MethodPost, path: "/api/v1/storage-targets",
		body: req, out: &out, tenant: !req.Platform})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListStorageTargets lists the targets the caller may use: the tenant's own
// and the platform's (a platform admin naming no tenant sees every target).
func (c *Client) ListStorageTargets(ctx context.Context, opts ListOptions) (*Page[StorageTarget], error) {
	var out Page[StorageTarget]
	_, err := c.do(ctx, call{op: "list storage targets", method: http.MethodGet, path: "/api/v1/storage-targets",
		query: listQuery(opts), out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetStorageTarget fetches one storage target (without its secret).
func (c *Client) GetStorageTarget(ctx context.Context, id string) (*StorageTarget, error) {
	var out StorageTarget
	_, err := c.do(ctx, call{op: "get storage target", method: http.MethodGet,
		path: pathf("/api/v1/storage-targets/%s", id), out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteStorageTarget deletes a storage target; ErrConflict while sources,
// snapshots or a tenant's default use it.
func (c *Client) DeleteStorageTarget(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{op: "delete storage target", method: http.MethodDelete,
		path: pathf("/api/v1/storage-targets/%s", id), tenant: true})
	return err
}

// UpdateTenant changes a tenant's settings (its default storage target).
func (c *Client) UpdateTenant(ctx context.Context, id string, req UpdateTenantRequest) (*Tenant, error) {
	var out Tenant
	_, err := c.do(ctx, call{op: "update tenant", method: http.MethodPatch, path: pathf("/api/v1/tenants/%s", id),
		body: req, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CreatePlatformCredential stores a credential that belongs to no tenant
// (platform admins only), for platform storage targets.
func (c *Client) CreatePlatformCredential(ctx context.Context, req CreateCredentialRequest) (*Credential, error) {
	var out Credential
	_, err := c.do(ctx, call{op: "create platform credential", method: http.MethodPost,
		path: "/api/v1/admin/credentials", body: req, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListPlatformCredentials lists the platform's credentials.
func (c *Client) ListPlatformCredentials(ctx context.Context, opts ListOptions) (*Page[Credential], error) {
	var out Page[Credential]
	_, err := c.do(ctx, call{op: "list platform credentials", method: http.MethodGet,
		path: "/api/v1/admin/credentials", query: listQuery(opts), out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetPlatformCredential fetches one platform credential (without its secret).
func (c *Client) GetPlatformCredential(ctx context.Context, id string) (*Credential, error) {
	var out Credential
	_, err := c.do(ctx, call{op: "get platform credential", method: http.MethodGet,
		path: pathf("/api/v1/admin/credentials/%s", id), out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeletePlatformCredential deletes a platform credential; ErrConflict while
// a storage target uses it.
func (c *Client) DeletePlatformCredential(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{op: "delete platform credential", method: http.MethodDelete,
		path: pathf("/api/v1/admin/credentials/%s", id)})
	return err
}

// TestStorageTarget queues a test of a storage target (a test_connection
// job run by an agent that can reach object storage); wait for it with
// WaitJob and read Job.Test. A platform target is tested below the prefix
// of the client's tenant, which must then be set.
func (c *Client) TestStorageTarget(ctx context.Context, id string) (*Job, error) {
	var out Job
	_, err := c.do(ctx, call{op: "test storage target", method: http.MethodPost,
		path: pathf("/api/v1/storage-targets/%s/test", id), body: struct{}{}, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CopySnapshot queues a copy job that moves a snapshot's chain to another
// storage (req.Move must be set); wait for it with WaitJob.
func (c *Client) CopySnapshot(ctx context.Context, id string, req CopySnapshotRequest) (*Job, error) {
	var out Job
	_, err := c.do(ctx, call{op: "copy snapshot", method: http.MethodPost,
		path: pathf("/api/v1/snapshots/%s/copy", id), body: req, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
