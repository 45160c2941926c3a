package api

import (
	"context"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/keys"

	"github.com/xvault/xvault/sdk"
)

// POST /api/v1/tenants/{id}/key/export: the tenant's age identity, for
// disaster recovery. Platform admins and the tenant's owners and admins.
func (s *Server) exportTenantKey(ctx context.Context, c *call) (int, any, error) {
	id, err := s.visibleTenant(c)
	if err != nil {
		return 0, nil, err
	}
	if !c.caller.CanWrite(id) {
		return 0, nil, sdk.Errorf(sdk.CodePermissionDenied, "exporting the tenant key needs an owner or admin token")
	}
	if _, err := decodeOptionalEmpty(c); err != nil {
		return 0, nil, err
	}
	_, key, err := s.tenantWithKey(ctx, id)
	if err != nil {
		return 0, nil, err
	}
	identity, err := s.cfg.Keys.Open(key.EncryptedPrivateKey, keys.TenantKeyAD(id), key.KEKID)
	if err != nil {
		return 0, nil, wrapf(err, "open key %s of tenant %s", key.ID, id)
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return s.audit(ctx, tx, c, auditEntry{TenantID: id, Action: "tenant_key.export", ObjectType: "tenant_key",
			ObjectID: key.ID})
	})
	if err != nil {
		return 0, nil, wrapf(err, "export tenant key")
	}
	return http.StatusOK, sdk.TenantKeyExport{TenantID: id, KeyID: key.ID, PublicKey: key.PublicKey,
		Identity: string(identity)}, nil
}

// decodeOptionalEmpty accepts an empty body or an empty JSON object.
func decodeOptionalEmpty(c *call) (struct{}, error) {
	var v struct{}
	return v, decodeOptional(c, &v)
}
