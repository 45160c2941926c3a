package api

import (
	"context"
	"net/http"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/auth"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// maxTokenLifetime bounds expires_in of operator tokens.
const maxTokenLifetime = 10 * 365 * 24 * time.Hour

// POST /api/v1/tokens: a tenant token; owners grant any role, admins admin/member.
func (s *Server) createToken(ctx context.Context, c *call) (int, any, error) {
	var req sdk.CreateTokenRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	expires, f := checkCreateToken(&req)
	if len(f) > 0 {
		return 0, nil, sdk.FieldErrors(f)
	}
	if !c.caller.CanGrant(req.Role) {
		return 0, nil, sdk.Errorf(sdk.CodePermissionDenied, "role %s may not create %s tokens", c.caller.Role, req.Role)
	}
	secret, hash, err := auth.NewSecret(auth.PrefixOperator)
	if err != nil {
		return 0, nil, err
	}
	now := s.now()
	role := string(req.Role)
	t := &store.APIToken{ID: store.NewID(), Kind: string(sdk.TokenTenant), TenantID: &c.tenantID, Role: &role,
		Name: req.Name, TokenHash: hash, CreatedBy: &c.caller.TokenID, CreatedAt: now}
	if expires > 0 {
		at := now.Add(expires)
		t.ExpiresAt = &at
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.CreateAPIToken(ctx, tx, t); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "token.create", ObjectType: "api_token",
			ObjectID: t.ID, Details: map[string]any{"role": role, "name": t.Name, "expires_at": t.ExpiresAt}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "create token")
	}
	return http.StatusCreated, sdk.CreatedToken{APIToken: tokenOut(t), Token: secret}, nil
}

func checkCreateToken(req *sdk.CreateTokenRequest) (time.Duration, validate.Fields) {
	f := validate.Fields{}
	switch req.Role {
	case sdk.RoleOwner, sdk.RoleAdmin, sdk.RoleMember:
	case "":
		f.Add("role", "is required (owner, admin or member)")
	default:
		f.Add("role", "must be owner, admin or member")
	}
	if len(req.Name) > validate.MaxNameLen {
		f.Add("name", "must be at most 100 characters")
	}
	return parseExpiresIn(f, req.ExpiresIn, maxTokenLifetime), f
}

// parseExpiresIn reads an optional Go duration; 0 means never.
func parseExpiresIn(f validate.Fields, v string, max time.Duration) time.Duration {
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > max {
		f.Add("expires_in", "must be a positive Go duration like 720h, at most "+max.String())
		return 0
	}
	return d
}

// GET /api/v1/tokens
func (s *Server) listTokens(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	rows, next, err := store.ListAPITokens(ctx, s.db, c.tenantID, lp)
	if err != nil {
		return 0, nil, wrapf(err, "list tokens")
	}
	return http.StatusOK, page(rows, next, tokenOut), nil
}

// DELETE /api/v1/tokens/{id}: revoke. Admins may not revoke owner tokens.
func (s *Server) revokeToken(ctx context.Context, c *call) (int, any, error) {
	var out *store.APIToken
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		t, err := store.RevokeAPIToken(ctx, tx, c.tenantID, c.r.PathValue("id"), s.now())
		if err != nil {
			return notFoundAs(err, "token")
		}
		if t.Role != nil && !c.caller.CanGrant(sdk.Role(*t.Role)) {
			return sdk.Errorf(sdk.CodePermissionDenied, "role %s may not revoke %s tokens", c.caller.Role, *t.Role)
		}
		out = t
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "token.revoke", ObjectType: "api_token",
			ObjectID: t.ID})
	})
	if err != nil {
		return 0, nil, wrapf(err, "revoke token")
	}
	return http.StatusOK, tokenOut(out), nil
}

func tokenOut(t *store.APIToken) sdk.APIToken {
	return sdk.APIToken{
		ID: t.ID, Kind: sdk.TokenKind(t.Kind), TenantID: deref(t.TenantID), AgentID: deref(t.AgentID),
		Role: sdk.Role(deref(t.Role)), Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt,
		RevokedAt: t.RevokedAt, LastUsedAt: t.LastUsedAt,
	}
}
