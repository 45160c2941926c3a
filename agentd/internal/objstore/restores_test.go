package objstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/internal/testutil/s3server"
)

func TestRestoreKey(t *testing.T) {
	t.Parallel()
	s := &Store{prefix: "xv/"}
	exp := time.Unix(1_800_000_000, 500)
	key, keyExp, err := s.RestoreKey("ten_1", "rst_2", exp, "restore-rst_2.tar.zst")
	require.NoError(t, err)
	require.Equal(t, time.Unix(1_800_000_001, 0), keyExp)
	require.Equal(t, "xv/restores/ten_1/rst_2.1800000001/restore-rst_2.tar.zst", key, "expiry rounded up")
	got, ok := restoreExpiry("xv/restores/ten_1/", key)
	require.True(t, ok)
	require.Equal(t, time.Unix(1_800_000_001, 0), got)

	for name, args := range map[string][3]string{
		"tenant with slash": {"ten/1", "rst_2", "f.zip"},
		"restore with dot":  {"ten_1", "rst.2", "f.zip"},
		"empty restore":     {"ten_1", "", "f.zip"},
		"dotdot file":       {"ten_1", "rst_2", ".."},
		"file with slash":   {"ten_1", "rst_2", "a/b.zip"},
	} {
		_, _, err := s.RestoreKey(args[0], args[1], exp, args[2])
		require.Errorf(t, err, name)
	}
	for _, k := range []string{
		"xv/restores/ten_1/rst_2/f.zip", "xv/restores/ten_1/rst_2.x/f.zip", "xv/restores/ten_1/.5/f.zip",
		"xv/restores/ten_1/rst_2.5/a/f.zip", "xv/restores/ten_1/rst_2.5/", "xv/restores/ten_2x/rst_2.5/f.zip",
	} {
		_, ok := restoreExpiry("xv/restores/ten_1/", k)
		require.Falsef(t, ok, "%s is not a restore key", k)
	}
}

// TestDeleteExpiredRestores: only the tenant's expired restore objects go;
// fresh ones, other tenants' and foreign keys stay; stale uploads below the
// tenant's restores are aborted.
func TestDeleteExpiredRestores(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	cfg := testConfig(srv)
	cfg.Prefix = "xv"
	s := newTestStore(t, cfg, smallParts())
	ctx := context.Background()
	now := time.Now()
	put := func(tenant, id string, exp time.Time) string {
		key, _, err := s.RestoreKey(tenant, id, exp, "restore-"+id+".zip")
		require.NoError(t, err)
		require.NoError(t, s.PutSmall(ctx, key, []byte(id)))
		return key
	}
	expired := put("ten_a", "r1", now.Add(-time.Minute))
	fresh := put("ten_a", "r2", now.Add(time.Hour))
	other := put("ten_b", "r3", now.Add(-time.Minute))
	foreign := "xv/restores/ten_a/notes.txt"
	require.NoError(t, s.PutSmall(ctx, foreign, []byte("x")))
	up, err := s.Begin(ctx, "xv/restores/ten_a/r4.1/restore-r4.zip")
	require.NoError(t, err)
	_, err = up.Write([]byte("partial"))
	require.NoError(t, err)

	deleted, aborted, err := s.DeleteExpiredRestores(ctx, "ten_a", now, now.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, 1, deleted)
	require.Equal(t, 1, aborted)
	for _, k := range []string{fresh, other, foreign} {
		_, err := s.Stat(ctx, k)
		require.NoErrorf(t, err, "%s stays", k)
	}
	_, err = s.Stat(ctx, expired)
	require.ErrorIs(t, err, ErrNotFound)
	ups, err := s.ListUploads(ctx, "xv/restores/")
	require.NoError(t, err)
	require.Empty(t, ups)

	_, _, err = s.DeleteExpiredRestores(ctx, "../x", now, now)
	require.ErrorIs(t, err, storage.ErrInvalidID)
}
