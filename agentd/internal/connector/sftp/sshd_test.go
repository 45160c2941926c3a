package sftp

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/internal/testutil/sshd"
)

// keyConnector returns a connector for s that logs in with the harness key
// and pins the host key.
func keyConnector(t testing.TB, s *sshd.Server, paths ...string) *Connector {
	t.Helper()
	c, err := New(Config{Host: s.Host, Port: s.Port, Username: s.User, Paths: paths, HostKey: s.HostKeyFingerprint},
		Credential{PrivateKey: s.ClientKey}, Options{})
	require.NoError(t, err)
	return c
}

// withoutParentTimes blanks the mtimes of the first n entries: the parents of
// a test root (/tmp, ...) change as other tests run.
func withoutParentTimes(entries []got, n int) []got {
	for i := range n {
		entries[i].ModTime = time.Time{}
	}
	return entries
}

func TestPullRealTree(t *testing.T) {
	t.Parallel()
	s := sshd.Start(t, sshd.Options{})
	root := filepath.Join(t.TempDir(), "tree")
	buildTree(t, root, 2000, 20<<20)
	want := expectTree(t, root, nil)

	sink := newFakeSink()
	require.NoError(t, keyConnector(t, s, root).Pull(t.Context(), sink))
	sink.check(t)

	parents := strings.Count(root, "/") - 1
	require.Equal(t, withoutParentTimes(want, parents), withoutParentTimes(sink.entries, parents))
	require.Len(t, sink.warns, 1)
	require.ErrorContains(t, sink.warns[filepath.Join(root, "fifo")], "named pipe")
	files := 0
	for _, e := range want {
		if e.Type == connector.TypeFile && e.Size > 0 {
			files++
		}
	}
	require.Equal(t, files, sink.progress)
}

func TestPullSingleFileAndSymlinkRoots(t *testing.T) {
	t.Parallel()
	s := sshd.Start(t, sshd.Options{})
	root := t.TempDir()
	buildTree(t, root, 0, 0)
	sink := newFakeSink()
	c := keyConnector(t, s, filepath.Join(root, "link-rel"), filepath.Join(root, "nested/l1/l2/l3/deep.txt"))
	require.NoError(t, c.Pull(t.Context(), sink))
	sink.check(t)
	e := sink.byName()
	rel := strings.TrimPrefix(root, "/")
	require.Equal(t, "nested/l1", e[rel+"/link-rel"].LinkTarget) // never followed
	require.Equal(t, sha([]byte("deep")), e[rel+"/nested/l1/l2/l3/deep.txt"].SHA256)
	require.Equal(t, connector.TypeDir, e[rel+"/nested/l1/l2"].Type) // parents emitted
	require.Len(t, sink.entries, len(e), "each parent once")
}

func TestExcludes(t *testing.T) {
	t.Parallel()
	s := sshd.Start(t, sshd.Options{})
	root := t.TempDir()
	buildTree(t, root, 20, 0)
	c := keyConnector(t, s, root)
	c.cfg.Exclude = []string{"*.log", filepath.Join(root, "cache"), "l2"}
	sink := newFakeSink()
	require.NoError(t, c.Pull(t.Context(), sink))
	want := expectTree(t, root, func(p string) bool {
		return strings.HasSuffix(p, ".log") || p == filepath.Join(root, "cache") || filepath.Base(p) == "l2"
	})
	parents := strings.Count(root, "/") - 1
	require.Equal(t, withoutParentTimes(want, parents), withoutParentTimes(sink.entries, parents))
	for _, n := range sink.names() {
		require.NotContains(t, n, "cache")
		require.NotContains(t, n, "/l2")
	}
}

func TestKeyWithPassphrase(t *testing.T) {
	t.Parallel()
	s := sshd.Start(t, sshd.Options{})
	raw, err := ssh.ParseRawPrivateKey(s.ClientKey)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(raw, "", []byte("open sesame"))
	require.NoError(t, err)
	key := pemEncode(block)
	cfg := Config{Host: s.Host, Port: s.Port, Username: s.User, Paths: []string{t.TempDir()}, HostKey: s.HostKeyFingerprint}

	_, err = New(cfg, Credential{PrivateKey: key, Passphrase: "wrong"}, Options{})
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "wrong passphrase")
	_, err = New(cfg, Credential{PrivateKey: key}, Options{})
	require.ErrorContains(t, err, "no passphrase")

	c, err := New(cfg, Credential{PrivateKey: key, Passphrase: "open sesame"}, Options{})
	require.NoError(t, err)
	require.NoError(t, c.Pull(t.Context(), newFakeSink()))
}

func TestPasswordAuth(t *testing.T) {
	t.Parallel()
	s := sshd.Start(t, sshd.Options{Password: true})
	// The password user is not root: let it reach the tree.
	dir := t.TempDir()
	for d := dir; d != os.TempDir(); d = filepath.Dir(d) {
		require.NoError(t, os.Chmod(d, 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f.txt"), []byte("hello"), 0o644))
	cfg := Config{Host: s.Host, Port: s.Port, Username: s.User, Paths: []string{dir}, HostKey: s.HostKeyFingerprint}

	c, err := New(cfg, Credential{Password: s.Password}, Options{})
	require.NoError(t, err)
	sink := newFakeSink()
	require.NoError(t, c.Pull(t.Context(), sink))
	require.Equal(t, sha([]byte("hello")), sink.byName()[strings.TrimPrefix(dir, "/")+"/f.txt"].SHA256)

	c, err = New(cfg, Credential{Password: "not-" + s.Password}, Options{})
	require.NoError(t, err)
	err = c.Pull(t.Context(), newFakeSink())
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "authentication failed for "+sshd.PasswordUser+"@"+s.Addr())
	require.NotContains(t, err.Error(), s.Password)
}

func TestClosedPortIsRetryable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	c, err := New(Config{Host: "127.0.0.1", Port: port, Username: "u", Paths: []string{"/"}, HostKey: "SHA256:x"},
		Credential{Password: "pw"}, Options{DialTimeout: 5 * time.Second})
	require.NoError(t, err)
	err = c.Pull(t.Context(), newFakeSink())
	require.ErrorContains(t, err, "connect "+l.Addr().String())
	require.NotErrorIs(t, err, connector.ErrPermanent)
}

func TestHostKeyChanged(t *testing.T) {
	t.Parallel()
	s := sshd.Start(t, sshd.Options{})
	c := keyConnector(t, s, t.TempDir())
	old := s.HostKeyFingerprint
	s.RestartWithNewHostKey(t)
	sink := newFakeSink()
	err := c.Pull(t.Context(), sink)
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "host key of "+s.Addr()+" changed: expected "+old+", got "+s.HostKeyFingerprint)
	require.Empty(t, sink.entries)
}

func TestTrustOnFirstUse(t *testing.T) {
	t.Parallel()
	s := sshd.Start(t, sshd.Options{})
	cfg := Config{Host: s.Host, Port: s.Port, Username: s.User, Paths: []string{t.TempDir()}}
	var recorded []string
	c, err := New(cfg, Credential{PrivateKey: s.ClientKey}, Options{OnHostKey: func(fp string) error {
		recorded = append(recorded, fp)
		return nil
	}})
	require.NoError(t, err)
	require.NoError(t, c.Pull(t.Context(), newFakeSink()))
	require.Equal(t, []string{s.HostKeyFingerprint}, recorded)

	errHub := errors.New("hub unreachable")
	c, err = New(cfg, Credential{PrivateKey: s.ClientKey}, Options{OnHostKey: func(string) error { return errHub }})
	require.NoError(t, err)
	sink := newFakeSink()
	require.ErrorIs(t, c.Pull(t.Context(), sink), errHub)
	require.Empty(t, sink.entries)
}

// cancelSink cancels the pull once it has read `after` bytes, then keeps reading.
type cancelSink struct {
	discardSink
	read, after int64
	cancel      context.CancelFunc
}

func (c *cancelSink) Put(e connector.Entry, body io.Reader) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		c.read += int64(n)
		if c.read >= c.after {
			c.cancel()
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// TestCancelMidTransfer is not parallel: it counts goroutines.
func TestCancelMidTransfer(t *testing.T) {
	s := sshd.Start(t, sshd.Options{})
	root := t.TempDir()
	buildTree(t, root, 500, 64<<20)
	before := runtime.NumGoroutine()
	for i, after := range []int64{100 << 10, 30 << 20, 100 << 10, 30 << 20} { // among small files; inside big.bin
		ctx, cancel := context.WithCancel(t.Context())
		sink := &cancelSink{after: after, cancel: cancel}
		c := keyConnector(t, s, root)
		if i >= 2 {
			c.cfg.Transfer = TransferExec // the remote tar's channel is closed too
		}
		done := make(chan error, 1)
		go func() { done <- c.Pull(ctx, sink) }()
		select {
		case err := <-done:
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(30 * time.Second): // a hang guard, not a timing assertion
			t.Fatal("Pull did not return after cancel")
		}
		cancel()
	}
	// Polled by hand: require.Eventually runs its condition in a goroutine.
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines leaked: %d > %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func pemEncode(b *pem.Block) []byte { return pem.EncodeToMemory(b) }
