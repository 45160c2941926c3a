package store_test

import (
	"io/fs"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/migrations"
)

func TestMigrationsSameVersions(t *testing.T) {
	t.Parallel()
	pg, err := fs.Glob(migrations.Postgres, "*.sql")
	require.NoError(t, err)
	lite, err := fs.Glob(migrations.SQLite, "*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, pg)
	require.Equal(t, pg, lite, "migrations/postgres and migrations/sqlite must hold the same files")
}

func TestMigrateIdempotentAndStatus(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *store.DB) {
		require.NoError(t, store.Migrate(ctx, db), "second run is a no-op")
		st, err := store.MigrationStatus(ctx, db)
		require.NoError(t, err)
		require.NotEmpty(t, st)
		require.Equal(t, "0001", st[0].Version)
		require.Equal(t, "init", st[0].Name)
		for _, m := range st {
			require.True(t, m.Applied, m.Version)
			require.NotNil(t, m.AppliedAt)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	_, err := store.Open(ctx, "mysql://x")
	require.Error(t, err)
	_, err = store.Open(ctx, "sqlite://")
	require.Error(t, err)
	db, err := store.Open(ctx, "sqlite://"+t.TempDir()+"/fresh.db")
	require.NoError(t, err)
	defer db.Close()
	st, err := store.MigrationStatus(ctx, db)
	require.NoError(t, err)
	require.False(t, st[0].Applied)
	require.Nil(t, st[0].AppliedAt)
	var mode string
	require.NoError(t, db.NewRaw("PRAGMA journal_mode").Scan(ctx, &mode))
	require.Equal(t, "wal", mode)
	var fk int
	require.NoError(t, db.NewRaw("PRAGMA foreign_keys").Scan(ctx, &fk))
	require.Equal(t, 1, fk)
}

func TestNewID(t *testing.T) {
	t.Parallel()
	id := store.NewID()
	require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id)
	require.NotEqual(t, id, store.NewID())
}
