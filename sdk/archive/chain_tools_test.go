package archive

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// replayWithTar is the stock-tool procedure of docs/format.md: each artifact,
// full first, through age -d | zstd -d | tar -x --listed-incremental=/dev/null
// into one empty directory.
func replayWithTar(t *testing.T, links []link) string {
	t.Helper()
	dir := t.TempDir()
	key := writeKey(t, dir)
	out := filepath.Join(dir, "out")
	require.NoError(t, os.Mkdir(out, 0o755))
	for _, l := range links {
		file := filepath.Join(dir, l.id+".tar.zst.age")
		require.NoError(t, os.WriteFile(file, l.data, 0o600))
		pipeline(t, nil,
			exec.Command("age", "-d", "-i", key, file),
			exec.Command("zstd", "-d", "-c"),
			exec.Command("tar", "-x", "-p", "--listed-incremental=/dev/null", "-f", "-", "-C", out))
	}
	return out
}

// assembled is what a ChainReader passed on.
type assembled struct {
	names []string
	desc  *Descriptor
	dir   string // the stream extracted by GNU tar
}

// assemble reads the chain with a ChainReader, checks the stream's shape
// (no dumpdir, no name twice, every directory before its children) and
// extracts it as `xv archive extract` does: directory metadata last.
// (GNU tar applies a directory's metadata when the stream leaves it, and the
// files an older link gives come after the tip's entries.)
func assemble(t *testing.T, links []ChainArtifact, opts ChainOptions) (*assembled, error) {
	t.Helper()
	c, err := NewChainReader(links, identity(t), opts)
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	a := &assembled{dir: filepath.Join(t.TempDir(), "out")}
	x := &testExtractor{t: t, root: a.dir}
	at := map[string]int{}
	for {
		hdr, err := c.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return a, err
		}
		require.NotContains(t, hdr.PAXRecords, DumpdirKey, hdr.Name)
		require.NotContains(t, at, hdr.Name, "%s passed on twice", hdr.Name)
		for p := path.Dir(hdr.Name); p != "."; p = path.Dir(p) {
			if i, ok := at[p]; ok {
				require.Less(t, i, len(a.names), "directory %s comes after %s", p, hdr.Name)
			}
		}
		at[hdr.Name] = len(a.names)
		a.names = append(a.names, hdr.Name)
		body, err := io.ReadAll(c)
		require.NoError(t, err)
		require.Len(t, body, int(hdr.Size), hdr.Name)
		if hdr.Name == DescriptorName {
			a.desc, _, err = ReadDescriptor(hdr, bytes.NewReader(body))
			require.NoError(t, err)
		}
		x.add(hdr, body)
	}
	x.finish()
	return a, nil
}

// testExtractor writes entries below root, directory metadata last.
type testExtractor struct {
	t    *testing.T
	root string
	dirs []*tar.Header
}

func (x *testExtractor) add(hdr *tar.Header, body []byte) {
	p := filepath.Join(x.root, filepath.FromSlash(hdr.Name))
	require.NoError(x.t, os.MkdirAll(filepath.Dir(p), 0o755))
	switch hdr.Typeflag {
	case tar.TypeDir:
		require.NoError(x.t, os.MkdirAll(p, 0o755))
		x.dirs = append(x.dirs, hdr)
	case tar.TypeSymlink:
		require.NoError(x.t, os.Symlink(hdr.Linkname, p))
	case tar.TypeReg:
		require.NoError(x.t, os.WriteFile(p, body, 0o600))
		x.setMeta(p, hdr)
	}
}

func (x *testExtractor) setMeta(p string, hdr *tar.Header) {
	require.NoError(x.t, os.Chmod(p, tarMode(hdr.Mode)))
	require.NoError(x.t, os.Chtimes(p, hdr.ModTime, hdr.ModTime))
}

func (x *testExtractor) finish() {
	for i := len(x.dirs) - 1; i >= 0; i-- {
		x.setMeta(filepath.Join(x.root, filepath.FromSlash(x.dirs[i].Name)), x.dirs[i])
	}
}

// readTree reads dir/files back into a tree.
func readTree(t *testing.T, dir string) ttree {
	t.Helper()
	tr := ttree{}
	root := filepath.Join(dir, "files")
	if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
		return tr
	}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		n := tnode{mode: modeBits(fi.Mode()), mtime: fi.ModTime().UnixMicro()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			require.NoError(t, err)
			n = tnode{typ: 'l', target: target}
		case fi.IsDir():
			n.typ = 'd'
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			n.typ, n.body = 'f', string(b)
		default:
			t.Fatalf("%s: unexpected file type %v", p, fi.Mode())
		}
		tr[filepath.ToSlash(rel)] = n
		return nil
	}))
	return tr
}

func modeBits(m fs.FileMode) int64 {
	bits := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		bits |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		bits |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		bits |= 0o1000
	}
	return bits
}

// requireRestores replays the chain with GNU tar and with a ChainReader and
// requires both trees to equal want.
func requireRestores(t *testing.T, b *chainBuilder, want ttree) *assembled {
	t.Helper()
	requireTools(t, "age", "zstd", "tar")
	byTar := readTree(t, replayWithTar(t, b.links))
	a, err := assemble(t, b.chainLinks(nil), ChainOptions{})
	require.NoError(t, err)
	require.Equal(t, want, byTar, "GNU tar replay")
	require.Equal(t, want, readTree(t, a.dir), "ChainReader")
	return a
}
