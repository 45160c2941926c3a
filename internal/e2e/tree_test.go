package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// makeTree builds the tree the issue asks for: nested dirs, empty files and
// dirs, symlinks, names with spaces and non-ASCII characters, many small
// files and one large file of bigSize bytes. Mtimes are whole seconds
// because SFTP carries seconds only.
func makeTree(t *testing.T, root string, small int, bigSize int64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	mtime := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	write := func(rel string, data []byte, mode fs.FileMode) {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, data, mode))
		require.NoError(t, os.Chmod(p, mode))
		require.NoError(t, os.Chtimes(p, mtime, mtime))
	}
	write("index.html", []byte("<h1>hello</h1>\n"), 0o644)
	write("empty.txt", nil, 0o600)
	write("with space/and ümlaut ✓.txt", []byte("non-ascii\n"), 0o640)
	write("bin/run.sh", []byte("#!/bin/sh\necho hi\n"), 0o755)
	require.NoError(t, os.MkdirAll(filepath.Join(root, "empty-dir"), 0o750))
	for i := range small {
		data := []byte(strings.Repeat("small file line\n", rng.IntN(64)))
		write(filepath.Join("many", string(rune('a'+i%7)), fmt.Sprintf("f%05d.txt", i)), data, 0o644)
	}
	big, err := os.Create(filepath.Join(root, "data", "big.bin"))
	if os.IsNotExist(err) {
		require.NoError(t, os.MkdirAll(filepath.Join(root, "data"), 0o755))
		big, err = os.Create(filepath.Join(root, "data", "big.bin"))
	}
	require.NoError(t, err)
	buf := make([]byte, 1<<20)
	for written := int64(0); written < bigSize; written += int64(len(buf)) {
		for i := 0; i < len(buf); i += 8 { // half random, half text: compresses some
			if (written>>20)%2 == 0 {
				v := rng.Uint64()
				for k := 0; k < 8; k++ {
					buf[i+k] = byte(v >> (8 * k))
				}
			} else {
				copy(buf[i:], "xvault!\n")
			}
		}
		n := min(int64(len(buf)), bigSize-written)
		_, err := big.Write(buf[:n])
		require.NoError(t, err)
	}
	require.NoError(t, big.Close())
	require.NoError(t, os.Chtimes(big.Name(), mtime, mtime))
	require.NoError(t, os.Symlink("../index.html", filepath.Join(root, "bin", "link-to-index")))
	require.NoError(t, os.Symlink("/etc/hostname-does-not-matter", filepath.Join(root, "dangling")))
	// Directory mtimes last, after their contents were written.
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			err = os.Chtimes(p, mtime, mtime)
		}
		return err
	}))
}

// entry is what the comparison checks of one path.
type entry struct {
	Type   string
	Mode   fs.FileMode
	MTime  int64
	Target string
	SHA256 string
}

// describe walks a tree into a map of relative path → entry.
func describe(t *testing.T, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := entry{Mode: fi.Mode().Perm(), MTime: fi.ModTime().Unix()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.Type, e.Mode, e.MTime = "symlink", 0, 0 // symlink modes/mtimes are not portable
			e.Target, err = os.Readlink(p)
		case fi.IsDir():
			e.Type = "dir"
		default:
			e.Type = "file"
			e.SHA256, err = fileSHA(p)
		}
		out[rel] = e
		return err
	}))
	return out
}

func fileSHA(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
