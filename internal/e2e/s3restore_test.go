package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/s3server"
	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
)

// TestS3RestorePresignedLink: a restore of an S3 snapshot is written back
// to the bucket and its link is a presigned GET URL of the S3 server, which
// works until its expiry and then answers 403; the next bucket restore
// deletes the expired object. --download-via agent still goes through the
// agent's download server, and bucket is refused for a local snapshot.
func TestS3RestorePresignedLink(t *testing.T) {
	s3 := s3server.Start(t)
	srv := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "www")
	makeTree(t, root, 50, 3<<20)
	h := startHub(t, "--no-agent")
	dl := freeAddr(t)
	startAgent(t, h, h.enrollToken(t, 1), "--download-listen", dl)
	f := newFixture(t, h, srv, root)
	target := f.s3Target(t, s3, "bucket", s3.SecretKey)
	src := f.createSource(t, "web-s3", srv.User, f.credID, root, "--storage", target.ID)
	job, code := f.backup(t, src)
	require.Equalf(t, 0, code, "backup: %+v", job)
	var snap sdk.Snapshot
	h.xvJSON(t, f.tenant, "", &snap, "snapshot", "show", job.SnapshotID)
	require.Equal(t, sdk.StorageBackendS3, snap.StorageBackend)
	env := &restoreEnv{fixture: f, snap: snap, rel: "files/" + strings.TrimPrefix(root, "/"), download: "http://" + dl}
	want := describe(t, root)
	obj := bucketClient(t, s3)
	restores := "xv/restores/" + f.tenant + "/"

	// The default: a presigned link of the bucket, fetched by xv.
	tzFile := filepath.Join(t.TempDir(), "site.tar.zst")
	r, errOut, code := env.restore(t, "--format", "tar.zst", "--output", tzFile)
	require.Equalf(t, 0, code, "restore: %s", errOut)
	require.Equal(t, sdk.RestoreReady, r.Status)
	require.Equal(t, sdk.DownloadViaBucket, r.DownloadVia)
	requirePresigned(t, s3, r)
	requireUntar(t, tzFile, env.rel, want)
	status, body := httpGet(t, r.DownloadURL)
	require.Equal(t, http.StatusOK, status)
	file, err := os.ReadFile(tzFile)
	require.NoError(t, err)
	require.Equal(t, file, body, "the link serves the file xv saved")
	require.Len(t, listObjects(t, obj, s3.Bucket, restores), 1)
	shown := h.xv(t, f.tenant, "", "restore", "show", r.ID)
	require.Contains(t, shown, r.DownloadURL)
	require.Contains(t, shown, "bucket")

	// A short-lived link works, then the bucket refuses it.
	short, errOut, code := env.restore(t, "--format", "tar.zst", "--expires-in", "8s")
	require.Equalf(t, 0, code, "restore: %s", errOut)
	requirePresigned(t, s3, short)
	require.True(t, short.ExpiresAt.After(time.Now()), "the hub shows the link only before its expiry")
	status, _ = httpGet(t, short.DownloadURL)
	require.Equal(t, http.StatusOK, status)
	time.Sleep(time.Until(*short.ExpiresAt) + time.Second)
	status, body = httpGet(t, short.DownloadURL)
	require.Equalf(t, http.StatusForbidden, status, "after expiry: %s", body)
	var expired sdk.Restore
	h.xvJSON(t, f.tenant, "", &expired, "restore", "show", short.ID)
	require.Equal(t, sdk.RestoreExpired, expired.Status)
	require.Empty(t, expired.DownloadURL)
	out, errOut, code := h.xvCode(t, f.tenant, "", "restore", "download", short.ID, "--output", filepath.Join(t.TempDir(), "x"))
	require.NotEqualf(t, 0, code, "download of an expired restore: %s", out)
	t.Logf("download of an expired restore: %s", errOut)

	// The next bucket restore deletes the expired object, not the live one.
	next, errOut, code := env.restore(t, "--format", "tar.zst")
	require.Equalf(t, 0, code, "restore: %s", errOut)
	keys := strings.Join(listObjects(t, obj, s3.Bucket, restores), " ")
	require.Contains(t, keys, r.ID+".")
	require.Contains(t, keys, next.ID+".")
	require.NotContains(t, keys, short.ID, "the expired restore's object is deleted")

	// --download-via agent: the agent's download server, as for local_fs.
	zipFile := filepath.Join(t.TempDir(), "site.zip")
	ra, errOut, code := env.restore(t, "--download-via", "agent", "--output", zipFile)
	require.Equalf(t, 0, code, "restore: %s", errOut)
	require.Equal(t, sdk.DownloadViaAgent, ra.DownloadVia)
	require.True(t, strings.HasPrefix(ra.DownloadURL, env.download+"/download/xvd_"), ra.DownloadURL)
	unzipped := t.TempDir()
	b, err := exec.Command("unzip", "-q", zipFile, "-d", unzipped).CombinedOutput()
	require.NoErrorf(t, err, "unzip: %s", b)
	require.Equal(t, want, describe(t, filepath.Join(unzipped, env.rel)))
	require.NotContains(t, strings.Join(listObjects(t, obj, s3.Bucket, restores), " "), ra.ID)

	// A failed restore leaves no object and no upload behind.
	before := listObjects(t, obj, s3.Bucket, restores)
	bad, _, code := env.restore(t, "--path", "no/such/dir")
	require.Equal(t, 4, code)
	require.Equal(t, sdk.RestoreFailed, bad.Status)
	require.Contains(t, bad.ErrorMessage, "none of the paths")
	require.Empty(t, bad.DownloadURL)
	require.Equal(t, before, listObjects(t, obj, s3.Bucket, restores))
	for u := range obj.ListIncompleteUploads(context.Background(), s3.Bucket, restores, true) {
		require.NoError(t, u.Err)
		t.Errorf("multipart upload left behind: %s", u.Key)
	}

	// A local snapshot cannot be restored into a bucket.
	local := f.createSource(t, "web-local", srv.User, f.credID, root)
	lj, code := f.backup(t, local)
	require.Equalf(t, 0, code, "backup: %+v", lj)
	_, errOut, code = h.xvCode(t, f.tenant, "", "snapshot", "restore", lj.SnapshotID, "--download-via", "bucket")
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut, "download_via")
	require.Contains(t, errOut, "S3 storage target")
}

// requirePresigned checks that a restore's link is a SigV4 presigned URL
// of the test server's bucket, with the restore's expiry.
func requirePresigned(t *testing.T, s3 *s3server.Server, r sdk.Restore) {
	t.Helper()
	require.True(t, strings.HasPrefix(r.DownloadURL, s3.Endpoint+"/"+s3.Bucket+"/xv/restores/"), r.DownloadURL)
	require.Contains(t, r.DownloadURL, "X-Amz-Signature=")
	require.Contains(t, r.DownloadURL, r.ID)
	require.NotNil(t, r.ExpiresAt)
}

func requireUntar(t *testing.T, tzFile, rel string, want map[string]entry) {
	t.Helper()
	out := t.TempDir()
	b, err := exec.Command("sh", "-c", `zstd -d -c "$1" | tar -x -p -C "$2"`, "sh", tzFile, out).CombinedOutput()
	require.NoErrorf(t, err, "zstd | tar: %s", b)
	require.Equal(t, want, describe(t, filepath.Join(out, rel)))
}

// httpGet fetches url without any credential of ours.
func httpGet(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}
