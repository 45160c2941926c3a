package sshexec

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/agentd/internal/incremental"
	"github.com/xvault/xvault/internal/testutil/sshd"
)

// dial connects to the test server as its user.
func dial(t *testing.T, s *sshd.Server) *ssh.Client {
	t.Helper()
	c, err := ssh.Dial("tcp", s.Addr(), &ssh.ClientConfig{
		User: s.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(s.ClientSigner)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), //nolint:gosec // test server on loopback
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// oddNames are files of the listing tree, relative to its root.
var oddNames = []string{
	"plain.txt", "empty", "a b/with space", "new\nline", "-lead", "--checkpoint=1", "日本語.txt", `back\slash`,
	"it's", "tab\tname", "sub/deep/f.log", "cache/c", "h1", "h2",
}

// buildListTree makes the tree of the listing tests: files (some empty),
// symlinks, hard links, setuid and sticky modes, odd names, a fifo.
func buildListTree(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "tree")
	for _, n := range oddNames {
		p := filepath.Join(root, n)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		if n == "h2" {
			require.NoError(t, os.Link(filepath.Join(root, "h1"), p))
			continue
		}
		body := n
		if n == "empty" {
			body = ""
		}
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	require.NoError(t, os.Symlink("../outside target", filepath.Join(root, "sub/link")))
	require.NoError(t, os.Symlink("deep", filepath.Join(root, "sub/dirlink")))
	require.NoError(t, os.Chmod(filepath.Join(root, "plain.txt"), 0o4755))
	require.NoError(t, os.MkdirAll(filepath.Join(root, "sticky"), 0o755))
	require.NoError(t, os.Chmod(filepath.Join(root, "sticky"), 0o1777))
	require.NoError(t, os.Chmod(filepath.Join(root, "a b"), 0o2750))
	require.NoError(t, syscall.Mkfifo(filepath.Join(root, "sub/fifo"), 0o600))
	return root
}

// wantRecord is the record of remote path p as os.Lstat sees it.
func wantRecord(t *testing.T, p string) incremental.Record {
	t.Helper()
	fi, err := os.Lstat(p)
	require.NoError(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	r := incremental.Record{Path: strings.TrimPrefix(p, "/"), Flags: incremental.FlagExec,
		MtimeNS: st.Mtim.Nano(), CtimeNS: st.Ctim.Nano(), Inode: st.Ino, Mode: st.Mode & 0o7777,
		UID: st.Uid, GID: st.Gid, Nlink: uint32(st.Nlink)}
	switch {
	case fi.Mode().IsRegular():
		r.Type, r.Size = incremental.TypeFile, fi.Size()
	case fi.IsDir():
		r.Type = incremental.TypeDir
	default:
		r.Type = incremental.TypeSymlink
		r.Target, err = os.Readlink(p)
		require.NoError(t, err)
	}
	return r
}

func startList(t *testing.T, c *ssh.Client, roots, exclude []string) *Listing {
	t.Helper()
	l, err := StartListing(t.Context(), c, roots, exclude)
	require.NoError(t, err)
	t.Cleanup(l.Close)
	return l
}

// TestListingMatchesLstat: every field of every record equals what
// os.Lstat says of the same (local) file; parents come first.
func TestListingMatchesLstat(t *testing.T) {
	t.Parallel()
	s := sshd.Start(t, sshd.Options{})
	root := buildListTree(t)
	l := startList(t, dial(t, s), []string{root}, nil)
	require.Equal(t, GNU, l.TarFlavour().Flavour)
	require.Contains(t, l.FindVersion(), "GNU findutils")
	require.False(t, l.Start().IsZero())
	recs, warns, err := l.Records(SizeHint{})
	require.NoError(t, err)
	require.Len(t, warns, 1)
	require.Equal(t, filepath.Join(root, "sub/fifo"), warns[0].Path)
	require.ErrorContains(t, warns[0].Err, "named pipe")

	parents := parentDirs([]string{root})
	require.Len(t, recs, len(parents)+len(walk(t, root)))
	for i, d := range parents {
		require.Equal(t, strings.TrimPrefix(d, "/"), recs[i].Path)
		require.Equal(t, incremental.TypeDir, recs[i].Type)
	}
	seen := map[string]bool{}
	for _, r := range recs[len(parents):] {
		require.True(t, r.Path == strings.TrimPrefix(root, "/") || seen[filepath.Dir(r.Path)], "pre-order: %q before its directory", r.Path)
		seen[r.Path] = true
		require.Equal(t, wantRecord(t, "/"+r.Path), r, r.Path)
	}
	for _, p := range walk(t, root) {
		require.True(t, seen[strings.TrimPrefix(p, "/")], p)
	}
	requireNoFetch(t, l)
}

// walk lists root, the fifo left out.
func walk(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type()&os.ModeNamedPipe == 0 {
			out = append(out, p)
		}
		return err
	}))
	return out
}

// requireNoFetch requests nothing: the tar stream is an empty archive.
func requireNoFetch(t *testing.T, l *Listing) {
	t.Helper()
	require.NoError(t, l.Request(nil))
	_, _, _, vanished, err := l.Next()
	require.ErrorIs(t, err, io.EOF)
	require.Empty(t, vanished)
	warns, err := l.Wait()
	require.NoError(t, err)
	require.Empty(t, warns)
}

func TestListingExcludes(t *testing.T) {
	t.Parallel()
	s := sshd.Start(t, sshd.Options{})
	root := buildListTree(t)
	exclude := []string{"*.log", filepath.Join(root, "cache"), "日?語.txt", "a b", filepath.Join(root, "sub/d*")}
	l := startList(t, dial(t, s), []string{root, filepath.Join(root, "sub")}, exclude)
	recs, _, err := l.Records(SizeHint{})
	require.NoError(t, err)
	got := paths(recs)
	rel := strings.TrimPrefix(root, "/")
	require.Contains(t, got, rel+"/sub/link")
	for _, n := range []string{"/sub/deep", "/sub/deep/f.log", "/sub/dirlink", "/cache", "/cache/c", "/日本語.txt", "/a b", "/a b/with space"} {
		require.NotContains(t, got, rel+n)
	}
	requireNoFetch(t, l)
}

// fetchAll requests names and reads the stream back: contents by name,
// the vanished names, and Wait's warnings.
func fetchAll(t *testing.T, l *Listing, names []string) (map[string]string, []string, []Warning) {
	t.Helper()
	require.NoError(t, l.Request(names))
	got := map[string]string{}
	var vanished []string
	for {
		name, hdr, body, v, err := l.Next()
		vanished = append(vanished, v...)
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		b, err := io.ReadAll(body)
		require.NoError(t, err)
		require.Equal(t, hdr.Size, int64(len(b)))
		got[name] = string(b)
	}
	warns, err := l.Wait()
	require.NoError(t, err)
	return got, vanished, warns
}

// TestListingFetch: a subset comes back with its content; a file deleted
// after the listing vanishes, one replaced by a directory vanishes with a
// warning; both hard link names come back as files (GNU tar).
func TestListingFetch(t *testing.T) {
	t.Parallel()
	s := sshd.Start(t, sshd.Options{})
	root := buildListTree(t)
	l := startList(t, dial(t, s), []string{root}, nil)
	recs, _, err := l.Records(SizeHint{})
	require.NoError(t, err)
	var names []string
	for _, r := range recs {
		if r.Type == incremental.TypeFile && r.Size > 0 {
			names = append(names, r.Path)
		}
	}
	rel := strings.TrimPrefix(root, "/")
	gone, replaced := rel+"/new\nline", rel+"/-lead"
	require.Subset(t, names, []string{gone, replaced, rel + "/h1", rel + "/h2", rel + "/" + `back\slash`})
	require.NoError(t, os.Remove("/"+gone))
	require.NoError(t, os.Remove("/"+replaced))
	require.NoError(t, os.Mkdir("/"+replaced, 0o755))

	got, vanished, warns := fetchAll(t, l, names)
	require.ElementsMatch(t, []string{gone, replaced}, vanished)
	require.Len(t, got, len(names)-2)
	for name, body := range got {
		want, err := os.ReadFile("/" + name)
		require.NoError(t, err)
		require.Equal(t, string(want), body, name)
	}
	var msgs []string
	for _, w := range warns {
		msgs = append(msgs, w.Path+": "+w.Err.Error())
	}
	require.Contains(t, msgs, "/"+replaced+": not stored: replaced by a directory since the listing")
	require.True(t, slices.ContainsFunc(msgs, func(m string) bool {
		return strings.Contains(m, `new\nline: Warning: Cannot stat`) // tar quotes the newline
	}), "%q", msgs)
}

func TestListingMissingRoot(t *testing.T) {
	t.Parallel()
	s := sshd.Start(t, sshd.Options{})
	missing := filepath.Join(t.TempDir(), "nope")
	l := startList(t, dial(t, s), []string{missing}, nil)
	_, _, err := l.Records(SizeHint{})
	require.ErrorContains(t, err, "configured path "+missing+" does not exist")
	require.ErrorContains(t, err, "No such file or directory")

	l = startList(t, dial(t, s), []string{filepath.Join(missing, "below")}, nil)
	_, _, err = l.Records(SizeHint{})
	require.ErrorContains(t, err, "stat "+missing+" (parent of a configured path): not found")
}

// serverWith starts a server whose sessions find the given programs first
// on PATH ("tar" → /usr/bin/bsdtar, say; a "busybox" target runs the
// applet of that name).
func serverWith(t *testing.T, programs map[string]string) *sshd.Server {
	t.Helper()
	dir := t.TempDir()
	for name, target := range programs {
		bin, err := exec.LookPath(target)
		if err != nil {
			if os.Getenv(sshd.EnvRequire) == "1" {
				t.Fatalf("%s not installed (apt-get install libarchive-tools busybox)", target)
			}
			t.Skipf("%s not installed (apt-get install libarchive-tools busybox)", target)
		}
		script := "#!/bin/sh\nexec " + bin + " \"$@\"\n"
		if target == "busybox" {
			script = "#!/bin/sh\nexec " + bin + " " + name + " \"$@\"\n"
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755))
	}
	return sshd.Start(t, sshd.Options{Config: []string{"SetEnv PATH=" + dir + ":/usr/bin:/bin"}})
}

// TestListingBSDTar: with bsdtar the requested files come back; the second
// name of a hard link comes as a link (not stored, warned, vanished) and a
// deleted file vanishes, bsdtar's exit status 1 for it is a success.
func TestListingBSDTar(t *testing.T) {
	t.Parallel()
	s := serverWith(t, map[string]string{"tar": "bsdtar"})
	root := buildListTree(t)
	l := startList(t, dial(t, s), []string{root}, []string{"*.log"})
	require.Equal(t, BSD, l.TarFlavour().Flavour)
	recs, _, err := l.Records(SizeHint{})
	require.NoError(t, err)
	rel := strings.TrimPrefix(root, "/")
	names := []string{rel + "/h1", rel + "/h2", rel + "/new\nline", rel + "/-lead", rel + "/" + `back\slash`}
	for _, n := range names {
		require.Contains(t, paths(recs), n)
	}
	require.NoError(t, os.Remove("/"+rel+"/new\nline"))
	got, vanished, warns := fetchAll(t, l, names)
	require.ElementsMatch(t, []string{rel + "/h2", rel + "/new\nline"}, vanished)
	require.Equal(t, map[string]string{rel + "/h1": "h1", rel + "/-lead": "-lead", rel + "/" + `back\slash`: `back\slash`}, got)
	require.True(t, slices.ContainsFunc(warns, func(w Warning) bool {
		return w.Path == "/"+rel+"/h2" && strings.Contains(w.Err.Error(), "hard link")
	}), "%v", warns)
}

// TestListingFallbackSentinels: BusyBox tar (no --null/-T) and a find that
// is not GNU find give the sentinels the caller falls back to SFTP on.
func TestListingFallbackSentinels(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	for _, tc := range []struct {
		name     string
		programs map[string]string
		want     error
	}{
		{"busybox tar", map[string]string{"tar": "busybox"}, ErrNoListTar},
		{"busybox find", map[string]string{"find": "busybox"}, ErrNoFind},
		{"no tar", map[string]string{"tar": "false"}, ErrNoListTar},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := serverWith(t, tc.programs)
			_, err := StartListing(t.Context(), dial(t, s), []string{root}, nil)
			require.ErrorIs(t, err, tc.want)
		})
	}
}
