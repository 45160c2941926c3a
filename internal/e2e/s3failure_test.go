package e2e

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/s3server"
	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
)

// s3Gate is a reverse proxy in front of the test's S3 server that can hold
// part uploads. While it holds, part 1 of an upload goes through and later
// parts wait, so a backup stalls mid-upload with its multipart upload
// started and data in it: a test kills something at that point without
// racing the upload to its end.
type s3Gate struct {
	URL string

	mu     sync.Mutex
	open   chan struct{} // closed: every part passes
	held   int           // parts waiting now
	passed int           // parts the server answered
	wake   chan struct{} // closed and replaced on every change of the counts
}

func startS3Gate(t *testing.T, s3 *s3server.Server) *s3Gate {
	t.Helper()
	target, err := url.Parse(s3.Endpoint)
	require.NoError(t, err)
	proxy := httputil.NewSingleHostReverseProxy(target) // keeps the Host header: the SigV4 signature still matches
	proxy.ErrorLog = log.New(io.Discard, "", 0)         // a dead server is a 502, on purpose
	g := &s3Gate{open: make(chan struct{}), wake: make(chan struct{})}
	close(g.open)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		part := r.Method == http.MethodPut && q.Get("uploadId") != "" && q.Get("partNumber") != ""
		if part && q.Get("partNumber") != "1" {
			if !g.wait(r.Context()) {
				http.Error(w, "client gone", http.StatusServiceUnavailable)
				return
			}
		}
		proxy.ServeHTTP(w, r)
		if part {
			g.change(func() { g.passed++ })
		}
	}))
	t.Cleanup(func() { g.release(); srv.Close() })
	g.URL = srv.URL
	return g
}

// hold makes parts after the first of each upload wait until release.
func (g *s3Gate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
		g.open = make(chan struct{})
	default:
	}
}

// release lets held and later parts through.
func (g *s3Gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

// wait holds a part until release or until its client went away.
func (g *s3Gate) wait(ctx context.Context) bool {
	g.mu.Lock()
	open := g.open
	g.mu.Unlock()
	select {
	case <-open:
		return true
	default:
	}
	g.change(func() { g.held++ })
	defer g.change(func() { g.held-- })
	select {
	case <-open:
		return true
	case <-ctx.Done():
		return false
	}
}

func (g *s3Gate) change(f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f()
	close(g.wake)
	g.wake = make(chan struct{})
}

// stalled waits until a part went through and another is held: the backup
// is mid-upload and cannot finish.
func (g *s3Gate) stalled(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		g.mu.Lock()
		ok, wake := g.passed >= 1 && g.held >= 1, g.wake
		g.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-wake:
		case <-deadline:
			t.Fatalf("no upload stalled mid-way within %s", timeout)
		}
	}
}

// s3TargetAt makes a storage target of the fixture's tenant at endpoint
// and bucket, with an s3_access_key credential of the server's access key
// and the given secret.
func (f *fixture) s3TargetAt(t *testing.T, srv *s3server.Server, name, endpoint, bucket, secret string) sdk.StorageTarget {
	t.Helper()
	var cred sdk.Credential
	f.hub.xvJSON(t, f.tenant, secret, &cred, "credential", "create", "--name", name+"-key",
		"--access-key-id", srv.AccessKey, "--secret-access-key-stdin")
	var target sdk.StorageTarget
	f.hub.xvJSON(t, f.tenant, "", &target, "storage", "create", "--type", "s3", "--name", name,
		"--endpoint", endpoint, "--bucket", bucket, "--region", srv.Region, "--prefix", "xv",
		"--path-style", "--credential", cred.ID)
	return target
}

// listUploads lists the unfinished multipart uploads below prefix.
func listUploads(t *testing.T, c *minio.Client, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	for u := range c.ListIncompleteUploads(context.Background(), bucket, prefix, true) {
		require.NoError(t, u.Err)
		keys = append(keys, u.Key)
	}
	return keys
}

func (f *fixture) snapshots(t *testing.T, source string) []sdk.Snapshot {
	t.Helper()
	var snaps []sdk.Snapshot
	f.hub.xvJSON(t, f.tenant, "", &snaps, "snapshot", "list", "--source", source)
	return snaps
}

func sourcePrefix(f *fixture, source string) string {
	return "xv/tenants/" + f.tenant + "/sources/" + source + "/"
}

// TestS3AgentKilledMidUploadIsSwept: agent A is killed with SIGKILL while
// its backup is mid-upload. Nothing is recorded and the multipart upload is
// left in the bucket; agent B retries the job once the lease lapsed, aborts
// A's upload (same snapshot id, same key) and completes the backup.
func TestS3AgentKilledMidUploadIsSwept(t *testing.T) {
	s3 := s3server.Start(t)
	srv := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "www")
	makeTree(t, root, 50, 40<<20) // the big file is random: the artifact takes several 16 MiB parts
	const lease = 4 * time.Second
	h := startHub(t, "--no-agent", "--lease", lease.String())
	token := h.enrollToken(t, 2)
	agentA := startAgent(t, h, token)
	f := newFixture(t, h, srv, root)
	gate := startS3Gate(t, s3)
	target := f.s3TargetAt(t, s3, "gated", gate.URL, s3.Bucket, s3.SecretKey)
	src := f.createSource(t, "web-s3", srv.User, f.credID, root, "--storage", target.ID)

	gate.hold()
	var job sdk.Job
	h.xvJSON(t, f.tenant, "", &job, "backup", "run", src)
	require.NotEmpty(t, job.SnapshotID, "a backup's snapshot id is assigned when the job is created")
	gate.stalled(t, time.Minute)
	require.NoError(t, agentA.cmd.Process.Signal(syscall.SIGKILL))
	_ = agentA.cmd.Wait()

	obj := bucketClient(t, s3)
	key := sourcePrefix(f, src) + "snapshots/" + job.SnapshotID + "/backup.tar.zst.age"
	require.Equal(t, []string{key}, listUploads(t, obj, s3.Bucket, "xv/"), "the killed agent left its upload")
	require.Empty(t, f.snapshots(t, src), "nothing recorded")
	require.Empty(t, listObjects(t, obj, s3.Bucket, sourcePrefix(f, src)))

	gate.release()
	startAgent(t, h, token)
	done := f.waitJob(t, job.ID, 2*lease+time.Minute, func(j sdk.Job) bool { return !j.Status.Active() })
	require.Equal(t, sdk.JobCompleted, done.Status, done.ErrorMessage)
	require.GreaterOrEqual(t, done.Attempt, 2, "agent B ran a second attempt")
	require.Equal(t, job.SnapshotID, done.SnapshotID)
	require.Truef(t, containsAny(done.Warnings, "aborted 1 unfinished multipart upload(s) an earlier attempt of this job left at "+key),
		"the sweep is reported: %q", done.Warnings)

	require.Empty(t, listUploads(t, obj, s3.Bucket, "xv/"), "no unfinished upload is left")
	snaps := f.snapshots(t, src)
	require.Len(t, snaps, 1, "exactly one snapshot")
	require.Equal(t, job.SnapshotID, snaps[0].ID)
	checkBucketArtifact(t, f, obj, s3.Bucket, key, snaps[0].SHA256, describe(t, root), root)
}

// TestS3RefusedStorageFailsClearly: a wrong secret and a missing bucket
// fail the backup at once (a permanent error: one attempt) with an error
// that names the bucket and the endpoint and not the secret; nothing is
// recorded and nothing is left in the bucket.
func TestS3RefusedStorageFailsClearly(t *testing.T) {
	s3 := s3server.Start(t)
	srv := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "www")
	makeTree(t, root, 20, 1<<20)
	h := startHub(t, "--no-agent")
	startAgent(t, h, h.enrollToken(t, 1))
	f := newFixture(t, h, srv, root)
	obj := bucketClient(t, s3)

	for _, tc := range []struct {
		name, bucket, secret, want string
	}{
		{"wrong secret", s3.Bucket, "wrong-secret-" + strings.Repeat("k", 27), "access denied"},
		{"missing bucket", "xv-no-such-bucket", s3.SecretKey, "does not exist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := f.s3TargetAt(t, s3, strings.ReplaceAll(tc.name, " ", "-"), s3.Endpoint, tc.bucket, tc.secret)
			src := f.createSource(t, "web-"+strings.ReplaceAll(tc.name, " ", "-"), srv.User, f.credID, root,
				"--storage", target.ID)
			job, code := f.backup(t, src)
			require.Equal(t, 4, code)
			require.Equal(t, sdk.JobFailed, job.Status)
			require.Equal(t, 1, job.Attempt, "a permanent error is not retried")
			require.Contains(t, job.ErrorMessage, tc.want)
			require.Contains(t, job.ErrorMessage, `"`+tc.bucket+`"`)
			require.Contains(t, job.ErrorMessage, s3.Endpoint)
			for _, s := range append([]string{job.ErrorMessage}, job.Warnings...) {
				require.NotContains(t, s, tc.secret)
				require.NotContains(t, s, s3.SecretKey)
			}
			require.Empty(t, f.snapshots(t, src), "nothing recorded")
			require.Empty(t, listObjects(t, obj, s3.Bucket, sourcePrefix(f, src)))
			require.Empty(t, listUploads(t, obj, s3.Bucket, ""))
			exists, err := obj.BucketExists(context.Background(), "xv-no-such-bucket")
			require.NoError(t, err)
			require.False(t, exists, "the agent creates no bucket")
		})
	}
}

// TestS3ServerKilledMidUpload: the S3 server dies while a backup is
// mid-upload. The attempt fails with a transient error naming the endpoint,
// nothing is recorded while the server is down; after a restart the retry
// aborts the dead attempt's upload and the job ends with a whole snapshot
// or with nothing, never a half-recorded one.
func TestS3ServerKilledMidUpload(t *testing.T) {
	s3 := s3server.Start(t)
	srv := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "www")
	makeTree(t, root, 50, 40<<20)
	h := startHub(t, "--no-agent")
	startAgent(t, h, h.enrollToken(t, 1))
	f := newFixture(t, h, srv, root)
	gate := startS3Gate(t, s3)
	target := f.s3TargetAt(t, s3, "gated", gate.URL, s3.Bucket, s3.SecretKey)
	src := f.createSource(t, "web-s3", srv.User, f.credID, root, "--storage", target.ID)
	obj := bucketClient(t, s3)
	key := sourcePrefix(f, src) + "snapshots/"

	gate.hold()
	var job sdk.Job
	h.xvJSON(t, f.tenant, "", &job, "backup", "run", src)
	key += job.SnapshotID + "/backup.tar.zst.age"
	gate.stalled(t, time.Minute)
	require.Equal(t, []string{key}, listUploads(t, obj, s3.Bucket, "xv/"))
	s3.Kill()
	gate.release() // the held parts meet a dead server

	failed := f.waitJob(t, job.ID, 2*time.Minute, func(j sdk.Job) bool {
		return j.ErrorMessage != "" || j.Attempt >= 2 || !j.Status.Active()
	})
	t.Logf("with the server down: %s, attempt %d: %s", failed.Status, failed.Attempt, failed.ErrorMessage)
	require.NotEqual(t, sdk.JobCompleted, failed.Status)
	require.Contains(t, failed.ErrorMessage, gate.URL, "the error names the endpoint")
	require.Contains(t, failed.ErrorMessage, s3.Bucket)
	require.NotContains(t, failed.ErrorMessage, s3.SecretKey)
	require.Empty(t, f.snapshots(t, src), "nothing recorded while the server is down")
	downAttempt := failed.Attempt

	require.NoError(t, s3.Restart())
	done := f.waitJob(t, job.ID, 2*time.Minute, func(j sdk.Job) bool { return !j.Status.Active() })
	t.Logf("after the restart: %s, attempt %d: %s", done.Status, done.Attempt, done.ErrorMessage)
	snaps := f.snapshots(t, src)
	switch done.Status {
	case sdk.JobCompleted:
		require.Len(t, snaps, 1)
		require.Equal(t, job.SnapshotID, snaps[0].ID)
		require.Truef(t, containsAny(done.Warnings, "aborted 1 unfinished multipart upload(s) an earlier attempt of this job left at "+key),
			"the retry swept the dead attempt's upload: %q", done.Warnings)
		checkBucketArtifact(t, f, obj, s3.Bucket, key, snaps[0].SHA256, describe(t, root), root)
	default:
		require.Empty(t, snaps, "a failed job records nothing")
		require.Empty(t, listObjects(t, obj, s3.Bucket, sourcePrefix(f, src)))
	}
	if done.Status == sdk.JobCompleted || done.Attempt > downAttempt {
		require.Empty(t, listUploads(t, obj, s3.Bucket, "xv/"), "a retry after the restart left no unfinished upload")
	}
}

func containsAny(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
