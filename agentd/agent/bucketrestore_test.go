package agent

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/objstore"
	"github.com/xvault/xvault/internal/testutil/s3server"
	"github.com/xvault/xvault/sdk"
)

func bucketStore(t *testing.T, srv *s3server.Server, secret string) *objstore.Store {
	t.Helper()
	obj, err := objstore.New(objstore.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Region: srv.Region,
		Prefix: "xv", PathStyle: true, AccessKeyID: srv.AccessKey, SecretAccessKey: secret},
		objstore.Tuning{PartSize: 5 << 20, Buffers: 2, MaxRetries: 1})
	require.NoError(t, err)
	return obj
}

// TestPresignRestore: the link's reported expiry is the URL's own
// (X-Amz-Date + X-Amz-Expires), never past the key's, clamped to 7 days;
// the link serves the object; an expiry already gone is refused.
func TestPresignRestore(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	obj := bucketStore(t, srv, srv.SecretKey)
	ctx := context.Background()
	key, exp, err := obj.RestoreKey("ten_1", "rst_1", time.Now().Add(objstore.MaxPresignExpiry), "restore-rst_1.zip")
	require.NoError(t, err)
	require.NoError(t, obj.PutSmall(ctx, key, []byte("zip bytes")))

	link, real, err := presignRestore(ctx, obj, key, exp)
	require.NoError(t, err)
	require.False(t, real.After(exp), "the link expires no later than the key says")
	require.WithinDuration(t, time.Now().Add(objstore.MaxPresignExpiry), real, 5*time.Second)
	resp, err := http.Get(link)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	_, _, err = presignRestore(ctx, obj, key, time.Now().Add(-time.Second))
	require.ErrorContains(t, err, "longer than its link's lifetime")
}

// TestCleanExpiredRestoresWarns: a cleanup the bucket refuses is a job
// warning, not a failure; removeBucketRestore deletes one restore only.
func TestCleanExpiredRestoresWarns(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	ctx := context.Background()
	job := &sdk.ClaimedJob{ID: "job_1", TenantID: "ten_1", Type: sdk.JobRestore}
	a := &Agent{log: slog.New(slog.DiscardHandler)}
	bad := &lease{job: job, log: slog.New(slog.DiscardHandler), obj: bucketStore(t, srv, "wrong-secret-0123456789")}
	a.cleanExpiredRestores(ctx, bad, bad.obj)
	require.Len(t, bad.warningList(), 1)
	require.Contains(t, bad.warningList()[0], "delete expired restores of tenant ten_1")

	obj := bucketStore(t, srv, srv.SecretKey)
	l := &lease{job: job, log: slog.New(slog.DiscardHandler), obj: obj}
	keep, _, err := obj.RestoreKey("ten_1", "rst_2", time.Now().Add(time.Hour), "f.zip")
	require.NoError(t, err)
	gone, _, err := obj.RestoreKey("ten_1", "rst_1", time.Now().Add(time.Hour), "f.zip")
	require.NoError(t, err)
	for _, k := range []string{keep, gone} {
		require.NoError(t, obj.PutSmall(ctx, k, []byte("x")))
	}
	removeBucketRestore(l, "rst_1")
	_, err = obj.Stat(ctx, gone)
	require.ErrorIs(t, err, objstore.ErrNotFound)
	_, err = obj.Stat(ctx, keep)
	require.NoError(t, err)
	a.cleanExpiredRestores(ctx, l, obj)
	require.Empty(t, l.warningList())
}
