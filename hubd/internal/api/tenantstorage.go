package api

import (
	"context"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// PATCH /api/v1/tenants/{id}: change a tenant's settings (today its
// default storage target). Owners and admins of the tenant, or a platform
// admin; another tenant is 404.
func (s *Server) updateTenant(ctx context.Context, c *call) (int, any, error) {
	var req sdk.UpdateTenantRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	id, err := s.visibleTenant(c)
	if err != nil {
		return 0, nil, err
	}
	if !c.caller.CanWrite(id) {
		return 0, nil, sdk.Errorf(sdk.CodePermissionDenied, "role %s is read-only; hint: use an owner or admin token", c.caller.Role)
	}
	if _, err := s.tenant(ctx, id); err != nil {
		return 0, nil, err
	}
	if req.DefaultStorageID == nil {
		return 0, nil, fieldError("default_storage_id", "is the only setting and was not given")
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		f := validate.Fields{}
		if err := s.checkSourceStorage(ctx, tx, f, "default_storage_id", id, *req.DefaultStorageID); err != nil {
			return err
		}
		if len(f) > 0 {
			return sdk.FieldErrors(f)
		}
		if err := store.SetTenantDefaultStorage(ctx, tx, id, ptr(*req.DefaultStorageID), s.now()); err != nil {
			return notFoundAs(err, "tenant")
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: id, Action: "tenant.update", ObjectType: "tenant", ObjectID: id,
			Details: map[string]any{"default_storage_id": *req.DefaultStorageID}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "update tenant")
	}
	t, key, err := s.tenantWithKey(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, tenantOut(t, key), nil
}
