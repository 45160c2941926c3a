package archive

import (
	"archive/tar"
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// requireTools skips (or fails in CI) when the age, zstd or tar CLIs are missing.
func requireTools(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			if os.Getenv("XV_TEST_REQUIRE_SERVICES") == "1" {
				t.Fatalf("%s not found and XV_TEST_REQUIRE_SERVICES=1: install age and zstd (apt-get install age zstd)", name)
			}
			t.Skip("install age and zstd (apt-get install age zstd)")
		}
	}
}

// pipeline runs cmds connected stdout→stdin, feeding stdin to the first and
// returning the last one's stdout.
func pipeline(t *testing.T, stdin io.Reader, cmds ...*exec.Cmd) []byte {
	t.Helper()
	stderr := make([]bytes.Buffer, len(cmds))
	cmds[0].Stdin = stdin
	for i, c := range cmds {
		c.Stderr = &stderr[i]
		if i > 0 {
			out, err := cmds[i-1].StdoutPipe()
			require.NoError(t, err)
			c.Stdin = out
		}
	}
	var out bytes.Buffer
	cmds[len(cmds)-1].Stdout = &out
	for _, c := range cmds {
		require.NoError(t, c.Start(), c.String())
	}
	for i, c := range cmds {
		require.NoError(t, c.Wait(), "%s: %s", c.String(), stderr[i].String())
	}
	return out.Bytes()
}

func writeKey(t *testing.T, dir string) string {
	t.Helper()
	key := filepath.Join(dir, "key.txt")
	require.NoError(t, os.WriteFile(key, []byte(testIdentity+"\n"), 0o600))
	return key
}

// TestArtifactOpensWithStandardTools is the format's promise:
// age -d -i key.txt backup.tar.zst.age | zstd -d | tar -x
func TestArtifactOpensWithStandardTools(t *testing.T) {
	t.Parallel()
	requireTools(t, "age", "zstd", "tar", "sha256sum")
	dir := t.TempDir()
	want := sampleEntries()
	artifact, res := writeArtifact(t, want, Options{})
	path := filepath.Join(dir, ArtifactName)
	require.NoError(t, os.WriteFile(path, artifact, 0o600))

	sum, err := exec.Command("sha256sum", path).Output()
	require.NoError(t, err)
	require.Equal(t, res.SHA256, strings.Fields(string(sum))[0])

	out := filepath.Join(dir, "out")
	require.NoError(t, os.Mkdir(out, 0o700))
	pipeline(t, nil,
		exec.Command("age", "-d", "-i", writeKey(t, dir), path),
		exec.Command("zstd", "-d", "-c"),
		exec.Command("tar", "-x", "-p", "-f", "-", "-C", out))
	for _, e := range want {
		requireExtracted(t, out, e)
	}
}

func requireExtracted(t *testing.T, root string, e entry) {
	t.Helper()
	path := filepath.Join(root, filepath.FromSlash(e.hdr.Name))
	fi, err := os.Lstat(path)
	require.NoError(t, err, e.hdr.Name)
	switch e.hdr.Typeflag {
	case tar.TypeSymlink:
		target, err := os.Readlink(path)
		require.NoError(t, err)
		require.Equal(t, e.hdr.Linkname, target)
		return
	case tar.TypeLink:
		orig, err := os.Lstat(filepath.Join(root, filepath.FromSlash(e.hdr.Linkname)))
		require.NoError(t, err)
		require.True(t, os.SameFile(orig, fi), "%s is a hard link to %s", e.hdr.Name, e.hdr.Linkname)
		return
	case tar.TypeDir:
		require.True(t, fi.IsDir(), e.hdr.Name)
	case tar.TypeReg:
		body, err := os.ReadFile(path)
		require.NoError(t, err)
		require.True(t, bytes.Equal(e.body, body), "%s: content differs", e.hdr.Name)
	}
	require.Equal(t, tarMode(e.hdr.Mode), fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky), e.hdr.Name)
	require.True(t, e.hdr.ModTime.Truncate(time.Microsecond).Equal(fi.ModTime().Truncate(time.Microsecond)),
		"%s: mtime %v, extracted %v", e.hdr.Name, e.hdr.ModTime, fi.ModTime())
}

func tarMode(m int64) fs.FileMode {
	mode := fs.FileMode(m) & fs.ModePerm
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// TestReaderOpensStandardToolsArtifact goes the other way: an artifact made
// with tar --format=pax | zstd | age reads back with Reader.
func TestReaderOpensStandardToolsArtifact(t *testing.T) {
	t.Parallel()
	requireTools(t, "age", "zstd", "tar")
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	require.NoError(t, os.MkdirAll(filepath.Join(src, "sub"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "sub", "a.txt"), []byte("alpha\n"), 0o644))
	require.NoError(t, os.Symlink("sub/a.txt", filepath.Join(src, "link")))

	artifact := pipeline(t, nil,
		exec.Command("tar", "--format=pax", "-c", "-f", "-", "-C", src, "sub", "link"),
		exec.Command("zstd", "-q", "-c"),
		exec.Command("age", "-r", identity(t).Recipient().String()))
	entries, res, err := readAll(bytes.NewReader(artifact), identity(t), "")
	require.NoError(t, err)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.hdr.Name)
	}
	require.ElementsMatch(t, []string{"sub", "sub/a.txt", "link"}, names)
	require.Equal(t, int64(len(artifact)), res.StoredBytes)
}
