package storage

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk/archive"
)

func ids(snapshot string) SnapshotIDs {
	return SnapshotIDs{TenantID: "ten_1", SourceID: "src-1", SnapshotID: snapshot}
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "storage"))
	require.NoError(t, err)
	return s
}

// writeSnapshot writes a small real artifact into a Pending and commits it.
func writeSnapshot(t *testing.T, s *Store, id SnapshotIDs, key *age.X25519Identity) (string, archive.Manifest) {
	t.Helper()
	p, err := s.Begin(id)
	require.NoError(t, err)
	defer func() { require.NoError(t, p.Abort()) }()
	w, err := archive.NewWriter(p, key.Recipient(), archive.Options{})
	require.NoError(t, err)
	body := "hello\n"
	require.NoError(t, w.Add(&tar.Header{Typeflag: tar.TypeReg, Name: "a.txt", Size: int64(len(body)), Mode: 0o644},
		strings.NewReader(body)))
	res, err := w.Close()
	require.NoError(t, err)
	m := archive.Manifest{JobID: "job-1", AgentID: "agent-1", AgeRecipient: key.Recipient().String(), Level: "default",
		StartedAt: time.Unix(1700000000, 0).UTC(), FinishedAt: time.Unix(1700000001, 0).UTC(), DurationMS: 1000}
	m.SetResult(res)
	dir, err := p.Commit(m, archive.Meta{JobID: "job-1", AgentID: "agent-1", CreatedAt: m.FinishedAt})
	require.NoError(t, err)
	return dir, m
}

func newKey(t *testing.T) *age.X25519Identity {
	t.Helper()
	key, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	return key
}

// tree lists every path below root, relative, with its permission bits.
func tree(t *testing.T, root string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if path == root {
			return nil
		}
		fi, err := d.Info()
		require.NoError(t, err)
		rel, err := filepath.Rel(root, path)
		require.NoError(t, err)
		out[filepath.ToSlash(rel)] = fi.Mode().Perm()
		return nil
	}))
	return out
}

func TestCommitLayoutAndModes(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	key := newKey(t)
	dir, m := writeSnapshot(t, s, ids("snap_1"), key)

	base := "tenants/ten_1/sources/src-1/snapshots/snap_1"
	require.Equal(t, filepath.Join(s.Root(), filepath.FromSlash(base)), dir)
	require.Equal(t, map[string]fs.FileMode{
		"tenants": 0o700, "tenants/ten_1": 0o700, "tenants/ten_1/sources": 0o700,
		"tenants/ten_1/sources/src-1": 0o700, "tenants/ten_1/sources/src-1/snapshots": 0o700, base: 0o700,
		base + "/backup.tar.zst.age": 0o600, base + "/manifest.json": 0o600, base + "/meta.json": 0o600,
	}, tree(t, s.Root()))

	got, err := s.ReadManifest(ids("snap_1"))
	require.NoError(t, err)
	require.Equal(t, archive.FormatVersion, got.FormatVersion)
	require.Equal(t, "ten_1", got.TenantID)
	require.Equal(t, "snap_1", got.SnapshotID)
	require.Equal(t, []string{}, got.Warnings)
	require.Equal(t, m.SHA256, got.SHA256)

	var meta map[string]any
	b, err := os.ReadFile(filepath.Join(dir, archive.MetaName))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &meta))
	require.Equal(t, "src-1", meta["source_id"])
	require.Equal(t, "job-1", meta["job_id"])

	path, err := s.ArtifactPath(ids("snap_1"))
	require.NoError(t, err)
	f, err := os.Open(path)
	require.NoError(t, err)
	defer func() { _ = f.Close() }()
	res, err := archive.VerifyFile(context.Background(), f, key, got.SHA256)
	require.NoError(t, err)
	require.Equal(t, int64(1), res.Files)
}

func TestBeginRefusesCommittedAndBusy(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	writeSnapshot(t, s, ids("done"), newKey(t))
	_, err := s.Begin(ids("done"))
	require.ErrorIs(t, err, ErrExists)

	p, err := s.Begin(ids("busy"))
	require.NoError(t, err)
	_, err = s.Begin(ids("busy"))
	require.ErrorIs(t, err, ErrBusy)
	require.NoError(t, p.Abort())
	p, err = s.Begin(ids("busy"))
	require.NoError(t, err, "free again after Abort")
	require.NoError(t, p.Abort())
}

func TestAbortLeavesNothing(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	p, err := s.Begin(ids("snap_1"))
	require.NoError(t, err)
	_, err = p.Write([]byte("half an artifact"))
	require.NoError(t, err)
	require.NoError(t, p.Abort())
	require.NoError(t, p.Abort(), "Abort is idempotent")
	_, err = p.Write([]byte("more"))
	require.Error(t, err)
	require.Empty(t, tree(t, s.Root()))
}

func TestAbortAfterFailedCommit(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	keep, _ := writeSnapshot(t, s, ids("keep"), newKey(t))
	p, err := s.Begin(ids("snap_1"))
	require.NoError(t, err)
	_, err = p.Commit(archive.Manifest{TenantID: "other"}, archive.Meta{})
	require.ErrorContains(t, err, `tenant_id "other" does not match`)
	_, err = p.Commit(archive.Manifest{}, archive.Meta{})
	require.Error(t, err, "a Pending commits at most once")
	require.NoError(t, p.Abort())
	_, err = os.Stat(p.Dir())
	require.ErrorIs(t, err, fs.ErrNotExist)
	require.DirExists(t, keep, "a sibling snapshot and the shared parents stay")
}

func TestAbortAfterCommitKeepsSnapshot(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	dir, _ := writeSnapshot(t, s, ids("snap_1"), newKey(t)) // its deferred Abort ran after Commit
	require.FileExists(t, filepath.Join(dir, archive.ArtifactName))
}

func TestCleanupPartials(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	committed, _ := writeSnapshot(t, s, ids("committed"), newKey(t))
	active, err := s.Begin(ids("active"))
	require.NoError(t, err)
	defer func() { require.NoError(t, active.Abort()) }()
	crashed, err := s.Begin(SnapshotIDs{TenantID: "ten_2", SourceID: "src-9", SnapshotID: "crashed"})
	require.NoError(t, err) // never finished: what a crash leaves
	defer func() { _ = crashed.f.Close() }()

	// A commit interrupted before its final rename.
	half, err := s.Begin(ids("half"))
	require.NoError(t, err)
	require.NoError(t, half.f.Close())
	require.NoError(t, writeJSON(half.Dir(), archive.ManifestName, archive.Manifest{}))
	require.NoError(t, writeJSON(half.Dir(), archive.MetaName, archive.Meta{}))
	// An uncommitted directory holding a file cleanup does not know.
	odd, err := s.Begin(ids("odd"))
	require.NoError(t, err)
	require.NoError(t, odd.f.Close())
	require.NoError(t, os.WriteFile(filepath.Join(odd.Dir(), "notes.txt"), nil, 0o600))

	removed, err := s.CleanupPartials(func(id string) bool { return id == "active" })
	require.NoError(t, err)
	partial := archive.ArtifactName + partialSuffix
	slices.Sort(removed)
	want := []string{
		filepath.Join(crashed.Dir(), partial),
		filepath.Join(half.Dir(), archive.ManifestName),
		filepath.Join(half.Dir(), partial),
		filepath.Join(half.Dir(), archive.MetaName),
		filepath.Join(odd.Dir(), partial),
	}
	slices.Sort(want)
	require.Equal(t, want, removed)

	require.NoDirExists(t, filepath.Join(s.Root(), "tenants", "ten_2"), "empty parents are pruned")
	require.NoDirExists(t, half.Dir())
	require.FileExists(t, filepath.Join(odd.Dir(), "notes.txt"))
	require.FileExists(t, filepath.Join(active.Dir(), partial))
	require.FileExists(t, filepath.Join(committed, archive.ArtifactName))
	require.FileExists(t, filepath.Join(committed, archive.ManifestName))

	removed, err = s.CleanupPartials(nil)
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(active.Dir(), partial)}, removed, "nil active: nothing is active")
}

func TestDeleteIsIdempotentAndPrunes(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	key := newKey(t)
	gone, _ := writeSnapshot(t, s, ids("gone"), key)
	kept, _ := writeSnapshot(t, s, ids("kept"), key)
	other := SnapshotIDs{TenantID: "ten_2", SourceID: "src-2", SnapshotID: "only"}
	writeSnapshot(t, s, other, key)

	require.NoError(t, s.Delete(ids("gone")))
	require.NoDirExists(t, gone)
	require.DirExists(t, kept)
	require.NoError(t, s.Delete(ids("gone")))
	require.NoError(t, s.Delete(ids("never-existed")))

	require.NoError(t, s.Delete(other))
	require.NoDirExists(t, filepath.Join(s.Root(), "tenants", "ten_2"))
	require.NoError(t, s.Delete(ids("kept")))
	require.Empty(t, tree(t, s.Root()))
	require.DirExists(t, s.Root(), "the root itself stays")
}

func TestBadIDsRefused(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	for _, bad := range []string{"", ".", "..", "a/b", `a\b`, "a b", "ü", "a\x00", "-/..", strings.Repeat("a", 65)} {
		for _, id := range []SnapshotIDs{
			{TenantID: bad, SourceID: "s", SnapshotID: "x"},
			{TenantID: "t", SourceID: bad, SnapshotID: "x"},
			{TenantID: "t", SourceID: "s", SnapshotID: bad},
		} {
			_, err := s.Begin(id)
			require.ErrorIs(t, err, ErrInvalidID, "%q", bad)
			require.ErrorIs(t, s.Delete(id), ErrInvalidID)
			_, err = s.ArtifactPath(id)
			require.ErrorIs(t, err, ErrInvalidID)
			_, err = s.ReadManifest(id)
			require.ErrorIs(t, err, ErrInvalidID)
		}
	}
	require.NoError(t, ids(strings.Repeat("a", 64)).Validate())
	require.Empty(t, tree(t, s.Root()))
}

func TestOpenRefusesFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	_, err := Open(path)
	require.ErrorContains(t, err, "not a directory")
}

func TestWriteFileCommitsWithTheArtifactAndAbortRemovesIt(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	p, err := s.Begin(ids("snap_i"))
	require.NoError(t, err)
	n, sum, err := p.WriteFile(archive.IndexName, func(w io.Writer) error { _, err := w.Write([]byte("index")); return err })
	require.NoError(t, err)
	require.Equal(t, int64(5), n)
	require.Equal(t, sha([]byte("index")), sum)
	_, _, err = p.WriteFile("other.json", func(io.Writer) error { return nil })
	require.ErrorContains(t, err, "not a companion file")
	_, _, err = p.WriteFile(archive.IndexName, func(io.Writer) error { return errors.New("encoder broke") })
	require.ErrorContains(t, err, "encoder broke")
	require.NoFileExists(t, filepath.Join(p.Dir(), archive.IndexName+".tmp"))
	require.NoError(t, p.Abort())
	require.NoDirExists(t, p.Dir())

	p, err = s.Begin(ids("snap_j"))
	require.NoError(t, err)
	_, _, err = p.WriteFile(archive.IndexName, func(w io.Writer) error { _, err := w.Write([]byte("kept")); return err })
	require.NoError(t, err)
	dir, err := p.Commit(archive.Manifest{}, archive.Meta{})
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, archive.IndexName))
	require.NoError(t, err)
	require.Equal(t, "kept", string(b))
	removed, err := s.CleanupPartials(func(string) bool { return false })
	require.NoError(t, err)
	require.Empty(t, removed, "a committed snapshot keeps its index")
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
