package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// Storage targets (docs/storage.md). The routes are AccessOperator: a
// target is a tenant's or the platform's, so the handlers resolve the
// scope themselves (storageScope). Tenants see their own targets and the
// platform's; another tenant's are 404; platform targets are changed by
// platform admins only.

// storageScope is whose targets the call sees: a tenant token's tenant
// (and the platform's); a platform admin's ?tenant_id (and the platform's),
// or every target when it names none.
func (s *Server) storageScope(ctx context.Context, c *call) (store.StorageScope, error) {
	named := c.r.URL.Query().Get("tenant_id")
	if c.caller.Kind == sdk.TokenTenant {
		if named != "" && named != c.caller.TenantID {
			return store.StorageScope{}, sdk.Errorf(sdk.CodePermissionDenied, "tenant_id names another tenant than the token's")
		}
		c.tenantID = c.caller.TenantID
		return store.StorageScope{TenantID: c.tenantID}, nil
	}
	if named == "" {
		return store.StorageScope{Any: true}, nil
	}
	if _, err := s.tenant(ctx, named); err != nil {
		return store.StorageScope{}, err
	}
	c.tenantID = named
	return store.StorageScope{TenantID: named}, nil
}

// POST /api/v1/storage-targets
func (s *Server) createStorageTarget(ctx context.Context, c *call) (int, any, error) {
	var req sdk.CreateStorageTargetRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	sc, err := s.storageScope(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	tenantID, err := targetOwner(c, sc, req.Platform)
	if err != nil {
		return 0, nil, err
	}
	prefix, f := validate.StorageTarget(&req)
	if err := s.checkTargetCredential(ctx, f, tenantID, req.CredentialID); err != nil {
		return 0, nil, err
	}
	if len(f) > 0 {
		return 0, nil, sdk.FieldErrors(f)
	}
	now := s.now()
	t := &store.StorageTarget{ID: store.NewID(), TenantID: ptr(tenantID), Name: req.Name, Type: string(req.Type),
		Endpoint: req.Endpoint, Bucket: req.Bucket, Region: req.Region, Prefix: prefix, PathStyle: req.PathStyle,
		CredentialID: req.CredentialID, CreatedAt: now, UpdatedAt: now}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.CreateStorageTarget(ctx, tx, t); err != nil {
			return conflictAs(err, "a storage target named %q already exists", req.Name)
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: tenantID, Action: "storage_target.create",
			ObjectType: "storage_target", ObjectID: t.ID, Details: map[string]any{"name": t.Name, "type": t.Type,
				"endpoint": t.Endpoint, "bucket": t.Bucket, "platform": t.Platform()}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "create storage target")
	}
	return http.StatusCreated, storageTargetOut(c, t), nil
}

// targetOwner is the tenant a new target belongs to ("" = the platform),
// checking that the caller may make it.
func targetOwner(c *call, sc store.StorageScope, platform bool) (string, error) {
	switch {
	case platform && !c.caller.IsPlatformAdmin():
		return "", sdk.Errorf(sdk.CodePermissionDenied, "platform storage targets need a platform admin token; "+
			"hint: leave out platform to make a target of your tenant")
	case platform && sc.TenantID != "":
		return "", fieldError("tenant_id", "must be left out for a platform storage target")
	case platform:
		return "", nil
	case sc.TenantID == "":
		return "", &sdk.Error{Code: sdk.CodeInvalidArgument,
			Message: "platform admin tokens must name a tenant or make a platform target; hint: add ?tenant_id=ID " +
				"(xv --tenant ID) or set platform (xv storage create --platform)",
			Fields: map[string]string{"tenant_id": "is required unless platform is set"}}
	case !c.caller.CanWrite(sc.TenantID):
		return "", sdk.Errorf(sdk.CodePermissionDenied, "role %s is read-only; hint: use an owner or admin token", c.caller.Role)
	}
	return sc.TenantID, nil
}

// checkTargetCredential adds a problem to f unless id names an
// s3_access_key credential of the target's scope: the tenant's own, or a
// platform credential for a platform target. Another tenant's credential
// is "not found", like a missing one.
func (s *Server) checkTargetCredential(ctx context.Context, f validate.Fields, tenantID, id string) error {
	if id == "" {
		return nil
	}
	var cred *store.Credential
	var err error
	if tenantID == "" {
		cred, err = store.GetPlatformCredential(ctx, s.db, id)
	} else {
		cred, err = store.GetCredential(ctx, s.db, tenantID, id)
	}
	switch {
	case errors.Is(err, store.ErrNotFound) && tenantID == "":
		f.Add("credential_id", "not found among the platform credentials (hint: xv credential create --platform)")
	case errors.Is(err, store.ErrNotFound):
		f.Add("credential_id", "not found")
	case err != nil:
		return wrapf(err, "check credential of storage target")
	case cred.Kind != string(sdk.CredentialS3AccessKey):
		f.Add("credential_id", "must be an s3_access_key credential, not "+cred.Kind)
	}
	return nil
}

// GET /api/v1/storage-targets
func (s *Server) listStorageTargets(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	sc, err := s.storageScope(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	rows, next, err := store.ListStorageTargets(ctx, s.db, sc, lp)
	if err != nil {
		return 0, nil, wrapf(err, "list storage targets")
	}
	return http.StatusOK, page(rows, next, func(t *store.StorageTarget) sdk.StorageTarget {
		return storageTargetOut(c, t)
	}), nil
}

// GET /api/v1/storage-targets/{id}
func (s *Server) getStorageTarget(ctx context.Context, c *call) (int, any, error) {
	sc, err := s.storageScope(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	t, err := store.GetStorageTarget(ctx, s.db, sc, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "storage target"), "get storage target")
	}
	return http.StatusOK, storageTargetOut(c, t), nil
}

// DELETE /api/v1/storage-targets/{id}: 409 while sources, snapshots or a
// tenant's default use it.
func (s *Server) deleteStorageTarget(ctx context.Context, c *call) (int, any, error) {
	sc, err := s.storageScope(ctx, c)
	if err != nil {
		return 0, nil, err
	}
	id := c.r.PathValue("id")
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		t, err := store.GetStorageTarget(ctx, tx, sc, id)
		if err != nil {
			return notFoundAs(err, "storage target")
		}
		if err := mayChangeTarget(c, t); err != nil {
			return err
		}
		u, err := store.StorageTargetUsage(ctx, tx, id)
		if err != nil {
			return err
		}
		if u.InUse() {
			return sdk.Errorf(sdk.CodeConflict, "storage target %s is used by %s; hint: point the sources elsewhere "+
				"(xv source update ID --storage local_fs), clear tenant defaults and delete or move its snapshots first", id, u)
		}
		if err := store.DeleteStorageTarget(ctx, tx, sc, id); err != nil {
			return conflictAs(notFoundAs(err, "storage target"), "storage target %s is in use", id)
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: deref(t.TenantID), Action: "storage_target.delete",
			ObjectType: "storage_target", ObjectID: id, Details: map[string]any{"name": t.Name}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "delete storage target")
	}
	return http.StatusNoContent, nil, nil
}

// mayChangeTarget: platform targets are the platform admins'; a tenant
// target its owners' and admins'.
func mayChangeTarget(c *call, t *store.StorageTarget) error {
	switch {
	case t.Platform() && !c.caller.IsPlatformAdmin():
		return sdk.Errorf(sdk.CodePermissionDenied, "storage target %s is a platform target; only platform admins change it", t.ID)
	case !t.Platform() && !c.caller.CanWrite(*t.TenantID):
		return sdk.Errorf(sdk.CodePermissionDenied, "role %s is read-only; hint: use an owner or admin token", c.caller.Role)
	}
	return nil
}

// storageTargetOut shows a target; a tenant looking at a platform target
// does not see which platform credential it uses.
func storageTargetOut(c *call, t *store.StorageTarget) sdk.StorageTarget {
	out := sdk.StorageTarget{ID: t.ID, TenantID: deref(t.TenantID), Platform: t.Platform(), Name: t.Name,
		Type: sdk.StorageType(t.Type), Endpoint: t.Endpoint, Bucket: t.Bucket, Region: t.Region, Prefix: t.Prefix,
		PathStyle: t.PathStyle, CredentialID: t.CredentialID, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	if t.Platform() && !c.caller.IsPlatformAdmin() {
		out.CredentialID = ""
	}
	return out
}

// checkSourceStorage adds a problem to f unless id ("" = none) names a
// storage target the tenant may use: its own or a platform one. Another
// tenant's target is "not found", like a missing one.
func (s *Server) checkSourceStorage(ctx context.Context, db bun.IDB, f validate.Fields, field, tenantID, id string) error {
	if id == "" {
		return nil
	}
	_, err := store.GetStorageTarget(ctx, db, store.StorageScope{TenantID: tenantID}, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		f.Add(field, "not found (hint: xv storage list shows the targets this tenant may use)")
	case err != nil:
		return wrapf(err, "check storage target")
	}
	return nil
}
