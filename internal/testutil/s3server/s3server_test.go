package s3server_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/s3server"
)

// TestStartPutGetRestart: the bucket exists, an object survives a crash and
// a restart on the same port.
func TestStartPutGetRestart(t *testing.T) {
	t.Parallel()
	s := s3server.Start(t)
	ctx := context.Background()
	c, err := s.Client()
	require.NoError(t, err)
	ok, err := c.BucketExists(ctx, s.Bucket)
	require.NoError(t, err)
	require.True(t, ok)

	body := []byte("hello s3")
	_, err = c.PutObject(ctx, s.Bucket, "a/b.txt", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
	require.NoError(t, err)

	s.Kill()
	require.Zero(t, s.PID())
	require.NoError(t, s.Restart())

	obj, err := c.GetObject(ctx, s.Bucket, "a/b.txt", minio.GetObjectOptions{})
	require.NoError(t, err)
	defer obj.Close()
	got, err := io.ReadAll(obj)
	require.NoError(t, err)
	require.Equal(t, body, got)
}
