package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/xvault/xvault/internal/testutil/s3server"
	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
)

// s3Target makes an s3_access_key credential and a storage target of the
// fixture's tenant on srv, with the given secret.
func (f *fixture) s3Target(t *testing.T, srv *s3server.Server, name, secret string) sdk.StorageTarget {
	t.Helper()
	return f.s3TargetAt(t, srv, name, srv.Endpoint, srv.Bucket, secret)
}

// TestS3BackupOutlivesItsAgent backs up to a bucket with agent A, stops A
// for good, and restores (as a presigned link of the bucket), verifies and
// deletes the snapshot with agent B.
func TestS3BackupOutlivesItsAgent(t *testing.T) {
	s3 := s3server.Start(t)
	srv := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "www")
	makeTree(t, root, 200, 40<<20) // the big file is random: the artifact takes several 16 MiB parts
	h := startHub(t, "--no-agent")
	token := h.enrollToken(t, 2)
	agentA := startAgent(t, h, token)
	f := newFixture(t, h, srv, root)
	target := f.s3Target(t, s3, "bucket", s3.SecretKey)
	src := f.createSource(t, "web-s3", srv.User, f.credID, root, "--storage", target.ID)

	job, code := f.backup(t, src)
	require.Equalf(t, 0, code, "backup: %+v", job)
	var snap sdk.Snapshot
	h.xvJSON(t, f.tenant, "", &snap, "snapshot", "show", job.SnapshotID)
	require.Equal(t, sdk.StorageBackendS3, snap.StorageBackend)
	require.Equal(t, target.ID, snap.StorageTargetID)
	require.NoError(t, filepath.WalkDir(agentA.Storage, func(p string, d os.DirEntry, err error) error {
		require.NoError(t, err)
		require.Falsef(t, d.Type().IsRegular(), "nothing of the snapshot on agent A's disk: %s", p)
		return nil
	}))

	// The artifact in the bucket opens with the standard tools.
	obj := bucketClient(t, s3)
	prefix := "xv/tenants/" + f.tenant + "/sources/" + src + "/snapshots/" + snap.ID + "/"
	objects := listObjects(t, obj, s3.Bucket, prefix)
	require.ElementsMatch(t, []string{"backup.tar.zst.age", "index.zst.age", "manifest.json", "meta.json"}, objects)
	want := describe(t, root)
	checkBucketArtifact(t, f, obj, s3.Bucket, prefix+"backup.tar.zst.age", snap.SHA256, want, root)

	stopProcess(agentA.cmd) // for good
	startAgent(t, h, token) // no download listener: the link is a presigned URL of the bucket

	env := &restoreEnv{fixture: f, snap: snap, rel: "files/" + strings.TrimPrefix(root, "/")}
	tzFile := filepath.Join(t.TempDir(), "site.tar.zst")
	r, errOut, code := env.restore(t, "--format", "tar.zst", "--output", tzFile)
	require.Equalf(t, 0, code, "restore: %s", errOut)
	require.Equal(t, sdk.RestoreReady, r.Status)
	require.Equal(t, sdk.DownloadViaBucket, r.DownloadVia)
	requirePresigned(t, s3, r)
	out := t.TempDir()
	b, err := exec.Command("sh", "-c", `zstd -d -c "$1" | tar -x -p -C "$2"`, "sh", tzFile, out).CombinedOutput()
	require.NoErrorf(t, err, "zstd | tar: %s", b)
	require.Equal(t, want, describe(t, filepath.Join(out, env.rel)))

	rep, code := h.verifyWait(t, f.tenant, snap.ID)
	require.Equalf(t, 0, code, "verify: %+v", rep)
	require.Equal(t, sdk.VerifyOK, rep.Status, rep.Message)

	var del sdk.Job
	h.xvJSON(t, f.tenant, "", &del, "snapshot", "delete", snap.ID)
	done := f.waitJob(t, del.ID, 5*time.Minute, func(j sdk.Job) bool {
		return j.Status == sdk.JobCompleted || j.Status == sdk.JobFailed || j.Status == sdk.JobCanceled
	})
	require.Equal(t, sdk.JobCompleted, done.Status, done.ErrorMessage)
	require.Empty(t, listObjects(t, obj, s3.Bucket, prefix), "the snapshot's objects are gone")

	t.Run("a wrong secret fails clearly and records nothing", func(t *testing.T) {
		bad := f.s3Target(t, s3, "bad-secret", strings.Repeat("x", 40))
		src := f.createSource(t, "web-bad", srv.User, f.credID, root, "--storage", bad.ID)
		job, code := f.backup(t, src)
		require.Equal(t, 4, code)
		require.Equal(t, sdk.JobFailed, job.Status)
		require.Equal(t, 1, job.Attempt, "a refused credential is not retried")
		require.Contains(t, job.ErrorMessage, "access denied")
		require.Contains(t, job.ErrorMessage, s3.Bucket)
		require.NotContains(t, job.ErrorMessage, strings.Repeat("x", 40))
		var snaps []sdk.Snapshot
		h.xvJSON(t, f.tenant, "", &snaps, "snapshot", "list", "--source", src)
		require.Empty(t, snaps)
		require.Empty(t, listObjects(t, obj, s3.Bucket, "xv/tenants/"+f.tenant+"/sources/"+src+"/"))
		for u := range obj.ListIncompleteUploads(context.Background(), s3.Bucket, "xv/", true) {
			require.NoError(t, u.Err)
			t.Errorf("multipart upload left behind: %s", u.Key)
		}
	})
}

// bucketClient is a client of the test server's bucket with its root key.
func bucketClient(t *testing.T, s3 *s3server.Server) *minio.Client {
	t.Helper()
	c, err := minio.New(s3.Addr(), &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""),
		Region: s3.Region, BucketLookup: minio.BucketLookupPath})
	require.NoError(t, err)
	return c
}

// listObjects lists the names below prefix (the prefix cut off).
func listObjects(t *testing.T, c *minio.Client, bucket, prefix string) []string {
	t.Helper()
	var names []string
	for oi := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		require.NoError(t, oi.Err)
		names = append(names, strings.TrimPrefix(oi.Key, prefix))
	}
	return names
}

// checkBucketArtifact downloads the artifact and opens it with age | zstd -d | tar.
func checkBucketArtifact(t *testing.T, f *fixture, c *minio.Client, bucket, key, sha string,
	want map[string]entry, root string) {
	t.Helper()
	artifact := filepath.Join(t.TempDir(), "backup.tar.zst.age")
	require.NoError(t, c.FGetObject(context.Background(), bucket, key, artifact, minio.GetObjectOptions{}))
	sum, err := exec.Command("sha256sum", artifact).Output()
	require.NoError(t, err)
	require.Equal(t, sha, strings.Fields(string(sum))[0])
	keyFile := filepath.Join(t.TempDir(), "tenant.key")
	f.hub.xv(t, f.tenant, "", "tenant", "key", "export", f.tenant, "--output", keyFile)
	dir := t.TempDir()
	b, err := exec.Command("sh", "-c", `age -d -i "$1" "$2" | zstd -d | tar -x -p -C "$3"`, "sh", keyFile, artifact, dir).CombinedOutput()
	require.NoErrorf(t, err, "age | zstd | tar: %s", b)
	require.Equal(t, want, describe(t, filepath.Join(dir, "files", strings.TrimPrefix(root, "/"))))
}
