package objstore

import (
	"context"
	"errors"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"
)

func TestPartSize(t *testing.T) {
	t.Parallel()
	const base = defaultPartSize
	for n, want := range map[int]int64{
		1: base, 1000: base, 1001: 2 * base, 2000: 2 * base, 3001: 8 * base,
		8001: 256 * base, 9000: 256 * base, 9001: maxPartSize, 10000: maxPartSize, 10001: 0, 0: 0,
	} {
		require.Equal(t, want, partSize(base, n), "part %d", n)
	}
}

// TestPartSizeFits5TB: 10,000 parts hold more than 5 TB, for the default
// base and for the smallest one.
func TestPartSizeFits5TB(t *testing.T) {
	t.Parallel()
	for _, base := range []int64{minPartSize, defaultPartSize} {
		var total int64
		for n := 1; n <= maxParts; n++ {
			total += partSize(base, n)
		}
		require.Greater(t, total, int64(5e12), "base %d", base)
	}
}

// TestMemGate: the budget holds, at least two buffers are always allowed,
// and a canceled wait returns the cause.
func TestMemGate(t *testing.T) {
	t.Parallel()
	g := newMemGate(4*mib, 4)
	ctx := context.Background()
	for range 4 {
		require.NoError(t, g.acquire(ctx, mib))
	}
	cctx, cancel := context.WithCancelCause(ctx)
	stop := errors.New("stop")
	cancel(stop)
	require.ErrorIs(t, g.acquire(cctx, mib), stop, "over budget: waits, and returns the cause")
	for range 4 {
		g.release(mib)
	}
	require.NoError(t, g.acquire(ctx, 3*mib))
	require.NoError(t, g.acquire(ctx, 3*mib), "a second buffer is allowed over budget")
	require.Error(t, g.acquire(cctx, mib), "a third is not")
	require.EqualValues(t, 6*mib, g.peak())
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		resp minio.ErrorResponse
		want error
	}{
		{minio.ErrorResponse{Code: "AccessDenied", StatusCode: 403}, ErrAccessDenied},
		{minio.ErrorResponse{Code: "SignatureDoesNotMatch", StatusCode: 403}, ErrAccessDenied},
		{minio.ErrorResponse{Code: "InvalidAccessKeyId", StatusCode: 403}, ErrAccessDenied},
		{minio.ErrorResponse{Code: "NoSuchBucket", StatusCode: 404}, ErrNoSuchBucket},
		{minio.ErrorResponse{Code: "NoSuchKey", StatusCode: 404}, ErrNotFound},
		{minio.ErrorResponse{Code: "NoSuchUpload", StatusCode: 404}, ErrNoSuchUpload},
		{minio.ErrorResponse{Code: "SlowDown", StatusCode: 503}, ErrUnavailable},
		{minio.ErrorResponse{Code: "InternalError", StatusCode: 500}, ErrUnavailable},
		{minio.ErrorResponse{StatusCode: 429}, ErrUnavailable},
		{minio.ErrorResponse{Code: "EntityTooSmall", StatusCode: 400}, ErrRejected},
	} {
		got := classify(tc.resp)
		require.Equal(t, tc.want, got, tc.resp.Code)
	}
	require.Equal(t, ErrUnavailable, classify(errors.New("dial tcp: connection refused")))
	require.ErrorIs(t, ErrUnavailable, ErrTransient)
	require.NotErrorIs(t, ErrUnavailable, ErrPermanent)
	require.ErrorIs(t, ErrAccessDenied, ErrPermanent)
}

// TestErrorRedactsSecret: even a cause that quotes the secret is redacted.
func TestErrorRedactsSecret(t *testing.T) {
	t.Parallel()
	s := &Store{cfg: Config{Bucket: "b", SecretAccessKey: "supersecret"}, endpoint: "https://h"}
	err := s.wrap("op", errors.New("server said supersecret"))
	require.NotContains(t, err.Error(), "supersecret")
	require.Contains(t, err.Error(), `op: s3 bucket "b" at https://h: server unavailable`)
}
