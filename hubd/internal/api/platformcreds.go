package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/keys"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// Platform credentials (/api/v1/admin/credentials, platform admins only):
// credentials of no tenant, for platform storage targets. They are sealed
// like a tenant's (AD = keys.CredentialAD("", id), which no tenant
// credential's AD equals: tenant ids are never empty) and never returned.

// sealCredential seals the secret of req for credential id of tenantID
// ("" = the platform).
func (s *Server) sealCredential(req *sdk.CreateCredentialRequest, tenantID, id string) ([]byte, string, error) {
	payload, err := json.Marshal(sdk.SecretPayload{Kind: req.Kind, Password: req.Password,
		PrivateKey: req.PrivateKey, Passphrase: req.Passphrase,
		AccessKeyID: req.AccessKeyID, SecretAccessKey: req.SecretAccessKey})
	if err != nil {
		return nil, "", wrapf(err, "encode credential")
	}
	sealed, kekID, err := s.cfg.Keys.Seal(payload, keys.CredentialAD(tenantID, id))
	if err != nil {
		return nil, "", wrapf(err, "seal credential")
	}
	return sealed, kekID, nil
}

// POST /api/v1/admin/credentials
func (s *Server) createPlatformCredential(ctx context.Context, c *call) (int, any, error) {
	var req sdk.CreateCredentialRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	f := validate.Credential(&req)
	if req.Kind != "" && req.Kind != sdk.CredentialS3AccessKey {
		f.Add("kind", "must be s3_access_key: platform credentials serve platform storage targets only")
	}
	if len(f) > 0 {
		return 0, nil, sdk.FieldErrors(f)
	}
	now := s.now()
	cred := &store.Credential{ID: store.NewID(), Name: req.Name, Kind: string(req.Kind), CreatedAt: now, UpdatedAt: now}
	var err error
	if cred.Ciphertext, cred.KEKID, err = s.sealCredential(&req, "", cred.ID); err != nil {
		return 0, nil, err
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.CreateCredential(ctx, tx, cred); err != nil {
			return conflictAs(err, "a platform credential named %q already exists", req.Name)
		}
		return s.audit(ctx, tx, c, auditEntry{Action: "credential.create", ObjectType: "credential",
			ObjectID: cred.ID, Details: map[string]any{"name": cred.Name, "kind": cred.Kind, "platform": true}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "create platform credential")
	}
	return http.StatusCreated, credentialOut(cred), nil
}

// GET /api/v1/admin/credentials
func (s *Server) listPlatformCredentials(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	rows, next, err := store.ListPlatformCredentials(ctx, s.db, lp)
	if err != nil {
		return 0, nil, wrapf(err, "list platform credentials")
	}
	return http.StatusOK, page(rows, next, credentialOut), nil
}

// GET /api/v1/admin/credentials/{id}
func (s *Server) getPlatformCredential(ctx context.Context, c *call) (int, any, error) {
	cred, err := store.GetPlatformCredential(ctx, s.db, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "platform credential"), "get platform credential")
	}
	return http.StatusOK, credentialOut(cred), nil
}

// DELETE /api/v1/admin/credentials/{id}: 409 while a storage target uses it.
func (s *Server) deletePlatformCredential(ctx context.Context, c *call) (int, any, error) {
	id := c.r.PathValue("id")
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.DeletePlatformCredential(ctx, tx, id); err != nil {
			return conflictAs(notFoundAs(err, "platform credential"),
				"platform credential %s is used by a storage target; hint: delete the target first", id)
		}
		return s.audit(ctx, tx, c, auditEntry{Action: "credential.delete", ObjectType: "credential", ObjectID: id,
			Details: map[string]any{"platform": true}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "delete platform credential")
	}
	return http.StatusNoContent, nil, nil
}
