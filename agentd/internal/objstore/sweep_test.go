package objstore

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/internal/testutil/s3server"
)

// TestAbortUploadsOf: every upload of exactly the key goes, however fresh;
// a key that merely starts with it, and other snapshots' uploads, stay.
func TestAbortUploadsOf(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	s := newTestStore(t, testConfig(srv), smallParts())
	ctx := context.Background()
	key, err := s.SnapshotKey(testIDs, "backup.tar.zst.age")
	require.NoError(t, err)
	other := testIDs
	other.SnapshotID = "snap2"
	otherKey, err := s.SnapshotKey(other, "backup.tar.zst.age")
	require.NoError(t, err)
	for _, k := range []string{key, key, key + "2", otherKey} {
		u, err := s.Begin(ctx, k)
		require.NoError(t, err)
		writeRandom(t, u, 7, 6*mib) // one part sent: the upload has data
	}
	require.Len(t, listUploads(t, s, ""), 4)

	n, err := s.AbortUploadsOf(ctx, key)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	var left []string
	for _, u := range listUploads(t, s, "") {
		left = append(left, u.Key)
	}
	require.ElementsMatch(t, []string{key + "2", otherKey}, left)

	n, err = s.AbortUploadsOf(ctx, key)
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to abort")
	_, err = s.Stat(ctx, key)
	require.ErrorIs(t, err, ErrNotFound, "aborting leaves no object")

	_, err = s.AbortUploadsOf(ctx, "tenants/ten_1/")
	require.ErrorIs(t, err, ErrInvalidKey, "a folder is not a key")
	_, err = s.AbortUploadsOf(ctx, "tenants/../x")
	require.ErrorIs(t, err, ErrInvalidKey)
}

// TestAbortUploadsOfDeniedNamesBucket: a refused listing is an error that
// names bucket and endpoint, never the secret.
func TestAbortUploadsOfDenied(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	cfg := testConfig(srv)
	cfg.SecretAccessKey = "not-the-secret-key-0123456789"
	s := newTestStore(t, cfg, smallParts())
	_, err := s.AbortUploadsOf(context.Background(), "tenants/ten_1/sources/src-1/snapshots/snap1/backup.tar.zst.age")
	require.ErrorIs(t, err, ErrAccessDenied)
	require.ErrorIs(t, err, ErrPermanent)
	require.ErrorContains(t, err, srv.Bucket)
	require.ErrorContains(t, err, srv.Endpoint)
	require.NotContains(t, err.Error(), cfg.SecretAccessKey)
}

func TestSourcePrefix(t *testing.T) {
	t.Parallel()
	cfg := Config{Endpoint: "http://127.0.0.1:1", Bucket: "bucket", AccessKeyID: "a", SecretAccessKey: "s"}
	for _, tc := range []struct {
		prefix, want string
	}{
		{"", "tenants/ten_1/sources/src-1/"},
		{"xv", "xv/tenants/ten_1/sources/src-1/"},
		{"a/b/", "a/b/tenants/ten_1/sources/src-1/"},
	} {
		cfg.Prefix = tc.prefix
		s := newTestStore(t, cfg, Tuning{})
		got, err := s.SourcePrefix(testIDs)
		require.NoError(t, err)
		require.Equal(t, tc.want, got, "prefix %q", tc.prefix)
		snap, err := s.SnapshotPrefix(testIDs)
		require.NoError(t, err)
		require.Truef(t, len(snap) > len(got) && snap[:len(got)] == got, "%s is below %s", snap, got)
	}
	s := newTestStore(t, cfg, Tuning{})
	_, err := s.SourcePrefix(storage.SnapshotIDs{TenantID: "ten_1", SourceID: "..", SnapshotID: "snap1"})
	require.ErrorIs(t, err, storage.ErrInvalidID)
}
