package api

import (
	"context"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/keys"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

const tenantKeyAlgorithm = "age-x25519"

// POST /api/v1/tenants
func (s *Server) createTenant(ctx context.Context, c *call) (int, any, error) {
	var req sdk.CreateTenantRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	f := validate.Fields{}
	validate.Name(f, "name", req.Name)
	if len(req.Plan) > 50 {
		f.Add("plan", "must be at most 50 characters")
	}
	if len(f) > 0 {
		return 0, nil, sdk.FieldErrors(f)
	}
	if req.Plan == "" {
		req.Plan = "default"
	}
	now := s.now()
	t := &store.Tenant{ID: store.NewID(), Name: req.Name, Plan: req.Plan, CreatedAt: now, UpdatedAt: now}
	key, err := s.newTenantKey(t.ID)
	if err != nil {
		return 0, nil, err
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.CreateTenant(ctx, tx, t, key); err != nil {
			return conflictAs(err, "a tenant named %q already exists", req.Name)
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: t.ID, Action: "tenant.create", ObjectType: "tenant",
			ObjectID: t.ID, Details: map[string]any{"name": t.Name, "plan": t.Plan, "key_id": key.ID}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "create tenant")
	}
	return http.StatusCreated, tenantOut(t, key), nil
}

// newTenantKey makes the tenant's age identity, sealed with the KEK.
func (s *Server) newTenantKey(tenantID string) (*store.TenantKey, error) {
	identity, err := keys.NewTenantIdentity()
	if err != nil {
		return nil, err
	}
	recipient := identity.Recipient().String()
	sealed, kekID, err := s.cfg.Keys.Seal([]byte(identity.String()), keys.TenantKeyAD(tenantID))
	if err != nil {
		return nil, wrapf(err, "seal tenant identity")
	}
	now := s.now()
	return &store.TenantKey{
		ID: store.NewID(), TenantID: tenantID, Algorithm: tenantKeyAlgorithm, PublicKey: recipient,
		EncryptedPrivateKey: sealed, KEKID: kekID, KeyStatus: "active", CreatedAt: now, UpdatedAt: now,
	}, nil
}

// GET /api/v1/tenants: every tenant for platform admins, its own for a tenant token.
func (s *Server) listTenants(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	if !c.caller.IsPlatformAdmin() {
		t, key, err := s.tenantWithKey(ctx, c.caller.TenantID)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, sdk.Page[sdk.Tenant]{Items: []sdk.Tenant{tenantOut(t, key)}}, nil
	}
	rows, next, err := store.ListTenants(ctx, s.db, lp)
	if err != nil {
		return 0, nil, wrapf(err, "list tenants")
	}
	items := make([]sdk.Tenant, 0, len(rows))
	for i := range rows {
		key, err := store.ActiveTenantKey(ctx, s.db, rows[i].ID)
		if err != nil {
			return 0, nil, wrapf(err, "list tenants: key of %s", rows[i].ID)
		}
		items = append(items, tenantOut(&rows[i], key))
	}
	return http.StatusOK, sdk.Page[sdk.Tenant]{Items: items, NextCursor: next}, nil
}

// GET /api/v1/tenants/{id}
func (s *Server) getTenant(ctx context.Context, c *call) (int, any, error) {
	id, err := s.visibleTenant(c)
	if err != nil {
		return 0, nil, err
	}
	t, key, err := s.tenantWithKey(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, tenantOut(t, key), nil
}

// visibleTenant is the {id} of a /tenants route if the caller may see it;
// another tenant is 404, like a missing one.
func (s *Server) visibleTenant(c *call) (string, error) {
	id := c.r.PathValue("id")
	if !c.caller.IsPlatformAdmin() && id != c.caller.TenantID {
		return "", sdk.Errorf(sdk.CodeNotFound, "tenant not found")
	}
	c.tenantID = id
	return id, nil
}

func (s *Server) tenant(ctx context.Context, id string) (*store.Tenant, error) {
	t, err := store.GetTenant(ctx, s.db, id)
	return t, wrapf(notFoundAs(err, "tenant"), "get tenant")
}

func (s *Server) tenantWithKey(ctx context.Context, id string) (*store.Tenant, *store.TenantKey, error) {
	t, err := s.tenant(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	key, err := store.ActiveTenantKey(ctx, s.db, id)
	if err != nil {
		return nil, nil, wrapf(err, "get key of tenant %s", id)
	}
	return t, key, nil
}

func tenantOut(t *store.Tenant, key *store.TenantKey) sdk.Tenant {
	out := sdk.Tenant{ID: t.ID, Name: t.Name, Plan: t.Plan, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		DefaultStorageID: deref(t.DefaultStorageID)}
	if key != nil {
		out.PublicKey = key.PublicKey
	}
	return out
}
