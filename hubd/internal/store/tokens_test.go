package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/store"
)

func TestAPITokens(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		n, err := store.CountPlatformTokens(ctx, db)
		require.NoError(t, err)
		require.Zero(t, n)

		admin := &store.APIToken{Kind: "platform_admin", Name: "bootstrap", TokenHash: hash("admin")}
		require.NoError(t, store.CreateAPIToken(ctx, db, admin))
		tt := &store.APIToken{Kind: "tenant", TenantID: &f.tenant.ID, Role: ptr("admin"), Name: "ci",
			TokenHash: hash("tenant"), CreatedBy: &admin.ID, ExpiresAt: ptr(t0.Add(time.Hour))}
		require.NoError(t, store.CreateAPIToken(ctx, db, tt))
		agentTok := &store.APIToken{Kind: "agent", AgentID: &f.agent.ID, TokenHash: hash("agent")}
		require.NoError(t, store.CreateAPIToken(ctx, db, agentTok))

		err = store.CreateAPIToken(ctx, db, &store.APIToken{Kind: "tenant", TenantID: &f.tenant.ID, Role: ptr("member"), TokenHash: hash("tenant")})
		require.ErrorIs(t, err, store.ErrConflict, "duplicate hash")
		err = store.CreateAPIToken(ctx, db, &store.APIToken{Kind: "tenant", TokenHash: hash("x")})
		require.ErrorIs(t, err, store.ErrConflict, "tenant token without tenant")

		got, err := store.TokenByHash(ctx, db, hash("tenant"), t0)
		require.NoError(t, err)
		require.Equal(t, tt.ID, got.ID)
		require.Equal(t, t0.Truncate(time.Microsecond), *got.LastUsedAt)
		again, err := store.TokenByHash(ctx, db, hash("tenant"), t0.Add(time.Second))
		require.NoError(t, err)
		require.Equal(t, t0.Truncate(time.Microsecond), *again.LastUsedAt, "coarse last_used_at")

		_, err = store.TokenByHash(ctx, db, hash("tenant"), t0.Add(2*time.Hour))
		require.ErrorIs(t, err, store.ErrNotFound, "expired")
		_, err = store.TokenByHash(ctx, db, hash("nope"), t0)
		require.ErrorIs(t, err, store.ErrNotFound)

		_, err = store.RevokeAPIToken(ctx, db, newTenant(t, db, "other").ID, tt.ID, t0)
		require.ErrorIs(t, err, store.ErrNotFound, "other tenant")
		_, err = store.RevokeAPIToken(ctx, db, "", tt.ID, t0)
		require.ErrorIs(t, err, store.ErrNotFound, "tenant token is not a platform token")
		rev, err := store.RevokeAPIToken(ctx, db, f.tenant.ID, tt.ID, t0)
		require.NoError(t, err)
		require.NotNil(t, rev.RevokedAt)
		rev2, err := store.RevokeAPIToken(ctx, db, f.tenant.ID, tt.ID, t0.Add(time.Minute))
		require.NoError(t, err)
		require.Equal(t, *rev.RevokedAt, *rev2.RevokedAt, "idempotent")
		_, err = store.TokenByHash(ctx, db, hash("tenant"), t0)
		require.ErrorIs(t, err, store.ErrNotFound, "revoked")

		list, _, err := store.ListAPITokens(ctx, db, f.tenant.ID, store.ListParams{})
		require.NoError(t, err)
		require.Len(t, list, 1)
		list, _, err = store.ListAPITokens(ctx, db, "", store.ListParams{})
		require.NoError(t, err)
		require.Len(t, list, 2, "platform admin and agent tokens")

		_, err = store.RevokeAPIToken(ctx, db, "", admin.ID, t0)
		require.NoError(t, err)
		n, err = store.CountPlatformTokens(ctx, db)
		require.NoError(t, err)
		require.Equal(t, 1, n, "revoked platform tokens still count")
	})
}

func TestEnrollmentTokens(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		e := &store.EnrollmentToken{Name: "rack-1", TokenHash: hash("enroll"), ExpiresAt: t0.Add(time.Hour), MaxUses: 2}
		require.NoError(t, store.CreateEnrollmentToken(ctx, db, e))
		require.ErrorIs(t, store.CreateEnrollmentToken(ctx, db,
			&store.EnrollmentToken{TokenHash: hash("enroll"), ExpiresAt: t0}), store.ErrConflict)

		_, err := store.UseEnrollmentToken(ctx, db, hash("enroll"), t0.Add(2*time.Hour))
		require.ErrorIs(t, err, store.ErrNotFound, "expired")
		u, err := store.UseEnrollmentToken(ctx, db, hash("enroll"), t0)
		require.NoError(t, err)
		require.Equal(t, 1, u.Uses)
		u, err = store.UseEnrollmentToken(ctx, db, hash("enroll"), t0)
		require.NoError(t, err)
		require.Equal(t, 2, u.Uses)
		_, err = store.UseEnrollmentToken(ctx, db, hash("enroll"), t0)
		require.ErrorIs(t, err, store.ErrNotFound, "uses exhausted")

		e2 := &store.EnrollmentToken{TokenHash: hash("e2"), ExpiresAt: t0.Add(time.Hour)}
		require.NoError(t, store.CreateEnrollmentToken(ctx, db, e2))
		require.Equal(t, 1, e2.MaxUses)
		r, err := store.RevokeEnrollmentToken(ctx, db, e2.ID, t0)
		require.NoError(t, err)
		require.NotNil(t, r.RevokedAt)
		_, err = store.UseEnrollmentToken(ctx, db, hash("e2"), t0)
		require.ErrorIs(t, err, store.ErrNotFound, "revoked")
		_, err = store.RevokeEnrollmentToken(ctx, db, "nope", t0)
		require.ErrorIs(t, err, store.ErrNotFound)

		list, _, err := store.ListEnrollmentTokens(ctx, db, store.ListParams{})
		require.NoError(t, err)
		require.Len(t, list, 2)
	})
}
