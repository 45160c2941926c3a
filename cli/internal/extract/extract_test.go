package extract

import (
	"archive/tar"
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type ent struct {
	typ        byte
	name, link string
	body       string
}

// rawTar builds a tar without any name checks: what a hostile server or a
// hand-crafted archive may hold.
func rawTar(t *testing.T, ents []ent) *tar.Reader {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := &tar.Header{Typeflag: e.typ, Name: e.name, Linkname: e.link, Mode: 0o644, ModTime: time.Unix(1700000000, 0),
			Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if e.typ == tar.TypeDir {
			h.Mode = 0o755
		}
		require.NoError(t, tw.WriteHeader(h))
		_, err := tw.Write([]byte(e.body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return tar.NewReader(&buf)
}

// outside lists everything in parent except the "out" directory.
func outside(t *testing.T, parent string) []string {
	var got []string
	require.NoError(t, filepath.WalkDir(parent, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(parent, p)
		if rel == "." || rel == "out" || filepath.Dir(rel) == "out" || bytes.HasPrefix([]byte(rel), []byte("out/")) {
			return err
		}
		got = append(got, rel)
		return err
	}))
	return got
}

func TestHostileArchivesStayInside(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		ents []ent
	}{
		{"dot-dot", []ent{{typ: tar.TypeReg, name: "../x", body: "evil"}}},
		{"dot-dot inside", []ent{{typ: tar.TypeReg, name: "a/../../x", body: "evil"}}},
		{"absolute", []ent{{typ: tar.TypeReg, name: "/tmp/xv-evil-abs", body: "evil"}}},
		{"symlink to / then a file through it", []ent{
			{typ: tar.TypeSymlink, name: "link", link: "/"},
			{typ: tar.TypeReg, name: "link/tmp/xv-evil-through", body: "evil"}}},
		{"symlink to parent then a file through it", []ent{
			{typ: tar.TypeSymlink, name: "up", link: ".."},
			{typ: tar.TypeReg, name: "up/x", body: "evil"}}},
		{"symlink inside then a file through it", []ent{
			{typ: tar.TypeDir, name: "real"},
			{typ: tar.TypeSymlink, name: "alias", link: "real"},
			{typ: tar.TypeReg, name: "alias/x", body: "evil"}}},
		{"file then symlink of the same name then a file through it", []ent{
			{typ: tar.TypeReg, name: "d", body: "x"},
			{typ: tar.TypeSymlink, name: "d", link: "/tmp"},
			{typ: tar.TypeReg, name: "d/xv-evil-dup", body: "evil"}}},
		{"hard link to outside", []ent{{typ: tar.TypeLink, name: "h", link: "../../etc/passwd"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			_, err := Extract(rawTar(t, tc.ents), filepath.Join(parent, "out"), Options{})
			require.Empty(t, outside(t, parent), "nothing outside DIR")
			for _, p := range []string{"/tmp/xv-evil-abs", "/tmp/xv-evil-through", "/tmp/xv-evil-dup"} {
				_, serr := os.Lstat(p)
				require.ErrorIs(t, serr, fs.ErrNotExist, p)
			}
			if tc.name != "hard link to outside" {
				require.ErrorIs(t, err, ErrUnsafe)
			}
		})
	}
}

func TestDuplicatesAndMetadata(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "out")
	st, err := Extract(rawTar(t, []ent{
		{typ: tar.TypeDir, name: "d/"},
		{typ: tar.TypeReg, name: "d/f", body: "first"},
		{typ: tar.TypeReg, name: "d/f", body: "second"},
		{typ: tar.TypeSymlink, name: "d/l", link: "/etc/passwd"},
		{typ: tar.TypeReg, name: "d/l", body: "file now"},
		{typ: tar.TypeLink, name: "d/h", link: "d/f"},
		{typ: tar.TypeReg, name: "other/g", body: "g"},
	}), dir, Options{Paths: []string{"d"}})
	require.NoError(t, err)
	require.EqualValues(t, 3, st.Files)
	b, err := os.ReadFile(filepath.Join(dir, "d/f"))
	require.NoError(t, err)
	require.Equal(t, "second", string(b))
	fi, err := os.Lstat(filepath.Join(dir, "d/l"))
	require.NoError(t, err)
	require.True(t, fi.Mode().IsRegular(), "the later entry replaced the symlink")
	fi, err = os.Stat(filepath.Join(dir, "d"))
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o755), fi.Mode().Perm())
	require.Equal(t, int64(1700000000), fi.ModTime().Unix())
	_, err = os.Stat(filepath.Join(dir, "other"))
	require.ErrorIs(t, err, fs.ErrNotExist, "--path limits extraction")
}
