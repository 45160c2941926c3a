package api

import (
	"context"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// POST /api/v1/credentials: the secret is sealed with the KEK (AD = tenant
// id + credential id) and never returned or logged.
func (s *Server) createCredential(ctx context.Context, c *call) (int, any, error) {
	var req sdk.CreateCredentialRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	if f := validate.Credential(&req); len(f) > 0 {
		return 0, nil, sdk.FieldErrors(f)
	}
	now := s.now()
	cred := &store.Credential{ID: store.NewID(), TenantID: c.tenantID, Name: req.Name, Kind: string(req.Kind),
		HasPassphrase: req.Passphrase != "", CreatedAt: now, UpdatedAt: now}
	var err error
	if cred.Ciphertext, cred.KEKID, err = s.sealCredential(&req, c.tenantID, cred.ID); err != nil {
		return 0, nil, err
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.CreateCredential(ctx, tx, cred); err != nil {
			return conflictAs(err, "a credential named %q already exists", req.Name)
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "credential.create",
			ObjectType: "credential", ObjectID: cred.ID, Details: map[string]any{"name": cred.Name, "kind": cred.Kind}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "create credential")
	}
	return http.StatusCreated, credentialOut(cred), nil
}

// GET /api/v1/credentials
func (s *Server) listCredentials(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	rows, next, err := store.ListCredentials(ctx, s.db, c.tenantID, lp)
	if err != nil {
		return 0, nil, wrapf(err, "list credentials")
	}
	return http.StatusOK, page(rows, next, credentialOut), nil
}

// GET /api/v1/credentials/{id}
func (s *Server) getCredential(ctx context.Context, c *call) (int, any, error) {
	cred, err := store.GetCredential(ctx, s.db, c.tenantID, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "credential"), "get credential")
	}
	return http.StatusOK, credentialOut(cred), nil
}

// DELETE /api/v1/credentials/{id}: 409 while a source uses it.
func (s *Server) deleteCredential(ctx context.Context, c *call) (int, any, error) {
	id := c.r.PathValue("id")
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.DeleteCredential(ctx, tx, c.tenantID, id); err != nil {
			return conflictAs(notFoundAs(err, "credential"),
				"credential %s is used by a source or a storage target; hint: change or delete those first", id)
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "credential.delete",
			ObjectType: "credential", ObjectID: id})
	})
	if err != nil {
		return 0, nil, wrapf(err, "delete credential")
	}
	return http.StatusNoContent, nil, nil
}

func credentialOut(c *store.Credential) sdk.Credential {
	return sdk.Credential{ID: c.ID, TenantID: c.TenantID, Name: c.Name, Kind: sdk.CredentialKind(c.Kind),
		HasPassphrase: c.HasPassphrase, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, Platform: c.TenantID == ""}
}
