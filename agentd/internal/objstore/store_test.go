package objstore

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/internal/testutil/s3server"
)

// TestWrongSecret: a bad secret is a permanent "access denied" naming the
// bucket and the endpoint, and the secret appears in no message.
func TestWrongSecret(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	cfg := testConfig(srv)
	cfg.SecretAccessKey = "wrong-secret-" + srv.SecretKey[:8]
	s := newTestStore(t, cfg, smallParts())
	ctx := context.Background()

	_, err := s.Begin(ctx, "x/backup.tar.zst.age")
	checkDenied(t, err, srv, cfg.SecretAccessKey)
	checkDenied(t, s.Check(ctx), srv, cfg.SecretAccessKey)
	_, err = s.Open(ctx, "x/manifest.json")
	checkDenied(t, err, srv, cfg.SecretAccessKey)
}

func checkDenied(t *testing.T, err error, srv *s3server.Server, secret string) {
	t.Helper()
	require.Error(t, err)
	t.Logf("error: %v", err)
	require.ErrorIs(t, err, ErrAccessDenied)
	require.ErrorIs(t, err, ErrPermanent)
	require.NotErrorIs(t, err, ErrTransient)
	msg := err.Error()
	require.Contains(t, msg, `s3 bucket "`+srv.Bucket+`" at `+srv.Endpoint+`: access denied (check the credential`)
	require.NotContains(t, msg, secret)
	require.NotContains(t, msg, srv.SecretKey)
}

// TestMissingBucket: a missing bucket is a permanent, clear error.
func TestMissingBucket(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	cfg := testConfig(srv)
	cfg.Bucket = "no-such-bucket"
	s := newTestStore(t, cfg, smallParts())
	ctx := context.Background()
	for name, err := range map[string]error{
		"check": s.Check(ctx),
		"begin": func() error { _, err := s.Begin(ctx, "k"); return err }(),
		"put":   s.PutSmall(ctx, "k", []byte("x")),
	} {
		t.Logf("%s: %v", name, err)
		require.ErrorIs(t, err, ErrNoSuchBucket, name)
		require.ErrorIs(t, err, ErrPermanent, name)
		require.Contains(t, err.Error(), `s3 bucket "no-such-bucket" at `+srv.Endpoint+": does not exist", name)
	}
}

// TestCheck: the probe object is written, read and removed.
func TestCheck(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	cfg := testConfig(srv)
	cfg.Prefix = "team-a/backups"
	s := newTestStore(t, cfg, smallParts())
	require.NoError(t, s.Check(context.Background()))
	objs, err := s.List(context.Background(), s.Prefix())
	require.NoError(t, err)
	require.Empty(t, objs)
}

// TestSmallObjectsAndDeleteSnapshot: manifest and meta beside an unfinished
// artifact upload; DeleteSnapshot removes all of it, and nothing of another
// snapshot.
func TestSmallObjectsAndDeleteSnapshot(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	cfg := testConfig(srv)
	cfg.Prefix = "xv"
	s := newTestStore(t, cfg, smallParts())
	ctx := context.Background()
	other := storage.SnapshotIDs{TenantID: "ten_1", SourceID: "src-1", SnapshotID: "snap2"}
	for _, ids := range []storage.SnapshotIDs{testIDs, other} {
		for _, name := range []string{"manifest.json", "meta.json"} {
			key, err := s.SnapshotKey(ids, name)
			require.NoError(t, err)
			require.NoError(t, s.PutSmall(ctx, key, []byte(`{"name":"`+name+`"}`)))
		}
	}
	art, err := s.SnapshotKey(testIDs, "backup.tar.zst.age")
	require.NoError(t, err)
	require.Equal(t, "xv/tenants/ten_1/sources/src-1/snapshots/snap1/backup.tar.zst.age", art)
	u, err := s.Begin(ctx, art)
	require.NoError(t, err)
	writeRandom(t, u, 5, 6*mib)

	mkey, _ := s.SnapshotKey(testIDs, "manifest.json")
	r, err := s.Open(ctx, mkey)
	require.NoError(t, err)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	require.NoError(t, r.Close())
	require.JSONEq(t, `{"name":"manifest.json"}`, string(b))

	require.NoError(t, s.DeleteSnapshot(ctx, testIDs))
	p, _ := s.SnapshotPrefix(testIDs)
	objs, err := s.List(ctx, p)
	require.NoError(t, err)
	require.Empty(t, objs)
	require.Empty(t, listUploads(t, s, p))
	op, _ := s.SnapshotPrefix(other)
	objs, err = s.List(ctx, op)
	require.NoError(t, err)
	require.Len(t, objs, 2)
	require.NoError(t, s.Delete(ctx, mkey), "deleting a missing object is fine")
	require.NoError(t, u.Abort(ctx), "aborting an upload the server already dropped is fine")
}

// TestPresign: a presigned GET works without the credential, and a URL with
// a 1 s expiry is refused once it expired.
func TestPresign(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	s := newTestStore(t, testConfig(srv), smallParts())
	ctx := context.Background()
	key := "dl/backup.tar.zst.age"
	require.NoError(t, s.PutSmall(ctx, key, []byte("artifact bytes")))

	long, err := s.Presign(ctx, key, time.Hour)
	require.NoError(t, err)
	require.NotContains(t, long, srv.SecretKey)
	status, body := httpGet(t, long)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "artifact bytes", body)

	short, err := s.Presign(ctx, key, time.Second)
	require.NoError(t, err)
	time.Sleep(2500 * time.Millisecond) // let it expire (not a timing assertion)
	status, _ = httpGet(t, short)
	require.Equal(t, http.StatusForbidden, status)

	_, err = s.Presign(ctx, key, 8*24*time.Hour)
	require.ErrorIs(t, err, ErrInvalidConfig)
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// TestOpenMissing: a missing object fails at Open, as ErrNotFound.
func TestOpenMissing(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	s := newTestStore(t, testConfig(srv), smallParts())
	_, err := s.Open(context.Background(), "nope/manifest.json")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, err, ErrPermanent)
	require.True(t, strings.Contains(err.Error(), "nope/manifest.json"), err.Error())
}
