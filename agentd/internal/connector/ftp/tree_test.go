package ftp

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/internal/testutil/vsftpd"
	"github.com/xvault/xvault/sdk"
)

// loopback is the egress policy of the tests: the servers run on 127.0.0.1.
var loopback = egress.Policy{AllowLoopback: true}

// newConnector returns a connector for s that logs in with the harness
// user. With TLS it trusts the server's certificate unless skipVerify.
func newConnector(t testing.TB, s *vsftpd.Server, skipVerify bool, paths ...string) *Connector {
	t.Helper()
	cfg := sdk.FTPConfig{Host: s.Host, Port: s.Port, Username: s.User, Paths: paths, TLS: s.TLS(), InsecureSkipVerify: skipVerify}
	c, err := New(cfg, s.Password, connector.Env{Egress: loopback})
	require.NoError(t, err)
	if s.CertPEM != nil && !skipVerify {
		c.rootCAs = x509.NewCertPool()
		require.True(t, c.rootCAs.AppendCertsFromPEM(s.CertPEM))
	}
	c.idleTimeout = 30 * time.Second
	return c
}

// pull runs c.Pull into a new recorder and checks the sink contract.
func pull(t testing.TB, c *Connector) *connectortest.Recorder {
	t.Helper()
	rec := &connectortest.Recorder{}
	require.NoError(t, c.Pull(t.Context(), rec))
	require.NoError(t, rec.Err)
	require.NotNil(t, rec.Descriptor, "Describe is called")
	return rec
}

// writeFile writes data to rel under root with mode (umask-proof).
func writeFile(t testing.TB, root, rel string, data []byte, mode fs.FileMode) {
	t.Helper()
	p := filepath.Join(root, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, data, 0o600))
	require.NoError(t, os.Chmod(p, mode))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// buildSite writes a web site under dir, every entry readable by the FTP
// user, with mtimes both recent (listed to the minute) and old (listed to
// the day), set bottom-up so writing children does not move them.
func buildSite(t testing.TB, dir string, bigSize int) {
	t.Helper()
	writeFile(t, dir, "index.php", randomBytes(3000), 0o644)
	writeFile(t, dir, ".htaccess", []byte("RewriteEngine On\n"), 0o644)
	writeFile(t, dir, ".well-known/security.txt", []byte("Contact: x\n"), 0o644)
	writeFile(t, dir, "empty.txt", nil, 0o644)
	writeFile(t, dir, "run.sh", []byte("#!/bin/sh\n"), 0o755)
	writeFile(t, dir, "setuid.bin", []byte("x"), 0o755|fs.ModeSetuid)
	writeFile(t, dir, "nested/l1/l2/deep.txt", []byte("deep"), 0o644)
	writeFile(t, dir, "cache/c1", []byte("cache"), 0o644)
	writeFile(t, dir, "app.log", []byte("log"), 0o644)
	for _, name := range []string{" lead space.txt", "trail space.txt ", "two  spaces.txt", "日本語.txt", "a -> b.txt", "-dash.txt"} {
		writeFile(t, dir, "names/"+name, []byte(name), 0o644)
	}
	require.NoError(t, os.Mkdir(filepath.Join(dir, "emptydir"), 0o755))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "sticky"), 0o755))
	require.NoError(t, os.Chmod(filepath.Join(dir, "sticky"), 0o777|fs.ModeSticky))
	require.NoError(t, os.Symlink("nested/l1", filepath.Join(dir, "link-rel")))
	require.NoError(t, os.Symlink("/etc/hostname", filepath.Join(dir, "link-abs")))
	require.NoError(t, os.Symlink("does-not-exist", filepath.Join(dir, "link-dangling")))
	require.NoError(t, os.Symlink("target -> arrow", filepath.Join(dir, "link -> arrow")))
	rng := mrand.New(mrand.NewPCG(1, 2))
	for i := range 60 {
		writeFile(t, dir, fmt.Sprintf("small/%02d/f%03d", i%6, i), randomBytes(rng.IntN(8<<10)+1), 0o644)
	}
	if bigSize > 0 {
		writeFile(t, dir, "big.bin", randomBytes(bigSize), 0o644)
	}
	old, recent := time.Date(2020, 9, 13, 12, 26, 40, 0, time.UTC), time.Now().Add(-2*time.Hour).Truncate(time.Second)
	var paths []string
	require.NoError(t, filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		paths = append(paths, p)
		return err
	}))
	for i := len(paths) - 1; i >= 0; i-- {
		mt := old.Add(time.Duration(i) * 61 * time.Second)
		if i%2 == 1 {
			mt = recent.Add(time.Duration(i) * time.Second)
		}
		ts := unix.NsecToTimespec(mt.UnixNano())
		require.NoError(t, unix.UtimesNanoAt(unix.AT_FDCWD, paths[i], []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
	}
}

// got is what the tests compare of an entry.
type got struct {
	Name   string
	Type   connector.EntryType
	Mode   fs.FileMode
	Size   int64
	Target string
	Time   time.Time
	SHA256 string
}

func sha(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

// recorded returns the recorder's entries as gots.
func recorded(rec *connectortest.Recorder) []got {
	var out []got
	for _, e := range rec.Entries {
		g := got{Name: e.Name, Type: e.Type, Mode: e.Mode, Size: e.Size, Target: e.LinkTarget, Time: e.ModTime.UTC()}
		if e.Type == connector.TypeFile {
			g.SHA256 = sha(rec.Bodies[e.Name])
		}
		out = append(out, g)
	}
	return out
}

// expectTree lists the local tree under root (the server's "/") from the
// remote directory dir down, as the connector must archive it: depth-first,
// children in name order, excluded paths left out. Files carry their mtime
// to the second (MDTM); directories and symlinks the precision of LIST:
// minutes for recent times, days for older ones.
func expectTree(t testing.TB, root, dir string, skip func(remote string) bool) []got {
	t.Helper()
	var out []got
	require.NoError(t, filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		remote := "/" + strings.TrimPrefix(p, root+"/")
		if skip != nil && skip(remote) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		require.NoError(t, err)
		g := got{Name: strings.TrimPrefix(remote, "/"), Mode: fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)}
		switch {
		case fi.IsDir():
			g.Type, g.Time = connector.TypeDir, listTime(fi.ModTime())
		case fi.Mode()&fs.ModeSymlink != 0:
			g.Type, g.Time = connector.TypeSymlink, listTime(fi.ModTime())
			g.Target, err = os.Readlink(p)
			require.NoError(t, err)
		default:
			data, err := os.ReadFile(p)
			require.NoError(t, err)
			g.Type, g.Size, g.SHA256, g.Time = connector.TypeFile, int64(len(data)), sha(data), fi.ModTime().UTC().Truncate(time.Second)
		}
		out = append(out, g)
		return nil
	}))
	return out
}

// listTime is t as vsftpd's LIST shows it.
func listTime(t time.Time) time.Time {
	t = t.UTC()
	if time.Since(t) < 150*24*time.Hour {
		return t.Truncate(time.Minute)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// names returns the entry names of rec.
func names(rec *connectortest.Recorder) []string {
	var out []string
	for _, e := range rec.Entries {
		out = append(out, e.Name)
	}
	return out
}

func contains(warnings []string, sub string) bool {
	for _, w := range warnings {
		if strings.Contains(w, sub) {
			return true
		}
	}
	return false
}
