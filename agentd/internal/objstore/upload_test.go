package objstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/internal/testutil/s3server"
)

var testIDs = storage.SnapshotIDs{TenantID: "ten_1", SourceID: "src-1", SnapshotID: "snap1"}

// TestUploadRoundTrip: 100 MiB and a bit through 5 MiB parts, three of them
// in flight at once (the barrier proves it); the sha256 and size returned
// match a HEAD and a GET, and no multipart upload is left.
func TestUploadRoundTrip(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	tune := smallParts()
	barrier := newPartBarrier(t, 3)
	tune.Transport = barrier
	s := newTestStore(t, testConfig(srv), tune)
	ctx := context.Background()
	key, err := s.SnapshotKey(testIDs, "backup.tar.zst.age")
	require.NoError(t, err)

	u, err := s.Begin(ctx, key)
	require.NoError(t, err)
	defer func() { _ = u.Abort(ctx) }()
	const n = 100*mib + 12345
	want := writeRandom(t, u, 1, n)
	size, sum, err := u.Complete(ctx)
	require.NoError(t, err)
	require.EqualValues(t, n, size)
	require.Equal(t, want, sum)
	require.LessOrEqual(t, u.PeakBufferBytes(), int64(4*5*mib), "buffer memory bound")
	<-u.Done()

	info, err := s.Stat(ctx, key)
	require.NoError(t, err)
	require.EqualValues(t, n, info.Size)
	r, err := s.Open(ctx, key)
	require.NoError(t, err)
	got, gotSum := sha256Of(t, r)
	require.NoError(t, r.Close())
	require.EqualValues(t, n, got)
	require.Equal(t, want, gotSum)
	require.Empty(t, listUploads(t, s, ""))
	require.NoError(t, u.Abort(ctx), "Abort after Complete does nothing")
	_, err = s.Stat(ctx, key)
	require.NoError(t, err)
}

// TestUploadEmpty: an empty artifact is a zero-byte object.
func TestUploadEmpty(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	s := newTestStore(t, testConfig(srv), smallParts())
	ctx := context.Background()
	u, err := s.Begin(ctx, "empty")
	require.NoError(t, err)
	size, sum, err := u.Complete(ctx)
	require.NoError(t, err)
	require.Zero(t, size)
	empty := sha256.Sum256(nil)
	require.Equal(t, hex.EncodeToString(empty[:]), sum)
	info, err := s.Stat(ctx, "empty")
	require.NoError(t, err)
	require.Zero(t, info.Size)
	require.Empty(t, listUploads(t, s, ""))
}

// TestUploadAbort: Abort leaves no upload and no object; later writes fail.
func TestUploadAbort(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	s := newTestStore(t, testConfig(srv), smallParts())
	ctx := context.Background()
	key, err := s.SnapshotKey(testIDs, "backup.tar.zst.age")
	require.NoError(t, err)
	u, err := s.Begin(ctx, key)
	require.NoError(t, err)
	writeRandom(t, u, 2, 23*mib)
	require.Len(t, listUploads(t, s, ""), 1)

	require.NoError(t, u.Abort(ctx))
	<-u.Done()
	require.Empty(t, listUploads(t, s, ""))
	_, err = s.Stat(ctx, key)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = u.Write([]byte("more"))
	require.Error(t, err)
	_, _, err = u.Complete(ctx)
	require.Error(t, err)
	require.NoError(t, u.Abort(ctx), "a second Abort does nothing")
}

// TestUploadContextCancel: canceling Begin's context mid-upload aborts the
// upload by itself, with no call from the writer.
func TestUploadContextCancel(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	s := newTestStore(t, testConfig(srv), smallParts())
	ctx, cancel := context.WithCancel(context.Background())
	u, err := s.Begin(ctx, "canceled/backup.tar.zst.age")
	require.NoError(t, err)
	writeRandom(t, u, 3, 17*mib)
	require.Len(t, listUploads(t, s, ""), 1)

	cancel()
	<-u.Done()
	require.Empty(t, listUploads(t, s, ""))
	_, err = u.Write(make([]byte, 6*mib))
	require.Error(t, err)
	_, err = s.Stat(context.Background(), "canceled/backup.tar.zst.age")
	require.ErrorIs(t, err, ErrNotFound)
}

// TestUploadServerKilled: the server dies mid-upload; the upload fails with
// a transient error (the abort fails too: nobody answers). After a restart
// the sweeper removes the leftover upload.
func TestUploadServerKilled(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	s := newTestStore(t, testConfig(srv), smallParts())
	ctx := context.Background()
	u, err := s.Begin(ctx, "killed/backup.tar.zst.age")
	require.NoError(t, err)
	writeRandom(t, u, 4, 12*mib)

	srv.Kill()
	chunk := make([]byte, mib)
	for i := 0; err == nil && i < 200; i++ {
		_, err = u.Write(chunk)
	}
	if err == nil {
		_, _, err = u.Complete(ctx)
	}
	require.Error(t, err)
	t.Logf("error: %v", err)
	require.ErrorIs(t, err, ErrTransient, "a dead server is worth retrying later: %v", err)
	require.NotErrorIs(t, err, ErrPermanent)
	require.Contains(t, err.Error(), srv.Endpoint)

	require.NoError(t, srv.Restart())
	left := listUploads(t, s, "killed/")
	require.Len(t, left, 1, "the abort could not reach the server")
	n, err := s.AbortStale(ctx, "killed/", time.Now().Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Empty(t, listUploads(t, s, ""))
	_, err = s.Stat(ctx, "killed/backup.tar.zst.age")
	require.ErrorIs(t, err, ErrNotFound)
}

// TestAbortStaleLeavesFresh: only uploads initiated before the cutoff are
// aborted. The cutoff is the server's own time for the second upload, so
// clocks do not matter.
func TestAbortStaleLeavesFresh(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	s := newTestStore(t, testConfig(srv), smallParts())
	ctx := context.Background()
	old, err := s.Begin(ctx, "sweep/old")
	require.NoError(t, err)
	defer func() { _ = old.Abort(ctx) }()
	oldInfo := uploadOf(t, s, "sweep/old")
	var fresh UploadInfo
	for fresh.Initiated.IsZero() || !fresh.Initiated.After(oldInfo.Initiated) {
		time.Sleep(1100 * time.Millisecond) // the server keeps initiation times in seconds
		if fresh.UploadID != "" {
			require.NoError(t, s.abort(ctx, fresh.Key, fresh.UploadID))
		}
		_, err = s.Begin(ctx, "sweep/fresh")
		require.NoError(t, err)
		fresh = uploadOf(t, s, "sweep/fresh")
	}

	n, err := s.AbortStale(ctx, "sweep/", fresh.Initiated)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	left := listUploads(t, s, "sweep/")
	require.Len(t, left, 1)
	require.Equal(t, fresh.UploadID, left[0].UploadID)
	n, err = s.AbortStale(ctx, "other/", time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Zero(t, n, "another prefix is left alone")
	require.Len(t, listUploads(t, s, "sweep/"), 1)
}

func uploadOf(t *testing.T, s *Store, key string) UploadInfo {
	t.Helper()
	for _, u := range listUploads(t, s, key) {
		if u.Key == key {
			return u
		}
	}
	t.Fatalf("no upload of %s", key)
	return UploadInfo{}
}

// TestUploadTooSmallPartSize: tuning is checked.
func TestTuningChecked(t *testing.T) {
	t.Parallel()
	cfg := Config{Endpoint: "http://127.0.0.1:1", Bucket: "bucket", AccessKeyID: "a", SecretAccessKey: "s"}
	_, err := New(cfg, Tuning{PartSize: mib})
	require.ErrorIs(t, err, ErrInvalidConfig)
	_, err = New(cfg, Tuning{Buffers: -1})
	require.True(t, errors.Is(err, ErrInvalidConfig))
}

// TestUploadSkipSHA256: with Tuning.SkipSHA256 the upload does not hash
// (Complete returns no sha256) and the object is still whole.
func TestUploadSkipSHA256(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	tune := smallParts()
	tune.SkipSHA256 = true
	s := newTestStore(t, testConfig(srv), tune)
	ctx := context.Background()
	key, err := s.SnapshotKey(testIDs, "backup.tar.zst.age")
	require.NoError(t, err)
	u, err := s.Begin(ctx, key)
	require.NoError(t, err)
	defer func() { _ = u.Abort(ctx) }()
	const n = 11*mib + 7
	want := writeRandom(t, u, 3, n)
	size, sum, err := u.Complete(ctx)
	require.NoError(t, err)
	require.EqualValues(t, n, size)
	require.Empty(t, sum)
	r, err := s.Open(ctx, key)
	require.NoError(t, err)
	got, gotSum := sha256Of(t, r)
	require.NoError(t, r.Close())
	require.EqualValues(t, n, got)
	require.Equal(t, want, gotSum)
}
