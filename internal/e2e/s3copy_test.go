package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/s3server"
	"github.com/xvault/xvault/internal/testutil/sshd"
	"github.com/xvault/xvault/sdk"
)

// TestS3StorageTestAndMove: `xv storage test` checks a target through an
// agent; `xv snapshot copy --move` moves a local chain to the bucket and
// back, each artifact's sha256 checked, the old copies deleted only after
// the new ones were checked and recorded; a damaged source copy fails the
// move and changes nothing.
func TestS3StorageTestAndMove(t *testing.T) {
	s3 := s3server.Start(t)
	srv := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "www")
	makeTree(t, root, 120, 20<<20)
	h := startHub(t, "--no-agent")
	agent := startAgent(t, h, h.enrollToken(t, 1))
	f := newFixture(t, h, srv, root)
	target := f.s3Target(t, s3, "bucket", s3.SecretKey)
	obj := bucketClient(t, s3)

	t.Run("storage test", func(t *testing.T) {
		out, errOut, code := h.xvCode(t, f.tenant, "", "storage", "test", "bucket")
		require.Equalf(t, 0, code, "storage test: %s\n%s", out, errOut)
		require.Contains(t, out, "Agents can use the storage target.")
		var rep struct {
			JobID string `json:"job_id"`
			sdk.TestReport
		}
		bad := f.s3Target(t, s3, "bad", strings.Repeat("y", 40))
		out, _, code = h.xvCode(t, f.tenant, "", "-o", "json", "storage", "test", bad.ID)
		require.Equal(t, 4, code, out)
		require.NoError(t, json.Unmarshal([]byte(out), &rep))
		require.False(t, rep.OK)
		require.NotContains(t, out, strings.Repeat("y", 40))
		require.Contains(t, out, s3.Bucket)
		h.xv(t, f.tenant, "", "storage", "delete", bad.ID)
	})

	src := f.createSource(t, "web", srv.User, f.credID, root)
	full := f.backupSnapshot(t, src)
	wantFull := describe(t, root)
	extra := filepath.Join(root, "added.txt")
	require.NoError(t, os.WriteFile(extra, []byte("one more file\n"), 0o644))
	old := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	require.NoError(t, os.Chtimes(extra, old, old))
	inc := f.backupSnapshot(t, src)
	require.Equal(t, sdk.SnapshotIncremental, inc.Kind, "the second backup continues the chain")
	require.Equal(t, full.ID, inc.ParentSnapshotID)
	localDir := func(id string) string {
		return filepath.Join(agent.Storage, "tenants", f.tenant, "sources", src, "snapshots", id)
	}
	prefix := func(id string) string { return "xv/tenants/" + f.tenant + "/sources/" + src + "/snapshots/" + id + "/" }

	move := func(t *testing.T, snap, to string) (sdk.Job, int) {
		t.Helper()
		out, errOut, code := h.xvCode(t, f.tenant, "", "-o", "json", "snapshot", "copy", snap, "--to-storage", to,
			"--move", "--poll-interval", "200ms")
		var j sdk.Job
		if code == 0 {
			require.NoErrorf(t, json.Unmarshal([]byte(out), &j), "copy output: %s\n%s", out, errOut)
		} else {
			j = f.lastJob(t, sdk.JobCopy)
		}
		return j, code
	}

	// local → bucket: the whole chain moves, whichever link is named.
	j, code := move(t, inc.ID, "bucket")
	require.Equalf(t, 0, code, "move to the bucket: %+v", j)
	require.Len(t, j.Copy.Links, 2)
	for _, s := range []sdk.Snapshot{full, inc} {
		var now sdk.Snapshot
		h.xvJSON(t, f.tenant, "", &now, "snapshot", "show", s.ID)
		require.Equal(t, sdk.StorageBackendS3, now.StorageBackend)
		require.Equal(t, target.ID, now.StorageTargetID)
		require.Equal(t, s.SHA256, now.SHA256)
		require.NoDirExists(t, localDir(s.ID), "the old copy is deleted after the move was recorded")
		objects := listObjects(t, obj, s3.Bucket, prefix(s.ID))
		require.Contains(t, objects, "backup.tar.zst.age")
		require.Contains(t, objects, "manifest.json")
	}
	checkBucketArtifact(t, f, obj, s3.Bucket, prefix(full.ID)+"backup.tar.zst.age", full.SHA256, wantFull, root)
	rep, code := h.verifyWait(t, f.tenant, inc.ID)
	require.Equalf(t, 0, code, "verify the moved chain: %+v", rep)

	// The same bucket and prefix under another name (the endpoint spelled
	// with "localhost"): the agent's probe refuses the move, which would
	// otherwise overwrite the chain and then delete it.
	alias := f.s3TargetAt(t, s3, "alias", strings.Replace(s3.Endpoint, "127.0.0.1", "localhost", 1), s3.Bucket, s3.SecretKey)
	j, code = move(t, full.ID, alias.ID)
	require.Equal(t, 4, code)
	require.Contains(t, j.ErrorMessage, "the source target under another name")
	for _, s := range []sdk.Snapshot{full, inc} {
		require.Contains(t, listObjects(t, obj, s3.Bucket, prefix(s.ID)), "backup.tar.zst.age", "the chain is intact")
	}
	rep, code = h.verifyWait(t, f.tenant, inc.ID)
	require.Equalf(t, 0, code, "verify after the refused move: %+v", rep)

	// bucket → local: back on the agent's disk, the bucket emptied.
	j, code = move(t, full.ID, sdk.StorageLocal)
	require.Equalf(t, 0, code, "move back: %+v", j)
	for _, s := range []sdk.Snapshot{full, inc} {
		var now sdk.Snapshot
		h.xvJSON(t, f.tenant, "", &now, "snapshot", "show", s.ID)
		require.Equal(t, sdk.StorageLocalFS, now.StorageBackend)
		require.Empty(t, now.StorageTargetID)
		require.FileExists(t, filepath.Join(localDir(s.ID), "backup.tar.zst.age"))
		require.Empty(t, listObjects(t, obj, s3.Bucket, prefix(s.ID)))
	}
	rep, code = h.verifyWait(t, f.tenant, inc.ID)
	require.Equalf(t, 0, code, "verify the chain moved back: %+v", rep)

	// A damaged source copy: the move fails, nothing changes, nothing is
	// left in the bucket.
	art := filepath.Join(localDir(full.ID), "backup.tar.zst.age")
	fh, err := os.OpenFile(art, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = fh.WriteAt([]byte{0xff, 0x00, 0xff}, 4096)
	require.NoError(t, err)
	require.NoError(t, fh.Close())
	j, code = move(t, inc.ID, "bucket")
	require.Equal(t, 4, code)
	require.Equal(t, sdk.JobFailed, j.Status)
	require.Contains(t, j.ErrorMessage, "damaged")
	require.FileExists(t, art, "the source copy stays")
	require.FileExists(t, filepath.Join(localDir(inc.ID), "backup.tar.zst.age"))
	var now sdk.Snapshot
	h.xvJSON(t, f.tenant, "", &now, "snapshot", "show", full.ID)
	require.Equal(t, sdk.StorageLocalFS, now.StorageBackend)
	require.Empty(t, listObjects(t, obj, s3.Bucket, "xv/tenants/"+f.tenant+"/"))
	for u := range obj.ListIncompleteUploads(context.Background(), s3.Bucket, "xv/", true) {
		require.NoError(t, u.Err)
		t.Errorf("multipart upload left behind: %s", u.Key)
	}
}

// backupSnapshot runs a backup of source and returns its snapshot.
func (f *fixture) backupSnapshot(t *testing.T, source string) sdk.Snapshot {
	t.Helper()
	job, code := f.backup(t, source)
	require.Equalf(t, 0, code, "backup: %+v", job)
	var snap sdk.Snapshot
	f.hub.xvJSON(t, f.tenant, "", &snap, "snapshot", "show", job.SnapshotID)
	return snap
}

// lastJob is the tenant's newest job of the type.
func (f *fixture) lastJob(t *testing.T, typ sdk.JobType) sdk.Job {
	t.Helper()
	var jobs []sdk.Job
	f.hub.xvJSON(t, f.tenant, "", &jobs, "job", "list", "--type", string(typ))
	require.NotEmpty(t, jobs)
	return jobs[0]
}
