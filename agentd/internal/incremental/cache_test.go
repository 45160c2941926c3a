package incremental

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/require"
)

func readAll(t *testing.T, c Cache, ids IDs) []byte {
	t.Helper()
	rc, err := c.Open(ids)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

func TestCacheWriteOpen(t *testing.T) {
	t.Parallel()
	c := Cache{Dir: t.TempDir()}
	require.NoError(t, os.Chmod(c.Dir, 0o755))
	idx := sampleIndex(t)
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	require.NoError(t, c.Write(testIDs, func(w io.Writer) error { return Encode(w, idx, id.Recipient()) }))

	path := filepath.Join(c.Dir, "index", "ten_1", "src_1", "snp_a.idx.zst.age")
	got, err := c.Path(testIDs)
	require.NoError(t, err)
	require.Equal(t, path, got)
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o600), st.Mode().Perm())
	for _, dir := range []string{"index", "index/ten_1", "index/ten_1/src_1"} {
		st, err := os.Stat(filepath.Join(c.Dir, dir))
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o700), st.Mode().Perm(), dir)
	}
	dec, err := Decode(bytes.NewReader(readAll(t, c, testIDs)), id, testIDs)
	require.NoError(t, err)
	require.Equal(t, idx.Records, dec.Records)

	_, err = c.Open(IDs{TenantID: "ten_1", SourceID: "src_1", SnapshotID: "snp_zz"})
	require.ErrorIs(t, err, fs.ErrNotExist)
}

func TestCacheTightensDirs(t *testing.T) {
	t.Parallel()
	c := Cache{Dir: t.TempDir()}
	dir := filepath.Join(c.Dir, "index", "ten_1", "src_1")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.Chmod(filepath.Join(c.Dir, "index"), 0o777))
	require.NoError(t, c.Write(testIDs, func(w io.Writer) error { _, err := w.Write([]byte("x")); return err }))
	for _, d := range []string{"index", "index/ten_1", "index/ten_1/src_1"} {
		st, err := os.Stat(filepath.Join(c.Dir, d))
		require.NoError(t, err)
		require.Equal(t, fs.FileMode(0o700), st.Mode().Perm(), d)
	}
}

func TestCacheAtomicWrite(t *testing.T) {
	t.Parallel()
	c := Cache{Dir: t.TempDir()}
	require.NoError(t, c.Write(testIDs, func(w io.Writer) error { _, err := w.Write([]byte("old")); return err }))
	boom := errors.New("boom")
	err := c.Write(testIDs, func(w io.Writer) error {
		if _, err := w.Write([]byte("half of the new")); err != nil {
			return err
		}
		// The final name still holds the old file while the new one is written.
		require.Equal(t, []byte("old"), readAll(t, c, testIDs))
		return boom
	})
	require.ErrorIs(t, err, boom)
	require.Equal(t, []byte("old"), readAll(t, c, testIDs), "a failed write leaves the old file")
	ents, err := os.ReadDir(filepath.Join(c.Dir, "index", "ten_1", "src_1"))
	require.NoError(t, err)
	require.Len(t, ents, 1, "no .partial left behind")

	require.NoError(t, c.Write(testIDs, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err }))
	require.Equal(t, []byte("new"), readAll(t, c, testIDs))
}

func TestCachePrune(t *testing.T) {
	t.Parallel()
	c := Cache{Dir: t.TempDir()}
	for _, snap := range []string{"snp_a", "snp_b", "snp_c"} {
		ids := IDs{TenantID: "ten_1", SourceID: "src_1", SnapshotID: snap}
		require.NoError(t, c.Write(ids, func(w io.Writer) error { _, err := w.Write([]byte(snap)); return err }))
	}
	other := IDs{TenantID: "ten_1", SourceID: "src_2", SnapshotID: "snp_x"}
	require.NoError(t, c.Write(other, func(w io.Writer) error { return nil }))
	dir := filepath.Join(c.Dir, "index", "ten_1", "src_1")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "snp_d.idx.zst.age.123.partial"), nil, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README"), nil, 0o600))

	require.NoError(t, c.Prune("ten_1", "src_1", "snp_b"))
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{"README", "snp_b.idx.zst.age"}, names)
	require.Equal(t, []byte("snp_b"), readAll(t, c, IDs{TenantID: "ten_1", SourceID: "src_1", SnapshotID: "snp_b"}))
	readAll(t, c, other) // another source is untouched

	require.NoError(t, c.Prune("ten_1", "src_none", "snp_b"), "no cache yet")
}

func TestCacheBadIDs(t *testing.T) {
	t.Parallel()
	c := Cache{Dir: t.TempDir()}
	for _, ids := range []IDs{
		{TenantID: "", SourceID: "s", SnapshotID: "p"},
		{TenantID: "..", SourceID: "s", SnapshotID: "p"},
		{TenantID: "t", SourceID: "a/b", SnapshotID: "p"},
		{TenantID: "t", SourceID: "s", SnapshotID: "."},
		{TenantID: "t", SourceID: "s", SnapshotID: "p\x00"},
		{TenantID: "t", SourceID: `s\x`, SnapshotID: "p"},
	} {
		_, err := c.Path(ids)
		require.ErrorContains(t, err, "index cache: bad ", "%+v", ids)
		require.Error(t, c.Write(ids, func(io.Writer) error { return nil }))
		_, err = c.Open(ids)
		require.Error(t, err)
	}
	require.ErrorContains(t, c.Prune("t", "s", "../x"), "bad snapshot id")
	_, err := Cache{}.Path(testIDs)
	require.ErrorContains(t, err, "no directory configured")
}
