package store_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/store"
)

func TestTenants(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		tn := &store.Tenant{Name: "acme", CreatedAt: t0}
		key := &store.TenantKey{PublicKey: "age1x", EncryptedPrivateKey: []byte{0, 1, 2, 255}, KEKID: "k1"}
		require.NoError(t, store.CreateTenant(ctx, db, tn, key))
		require.NotEmpty(t, tn.ID)
		require.Equal(t, tn.ID, key.TenantID)

		got, err := store.GetTenant(ctx, db, tn.ID)
		require.NoError(t, err)
		require.Equal(t, tn, got, "times come back UTC and equal")
		require.Equal(t, time.UTC, got.CreatedAt.Location())

		_, err = store.GetTenant(ctx, db, "not-a-uuid")
		require.ErrorIs(t, err, store.ErrNotFound)

		err = store.CreateTenant(ctx, db, &store.Tenant{Name: "acme"}, nil)
		require.ErrorIs(t, err, store.ErrConflict)

		k, err := store.ActiveTenantKey(ctx, db, tn.ID)
		require.NoError(t, err)
		require.Equal(t, []byte{0, 1, 2, 255}, k.EncryptedPrivateKey)
		require.Equal(t, "active", k.KeyStatus)
		err = store.CreateTenantKey(ctx, db, &store.TenantKey{TenantID: tn.ID, PublicKey: "p", EncryptedPrivateKey: []byte{1}, KEKID: "k"})
		require.ErrorIs(t, err, store.ErrConflict, "one active key per tenant")
		_, err = store.ActiveTenantKey(ctx, db, "nope")
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}

func TestListPagination(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		for i := range 7 {
			// two share a created_at, so the id breaks the tie
			at := t0.Add(time.Duration(i/2) * time.Second)
			require.NoError(t, store.CreateTenant(ctx, db, &store.Tenant{Name: string(rune('a' + i)), CreatedAt: at}, nil))
		}
		var seen []string
		cursor := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			page, next, err := store.ListTenants(ctx, db, store.ListParams{Limit: 3, Cursor: cursor})
			require.NoError(t, err)
			for _, tn := range page {
				seen = append(seen, tn.Name)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		require.Len(t, seen, 7)
		require.Equal(t, "g", seen[0], "newest first")
		uniq := map[string]bool{}
		for _, s := range seen {
			uniq[s] = true
		}
		require.Len(t, uniq, 7)

		_, _, err := store.ListTenants(ctx, db, store.ListParams{Cursor: "!!garbage"})
		require.ErrorIs(t, err, store.ErrInvalidArgument)
	})
}
