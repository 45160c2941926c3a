package sftp

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
)

var errDiskFull = errors.New("disk full")

// memNode is one object of the in-memory tree served by memFS.
type memNode struct {
	mode   fs.FileMode // type bits included
	data   []byte
	listed int64 // size reported by stat/list; -1: len(data)
	target string
	vanish bool     // listed, but open fails with "no such file"
	extra  []string // directories: raw names added to the listing (hostile server)
}

// memFS is a request-server backend whose behaviour tests control: sizes
// that lie, files that vanish, names no real file system would return.
type memFS struct {
	mu    sync.Mutex
	nodes map[string]*memNode
	mtime time.Time
}

func newMemFS() *memFS {
	return &memFS{nodes: map[string]*memNode{"/": {mode: fs.ModeDir | 0o755}}, mtime: time.Unix(1700000000, 0)}
}

// add creates a node and its missing parent directories.
func (m *memFS) add(p string, n *memNode) *memNode {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n.listed == 0 && n.mode.IsRegular() {
		n.listed = -1
	}
	for d := path.Dir(p); d != "/"; d = path.Dir(d) {
		if _, ok := m.nodes[d]; !ok {
			m.nodes[d] = &memNode{mode: fs.ModeDir | 0o755}
		}
	}
	m.nodes[p] = n
	return n
}

func (m *memFS) file(p string, data string) *memNode {
	return m.add(p, &memNode{mode: 0o644, data: []byte(data)})
}

type memInfo struct {
	name string
	n    *memNode
	mt   time.Time
}

func (i memInfo) Name() string       { return i.name }
func (i memInfo) Mode() fs.FileMode  { return i.n.mode }
func (i memInfo) ModTime() time.Time { return i.mt }
func (i memInfo) IsDir() bool        { return i.n.mode.IsDir() }
func (i memInfo) Sys() any           { return &syscall.Stat_t{Uid: 1000, Gid: 1000} }
func (i memInfo) Size() int64 {
	if i.n.listed >= 0 {
		return i.n.listed
	}
	return int64(len(i.n.data))
}

type listerAt []os.FileInfo

func (l listerAt) ListAt(out []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[off:])
	if n < len(out) {
		return n, io.EOF
	}
	return n, nil
}

func (m *memFS) Fileread(r *pkgsftp.Request) (io.ReaderAt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n, ok := m.nodes[r.Filepath]
	if !ok || n.vanish {
		return nil, os.ErrNotExist
	}
	return bytes.NewReader(n.data), nil
}

func (m *memFS) Filewrite(*pkgsftp.Request) (io.WriterAt, error) {
	return nil, pkgsftp.ErrSSHFxOpUnsupported
}
func (m *memFS) Filecmd(*pkgsftp.Request) error { return pkgsftp.ErrSSHFxOpUnsupported }

func (m *memFS) Filelist(r *pkgsftp.Request) (pkgsftp.ListerAt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := r.Filepath
	n, ok := m.nodes[p]
	if !ok {
		return nil, os.ErrNotExist
	}
	switch r.Method {
	case "List":
		var out listerAt
		for q, c := range m.nodes {
			if q != "/" && path.Dir(q) == p {
				out = append(out, memInfo{path.Base(q), c, m.mtime})
			}
		}
		for _, name := range n.extra {
			out = append(out, memInfo{name, &memNode{mode: 0o644, listed: -1}, m.mtime})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name() > out[j].Name() }) // reversed: the client must sort
		return out, nil
	case "Readlink":
		return listerAt{memInfo{n.target, n, m.mtime}}, nil
	default: // Stat (no LstatFileLister: the client's Lstat lands here too)
		return listerAt{memInfo{path.Base(p), n, m.mtime}}, nil
	}
}

// fakeClient serves m over an in-memory pipe and returns a client for it.
func fakeClient(t testing.TB, m *memFS) *pkgsftp.Client {
	t.Helper()
	a, b := net.Pipe()
	srv := pkgsftp.NewRequestServer(a, pkgsftp.Handlers{FileGet: m, FilePut: m, FileCmd: m, FileList: m})
	go func() { _ = srv.Serve() }()
	c, err := pkgsftp.NewClientPipe(b, b, pkgsftp.UseFstat(true))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(); _ = srv.Close() })
	return c
}

func testPullOptions(paths ...string) pullOptions {
	return pullOptions{paths: paths, inFlight: 4, smallFileMax: 1 << 20, budget: 4 << 20}
}

func TestHostileNamesRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		names []string
		want  string
	}{
		{[]string{"ok", "a\x00b"}, `"a\x00b"`},
		{[]string{"x/.."}, `"..": `}, // pkg/sftp reduces it to its last element
		{[]string{"b", "a/b"}, `name "b" twice`},
		{[]string{""}, `"."`}, // path.Base("") == "."
	} {
		t.Run(strings.Join(tc.names, ","), func(t *testing.T) {
			t.Parallel()
			m := newMemFS()
			m.file("/srv/b", "b")
			m.add("/srv/evil", &memNode{mode: fs.ModeDir | 0o755, extra: tc.names})
			sink := newFakeSink()
			err := pull(t.Context(), fakeClient(t, m), sink, testPullOptions("/srv"))
			require.Error(t, err)
			require.ErrorContains(t, err, "/srv/evil")
			require.ErrorContains(t, err, tc.want)
			for _, n := range sink.names() {
				require.NotContains(t, n, "..")
			}
		})
	}
}

// TestLibraryDropsDotDot documents what github.com/pkg/sftp does before our
// check sees a listing: ".." and "." vanish, "a/b" becomes "b". None escapes.
func TestLibraryDropsDotDot(t *testing.T) {
	t.Parallel()
	m := newMemFS()
	m.add("/srv", &memNode{mode: fs.ModeDir | 0o755, extra: []string{"..", ".", "../../etc/x"}})
	sink := newFakeSink()
	err := pull(t.Context(), fakeClient(t, m), sink, testPullOptions("/srv"))
	require.NoError(t, err)
	// "../../etc/x" arrives as "x", inside /srv (listed empty, so it is archived empty).
	require.Equal(t, []string{"srv", "srv/x"}, sink.names()[:2])
}

func TestChangedAndVanishedFiles(t *testing.T) {
	t.Parallel()
	for _, small := range []bool{true, false} {
		t.Run(map[bool]string{true: "small", false: "streamed"}[small], func(t *testing.T) {
			t.Parallel()
			m := newMemFS()
			m.file("/d/same", "0123456789")
			m.add("/d/shrank", &memNode{mode: 0o644, data: []byte("01234"), listed: 10})
			m.add("/d/grew", &memNode{mode: 0o644, data: []byte("0123456789ABCDEF"), listed: 10})
			m.add("/d/vanished", &memNode{mode: 0o644, data: []byte("0123456789"), vanish: true})
			m.add("/d/sock", &memNode{mode: fs.ModeSocket | 0o755})
			o := testPullOptions("/d")
			if !small {
				o.smallFileMax = 4
			}
			sink := newFakeSink()
			require.NoError(t, pull(t.Context(), fakeClient(t, m), sink, o))
			sink.check(t)
			require.Equal(t, []string{"d", "d/grew", "d/same", "d/shrank"}, sink.names())
			e := sink.byName()
			require.Equal(t, sha([]byte("0123456789")), e["d/grew"].SHA256)
			require.Equal(t, sha([]byte("0123456789")), e["d/same"].SHA256)
			if small { // read whole before the header: the header tells the truth
				require.Equal(t, int64(5), e["d/shrank"].Size)
				require.Equal(t, sha([]byte("01234")), e["d/shrank"].SHA256)
			} else { // header already out: padded
				require.Equal(t, int64(10), e["d/shrank"].Size)
				require.Equal(t, sha([]byte("01234\x00\x00\x00\x00\x00")), e["d/shrank"].SHA256)
			}
			require.Len(t, sink.warns, 4)
			require.ErrorContains(t, sink.warns["/d/grew"], "grew")
			require.ErrorContains(t, sink.warns["/d/shrank"], "shrank")
			require.ErrorIs(t, sink.warns["/d/vanished"], fs.ErrNotExist)
			require.ErrorContains(t, sink.warns["/d/sock"], "socket")
		})
	}
}

func TestPullOrderAndParents(t *testing.T) {
	t.Parallel()
	m := newMemFS()
	m.file("/a/b/c/f2", "2")
	m.file("/a/b/c/f1", "1")
	m.file("/a/b/c/sub/z", "z")
	m.file("/a/b/d/x", "x")
	m.file("/a/b/d/y.log", "y")
	m.add("/a/b/c/link", &memNode{mode: fs.ModeSymlink | 0o777, target: "../d/x"})
	m.file("/a/b/other", "o")
	sink := newFakeSink()
	o := testPullOptions("/a/b/d", "/a/b/c", "/a/b/c/sub", "/a/b/d")
	o.exclude = []string{"*.log"}
	require.NoError(t, pull(t.Context(), fakeClient(t, m), sink, o))
	sink.check(t)
	require.Equal(t, []string{
		"a", "a/b",
		"a/b/c", "a/b/c/f1", "a/b/c/f2", "a/b/c/link", "a/b/c/sub", "a/b/c/sub/z",
		"a/b/d", "a/b/d/x",
	}, sink.names())
	e := sink.byName()
	require.Equal(t, "../d/x", e["a/b/c/link"].LinkTarget)
	require.Equal(t, 1000, e["a/b/c/f1"].UID)
	require.Equal(t, time.Unix(1700000000, 0), e["a/b/c/f1"].ModTime)
	require.Equal(t, 4, sink.progress)
}

func TestRootMissingFails(t *testing.T) {
	t.Parallel()
	m := newMemFS()
	err := pull(t.Context(), fakeClient(t, m), newFakeSink(), testPullOptions("/nope"))
	require.ErrorContains(t, err, "stat configured path /nope")
}

func TestSinkErrorStopsPull(t *testing.T) {
	t.Parallel()
	m := newMemFS()
	for i := range 50 {
		m.file("/d/f"+strings.Repeat("x", i), "data")
	}
	m.add("/d/big", &memNode{mode: 0o644, data: bytes.Repeat([]byte("b"), 1<<20)})
	for _, stopAt := range []string{"d/fxxx", "d/big"} {
		sink := newFakeSink()
		sink.onPut = func(e connector.Entry) error {
			if e.Name == stopAt {
				return errDiskFull
			}
			return nil
		}
		o := testPullOptions("/d")
		o.smallFileMax = 1000
		err := pull(t.Context(), fakeClient(t, m), sink, o)
		require.ErrorIs(t, err, errDiskFull)
		require.ErrorContains(t, err, "/"+stopAt)
	}
}
