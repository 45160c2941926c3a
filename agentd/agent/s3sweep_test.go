package agent

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/objstore"
	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/internal/testutil/s3server"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// sweepFixture is a backup lease whose storage target is a real versitygw
// bucket, opened already (lease.obj), with uploads that earlier attempts
// and other jobs left.
type sweepFixture struct {
	srv                          *s3server.Server
	obj, root                    *objstore.Store // the lease's, and one with the root credential
	a                            *Agent
	l                            *lease
	ids                          storage.SnapshotIDs
	key, siblingKey, otherSource string
}

// newSweepFixture: the lease's credential has secret ("": the right one).
func newSweepFixture(t *testing.T, secret string) *sweepFixture {
	t.Helper()
	srv := s3server.Start(t)
	if secret == "" {
		secret = srv.SecretKey
	}
	cfg := objstore.Config{Endpoint: srv.Endpoint, Bucket: srv.Bucket, Region: srv.Region, Prefix: "xv",
		PathStyle: true, AccessKeyID: srv.AccessKey, SecretAccessKey: secret}
	tune := objstore.Tuning{PartSize: 5 << 20, Buffers: 2, MaxRetries: 1}
	obj, err := objstore.New(cfg, tune)
	require.NoError(t, err)
	cfg.SecretAccessKey = srv.SecretKey
	root, err := objstore.New(cfg, tune)
	require.NoError(t, err)
	job := &sdk.ClaimedJob{ID: "job_1", TenantID: "ten_1", SourceID: "src_1", SnapshotID: "snap_new", Type: sdk.JobBackup,
		Storage: &sdk.StorageLease{TargetID: "stg_1", Type: sdk.StorageS3, Endpoint: srv.Endpoint, Bucket: srv.Bucket}}
	f := &sweepFixture{srv: srv, obj: obj, root: root, ids: snapshotIDs(job),
		a: &Agent{log: slog.New(slog.DiscardHandler)},
		l: &lease{job: job, log: slog.New(slog.DiscardHandler), obj: obj}}
	f.key = f.keyOf(t, f.ids)
	sib := f.ids
	sib.SnapshotID = "snap_old"
	f.siblingKey = f.keyOf(t, sib)
	other := f.ids
	other.SourceID = "src_2"
	f.otherSource = f.keyOf(t, other)
	return f
}

func (f *sweepFixture) keyOf(t *testing.T, ids storage.SnapshotIDs) string {
	t.Helper()
	k, err := f.obj.SnapshotKey(ids, archive.ArtifactName)
	require.NoError(t, err)
	return k
}

// leave starts uploads at keys with the root credential and leaves them.
func (f *sweepFixture) leave(t *testing.T, keys ...string) {
	t.Helper()
	for _, k := range keys {
		_, err := f.root.Begin(context.Background(), k) // never completed nor aborted
		require.NoError(t, err)
	}
}

// uploads lists the unfinished uploads in the bucket with the root credential.
func (f *sweepFixture) uploads(t *testing.T) map[string]int {
	t.Helper()
	c, err := f.srv.Client()
	require.NoError(t, err)
	out := map[string]int{}
	for u := range c.ListIncompleteUploads(context.Background(), f.srv.Bucket, "", true) {
		require.NoError(t, u.Err)
		out[u.Key]++
	}
	return out
}

// TestBackupSweepsLeftUploads: starting an S3 backup aborts what an earlier
// attempt left at its own artifact key, however fresh, leaves fresh
// uploads of other snapshots alone, and says what it did in the warnings.
func TestBackupSweepsLeftUploads(t *testing.T) {
	t.Parallel()
	f := newSweepFixture(t, "")
	f.leave(t, f.key, f.key, f.siblingKey, f.otherSource)

	p, err := f.a.beginSnapshot(context.Background(), f.l)
	require.NoError(t, err)
	sp := p.(*s3Pending)
	require.Equal(t, map[string]int{f.key: 1, f.siblingKey: 1, f.otherSource: 1}, f.uploads(t),
		"the two left at the key are gone, the backup's own is there, fresh others stay")
	ups, err := f.obj.ListUploads(context.Background(), f.key)
	require.NoError(t, err)
	require.Len(t, ups, 1)
	require.Equal(t, sp.up.UploadID(), ups[0].UploadID, "the upload left is the backup's own")
	warnings := f.l.warningList()
	require.Len(t, warnings, 1)
	require.Contains(t, warnings[0], "aborted 2 unfinished multipart upload(s)")
	require.Contains(t, warnings[0], f.key)

	p.Abort()
	require.Equal(t, map[string]int{f.siblingKey: 1, f.otherSource: 1}, f.uploads(t), "a failed backup aborts its upload")
}

// TestSweepAbortsStaleBelowSource: uploads below the source's prefix
// initiated before the cutoff go; another source's stay. The cutoff is
// passed in, so the test needs no old uploads.
func TestSweepAbortsStaleBelowSource(t *testing.T) {
	t.Parallel()
	f := newSweepFixture(t, "")
	f.leave(t, f.siblingKey, f.otherSource)

	f.a.sweepUploads(context.Background(), f.l, f.obj, f.ids, f.key, time.Now().Add(-DefaultS3StaleUploadAge))
	require.Equal(t, map[string]int{f.siblingKey: 1, f.otherSource: 1}, f.uploads(t), "fresh: left alone")
	require.Empty(t, f.l.warningList(), "nothing aborted, nothing to say")

	f.a.sweepUploads(context.Background(), f.l, f.obj, f.ids, f.key, time.Now().Add(time.Hour))
	require.Equal(t, map[string]int{f.otherSource: 1}, f.uploads(t), "stale below the source: aborted")
	warnings := f.l.warningList()
	require.Len(t, warnings, 1)
	require.Contains(t, warnings[0], "aborted 1 stale multipart upload(s) below xv/tenants/ten_1/sources/src_1/")
}

// TestSweepFailureIsAWarning: a refused sweep does not fail anything; the
// warnings name the bucket and the endpoint, never the secret.
func TestSweepFailureIsAWarning(t *testing.T) {
	t.Parallel()
	const secret = "not-the-secret-key-0123456789abcdef"
	f := newSweepFixture(t, secret)
	f.leave(t, f.key)

	f.a.sweepUploads(context.Background(), f.l, f.obj, f.ids, f.key, time.Now().Add(time.Hour))
	warnings := f.l.warningList()
	require.Len(t, warnings, 2, "the key's and the source's sweep: %q", warnings)
	for _, w := range warnings {
		require.Contains(t, w, "access denied")
		require.Contains(t, w, f.srv.Bucket)
		require.Contains(t, w, f.srv.Endpoint)
		require.NotContains(t, w, secret)
	}
	require.True(t, strings.HasPrefix(warnings[0], f.key+": "), warnings[0])
	require.Equal(t, map[string]int{f.key: 1}, f.uploads(t), "nothing aborted")
}
