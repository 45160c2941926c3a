package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/store/storetest"
	"github.com/xvault/xvault/sdk"
)

func TestNewSecret(t *testing.T) {
	t.Parallel()
	s1, h1, err := NewSecret(PrefixAgent)
	require.NoError(t, err)
	s2, _, err := NewSecret(PrefixAgent)
	require.NoError(t, err)
	require.NotEqual(t, s1, s2)
	require.True(t, strings.HasPrefix(s1, "xva_"))
	require.True(t, wellFormed(s1, PrefixAgent))
	require.False(t, wellFormed(s1, PrefixOperator))
	require.Equal(t, h1, Hash(s1))
	require.Len(t, h1, 32)
}

func TestBearerToken(t *testing.T) {
	t.Parallel()
	for header, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "Bearer": "", "": ""} {
		got, ok := BearerToken(header)
		require.Equal(t, want, got, header)
		require.Equal(t, want != "", ok, header)
	}
}

func TestResolve(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			db := storetest.Open(t, d)
			secret, row, err := CreatePlatformToken(ctx, db, "ops", time.Now())
			require.NoError(t, err)
			r := &Resolver{DB: db}
			c, err := r.Resolve(ctx, "Bearer "+secret)
			require.NoError(t, err)
			require.Equal(t, &Caller{Kind: sdk.TokenPlatformAdmin, TokenID: row.ID}, c)
			require.True(t, c.IsPlatformAdmin() && c.IsOperator() && c.CanWrite("any") && !c.IsAgent())

			for _, bad := range []string{"", "Bearer ", "Bearer xvt_short", "Bearer " + strings.Replace(secret, "xvt_", "xva_", 1)} {
				_, err := r.Resolve(ctx, bad)
				require.ErrorIs(t, err, sdk.ErrUnauthenticated, bad)
			}
			_, err = store.RevokeAPIToken(ctx, db, "", row.ID, time.Now())
			if err == nil {
				_, err = r.Resolve(ctx, "Bearer "+secret)
				require.ErrorIs(t, err, sdk.ErrUnauthenticated)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	owner := &Caller{Kind: sdk.TokenTenant, TenantID: "t1", Role: sdk.RoleOwner}
	admin := &Caller{Kind: sdk.TokenTenant, TenantID: "t1", Role: sdk.RoleAdmin}
	member := &Caller{Kind: sdk.TokenTenant, TenantID: "t1", Role: sdk.RoleMember}
	agent := &Caller{Kind: sdk.TokenAgent, AgentID: "a1"}
	require.True(t, owner.CanWrite("t1") && admin.CanWrite("t1"))
	require.False(t, member.CanWrite("t1") || owner.CanWrite("t2") || agent.CanWrite("t1"))
	require.True(t, owner.CanGrant(sdk.RoleOwner) && admin.CanGrant(sdk.RoleMember))
	require.False(t, admin.CanGrant(sdk.RoleOwner) || member.CanGrant(sdk.RoleMember))
	require.True(t, agent.IsAgent() && !agent.IsOperator())
	require.Equal(t, "a1", agent.ActorID())
}
