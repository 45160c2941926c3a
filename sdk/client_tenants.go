package sdk

import (
	"context"
	"net/http"
)

// Status answers who the caller is and how the hub is doing.
func (c *Client) Status(ctx context.Context) (*Status, error) {
	var out Status
	_, err := c.do(ctx, call{op: "get status", method: http.MethodGet, path: "/api/v1/status", out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Health checks liveness (GET /healthz); no token needed.
func (c *Client) Health(ctx context.Context) error {
	_, err := c.do(ctx, call{op: "check health", method: http.MethodGet, path: "/healthz"})
	return err
}

// Ready checks that the hub reaches its database (GET /readyz).
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.do(ctx, call{op: "check readiness", method: http.MethodGet, path: "/readyz"})
	return err
}

// CreateTenant makes a tenant and its age keypair (platform admin).
func (c *Client) CreateTenant(ctx context.Context, req CreateTenantRequest) (*Tenant, error) {
	var out Tenant
	_, err := c.do(ctx, call{op: "create tenant", method: http.MethodPost, path: "/api/v1/tenants", body: req, out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListTenants lists tenants (a tenant token sees its own).
func (c *Client) ListTenants(ctx context.Context, opts ListOptions) (*Page[Tenant], error) {
	var out Page[Tenant]
	_, err := c.do(ctx, call{op: "list tenants", method: http.MethodGet, path: "/api/v1/tenants",
		query: listQuery(opts), out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetTenant fetches one tenant.
func (c *Client) GetTenant(ctx context.Context, id string) (*Tenant, error) {
	var out Tenant
	_, err := c.do(ctx, call{op: "get tenant", method: http.MethodGet, path: pathf("/api/v1/tenants/%s", id), out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ExportTenantKey returns the tenant's age identity (audited; platform admin
// or an owner/admin of the tenant). Handle the result as a secret.
func (c *Client) ExportTenantKey(ctx context.Context, id string) (*TenantKeyExport, error) {
	var out TenantKeyExport
	_, err := c.do(ctx, call{op: "export tenant key", method: http.MethodPost,
		path: pathf("/api/v1/tenants/%s/key/export", id), out: &out})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateToken makes an operator token of the tenant; the secret is in the
// result only this once.
func (c *Client) CreateToken(ctx context.Context, req CreateTokenRequest) (*CreatedToken, error) {
	var out CreatedToken
	_, err := c.do(ctx, call{op: "create token", method: http.MethodPost, path: "/api/v1/tokens",
		body: req, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListTokens lists the tenant's tokens (never their secrets).
func (c *Client) ListTokens(ctx context.Context, opts ListOptions) (*Page[APIToken], error) {
	var out Page[APIToken]
	_, err := c.do(ctx, call{op: "list tokens", method: http.MethodGet, path: "/api/v1/tokens",
		query: listQuery(opts), out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeToken revokes a token and returns it.
func (c *Client) RevokeToken(ctx context.Context, id string) (*APIToken, error) {
	var out APIToken
	_, err := c.do(ctx, call{op: "revoke token", method: http.MethodDelete, path: pathf("/api/v1/tokens/%s", id),
		out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateCredential stores a secret sealed by the hub; it is never returned.
func (c *Client) CreateCredential(ctx context.Context, req CreateCredentialRequest) (*Credential, error) {
	var out Credential
	_, err := c.do(ctx, call{op: "create credential", method: http.MethodPost, path: "/api/v1/credentials",
		body: req, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListCredentials lists the tenant's credentials.
func (c *Client) ListCredentials(ctx context.Context, opts ListOptions) (*Page[Credential], error) {
	var out Page[Credential]
	_, err := c.do(ctx, call{op: "list credentials", method: http.MethodGet, path: "/api/v1/credentials",
		query: listQuery(opts), out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetCredential fetches one credential (without its secret).
func (c *Client) GetCredential(ctx context.Context, id string) (*Credential, error) {
	var out Credential
	_, err := c.do(ctx, call{op: "get credential", method: http.MethodGet, path: pathf("/api/v1/credentials/%s", id),
		out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteCredential deletes a credential; ErrConflict while a source uses it.
func (c *Client) DeleteCredential(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{op: "delete credential", method: http.MethodDelete,
		path: pathf("/api/v1/credentials/%s", id), tenant: true})
	return err
}
