package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// lastUsedGranularity: TokenByHash writes last_used_at at most this often per
// token, so authentication is not a write on every request.
const lastUsedGranularity = time.Minute

// CreateAPIToken inserts a token (kind tenant needs tenant id and role, kind
// agent needs agent id, platform_admin has no tenant). A duplicate hash is
// ErrConflict; an inconsistent kind/tenant/role is ErrConflict (check).
func CreateAPIToken(ctx context.Context, db bun.IDB, t *APIToken) error {
	if t.ID == "" {
		t.ID = NewID()
	}
	t.CreatedAt = nowOr(t.CreatedAt)
	if _, err := db.NewInsert().Model(t).Exec(ctx); err != nil {
		return mapErr("create api token", err)
	}
	return nil
}

// TokenByHash returns the token with this hash if it is not revoked and not
// expired at now; otherwise ErrNotFound. It also bumps last_used_at (coarsely).
func TokenByHash(ctx context.Context, db bun.IDB, hash []byte, now time.Time) (*APIToken, error) {
	now = nowOr(now)
	t := new(APIToken)
	err := db.NewSelect().Model(t).
		Where("token_hash = ?", hash).
		Where("revoked_at IS NULL").
		Where("(expires_at IS NULL OR expires_at > ?)", now).
		Scan(ctx)
	if err != nil {
		return nil, mapErr("look up api token", err)
	}
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= lastUsedGranularity {
		_, err := db.NewUpdate().Model((*APIToken)(nil)).
			Set("last_used_at = ?", now).
			Where("id = ?", t.ID).
			Where("(last_used_at IS NULL OR last_used_at < ?)", now.Add(-lastUsedGranularity)).
			Exec(ctx)
		if err != nil {
			return nil, mapErr("bump api token last use", err)
		}
		t.LastUsedAt = &now
	}
	return t, nil
}

// ListAPITokens lists tokens of a tenant (tenantID != "") or platform tokens (tenantID == "").
// Platform tokens are those without a tenant: platform_admin and agent tokens.
func ListAPITokens(ctx context.Context, db bun.IDB, tenantID string, p ListParams) ([]APIToken, string, error) {
	return listPage(ctx, db, p, "list api tokens",
		func(t *APIToken) (time.Time, string) { return t.CreatedAt, t.ID },
		func(q *bun.SelectQuery) *bun.SelectQuery { return whereTenantOrNull(q, tenantID) })
}

func whereTenantOrNull(q *bun.SelectQuery, tenantID string) *bun.SelectQuery {
	if tenantID == "" {
		return q.Where("?TableAlias.tenant_id IS NULL")
	}
	return q.Where("?TableAlias.tenant_id = ?", tenantID)
}

// RevokeAPIToken sets revoked_at on a token of the tenant (tenantID "" = a
// token without tenant). Revoking a revoked token returns it unchanged.
func RevokeAPIToken(ctx context.Context, db bun.IDB, tenantID, id string, now time.Time) (*APIToken, error) {
	t := new(APIToken)
	q := db.NewSelect().Model(t).Where("id = ?", id)
	if err := whereTenantOrNull(q, tenantID).Scan(ctx); err != nil {
		return nil, mapErr("revoke api token", err)
	}
	if t.RevokedAt != nil {
		return t, nil
	}
	now = nowOr(now)
	_, err := db.NewUpdate().Model((*APIToken)(nil)).
		Set("revoked_at = ?", now).
		Where("id = ?", id).Where("revoked_at IS NULL").
		Exec(ctx)
	if err != nil {
		return nil, mapErr("revoke api token", err)
	}
	t.RevokedAt = &now
	return t, nil
}

// CountPlatformTokens counts every platform_admin token ever created,
// revoked or expired ones included, so "no platform token yet" (bootstrap)
// is true exactly once in a database's life.
func CountPlatformTokens(ctx context.Context, db bun.IDB) (int, error) {
	n, err := db.NewSelect().Model((*APIToken)(nil)).Where("kind = 'platform_admin'").Count(ctx)
	if err != nil {
		return 0, mapErr("count platform tokens", err)
	}
	return int(n), nil
}

// CreateEnrollmentToken inserts an agent enrollment token (MaxUses 0 = 1).
func CreateEnrollmentToken(ctx context.Context, db bun.IDB, t *EnrollmentToken) error {
	if t.ID == "" {
		t.ID = NewID()
	}
	if t.MaxUses == 0 {
		t.MaxUses = 1
	}
	t.CreatedAt = nowOr(t.CreatedAt)
	t.ExpiresAt = utcMicro(t.ExpiresAt)
	if _, err := db.NewInsert().Model(t).Exec(ctx); err != nil {
		return mapErr("create enrollment token", err)
	}
	return nil
}

// ListEnrollmentTokens lists enrollment tokens, newest first.
func ListEnrollmentTokens(ctx context.Context, db bun.IDB, p ListParams) ([]EnrollmentToken, string, error) {
	return listPage(ctx, db, p, "list enrollment tokens",
		func(t *EnrollmentToken) (time.Time, string) { return t.CreatedAt, t.ID }, nil)
}

// RevokeEnrollmentToken sets revoked_at (idempotent); ErrNotFound if no such token.
func RevokeEnrollmentToken(ctx context.Context, db bun.IDB, id string, now time.Time) (*EnrollmentToken, error) {
	_, err := db.NewUpdate().Model((*EnrollmentToken)(nil)).
		Set("revoked_at = ?", nowOr(now)).
		Where("id = ?", id).Where("revoked_at IS NULL").
		Exec(ctx)
	if err != nil {
		return nil, mapErr("revoke enrollment token", err)
	}
	t := new(EnrollmentToken)
	if err := db.NewSelect().Model(t).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, mapErr("revoke enrollment token", err)
	}
	return t, nil
}

// UseEnrollmentToken atomically consumes one use of a live token (not expired,
// not revoked, uses < max_uses); ErrNotFound otherwise.
func UseEnrollmentToken(ctx context.Context, db bun.IDB, hash []byte, now time.Time) (*EnrollmentToken, error) {
	t := new(EnrollmentToken)
	err := db.NewUpdate().Model(t).
		Set("uses = uses + 1").
		Where("token_hash = ?", hash).
		Where("revoked_at IS NULL").
		Where("expires_at > ?", nowOr(now)).
		Where("uses < max_uses").
		Returning("*").
		Scan(ctx)
	if err != nil {
		return nil, mapErr("use enrollment token", err)
	}
	return t, nil
}
