package sftp

import (
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/xvault/xvault/agentd/internal/connector"
)

// buildTree writes the tree the end-to-end tests pull. smallFiles files of
// random size up to 8 KiB go into "small/"; bigSize random bytes into big.bin.
func buildTree(t testing.TB, root string, smallFiles int, bigSize int) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		require.NoError(t, err)
	}
	write := func(rel string, data []byte, mode os.FileMode) {
		p := filepath.Join(root, rel)
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		must(os.WriteFile(p, data, mode))
		must(os.Chmod(p, mode)) // umask-proof, and keeps setuid bits
	}
	write("a dir with spaces/fïlé ñame.txt", []byte("unicode\n"), 0o640)
	write("a dir with spaces/日本語.txt", []byte("日本語\n"), 0o600)
	write("empty.txt", nil, 0o644)
	write("nested/l1/l2/l3/deep.txt", []byte("deep"), 0o644)
	write("setuid.bin", []byte("#!/bin/sh\n"), 0o4755|os.ModeSetuid)
	write("app.log", []byte("log"), 0o644)
	write("cache/c1", []byte("cache"), 0o644)
	must(os.Mkdir(filepath.Join(root, "emptydir"), 0o700))
	must(os.Chmod(filepath.Join(root, "emptydir"), 0o700))
	must(os.Mkdir(filepath.Join(root, "sticky"), 0o755))
	must(os.Chmod(filepath.Join(root, "sticky"), 0o1777|os.ModeSticky))
	must(os.Symlink("nested/l1", filepath.Join(root, "link-rel")))
	must(os.Symlink("/etc/hostname", filepath.Join(root, "link-abs")))
	must(os.Symlink("does-not-exist", filepath.Join(root, "link-dangling")))
	must(syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644))
	rng := mrand.New(mrand.NewPCG(1, 2))
	for i := range smallFiles {
		data := make([]byte, rng.IntN(8<<10))
		_, _ = rand.Read(data)
		write(fmt.Sprintf("small/%02d/f%05d", i%50, i), data, 0o644)
	}
	if bigSize > 0 {
		data := make([]byte, bigSize)
		_, _ = rand.Read(data)
		write("big.bin", data, 0o644)
	}
	// Distinct whole-second mtimes, set bottom-up so writing children does not move them.
	base := time.Unix(1600000000, 0)
	var paths []string
	must(filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	}))
	for i := len(paths) - 1; i >= 0; i-- {
		mt := base.Add(time.Duration(i) * time.Second)
		must(lchtimes(paths[i], mt))
	}
}

// lchtimes sets the times of p itself, also when p is a symlink.
func lchtimes(p string, mt time.Time) error {
	ts := unix.NsecToTimespec(mt.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}

// expectTree lists root on the local file system the way the connector
// must: parents of root, then root depth-first, children in name order.
// Fifos are left out (the connector warns about them).
func expectTree(t testing.TB, root string, exclude func(string) bool) []got {
	t.Helper()
	var out []got
	var parents []string
	for d := filepath.Dir(root); d != "/"; d = filepath.Dir(d) {
		parents = append([]string{d}, parents...)
	}
	for _, d := range parents {
		fi, err := os.Stat(d)
		require.NoError(t, err)
		out = append(out, localEntry(t, d, fi))
	}
	var walk func(p string)
	walk = func(p string) {
		if exclude != nil && exclude(p) {
			return
		}
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		if fi.Mode()&os.ModeNamedPipe != 0 {
			return
		}
		out = append(out, localEntry(t, p, fi))
		if !fi.IsDir() {
			return
		}
		des, err := os.ReadDir(p) // sorted by name
		require.NoError(t, err)
		for _, de := range des {
			walk(filepath.Join(p, de.Name()))
		}
	}
	walk(root)
	return out
}

func localEntry(t testing.TB, p string, fi os.FileInfo) got {
	t.Helper()
	st := fi.Sys().(*syscall.Stat_t)
	g := got{Entry: connector.Entry{
		Name:    strings.TrimPrefix(p, "/"),
		Mode:    fi.Mode() & (os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky),
		ModTime: time.Unix(fi.ModTime().Unix(), 0),
		UID:     int(st.Uid),
		GID:     int(st.Gid),
	}}
	switch {
	case fi.IsDir():
		g.Type = connector.TypeDir
	case fi.Mode()&os.ModeSymlink != 0:
		g.Type = connector.TypeSymlink
		target, err := os.Readlink(p)
		require.NoError(t, err)
		g.LinkTarget = target
	default:
		g.Type = connector.TypeFile
		g.Size = fi.Size()
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		g.SHA256 = sha(data)
	}
	return g
}
