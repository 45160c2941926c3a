package sshexec

import (
	"archive/tar"
	"bytes"
	"fmt"
	"github.com/xvault/xvault/agentd/internal/connector/connectortest"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk/archive"
)

// recSink records entries (with their bodies) and warnings.
type recSink struct {
	connectortest.Extras
	entries []connector.Entry
	bodies  map[string]string
	warns   []string
}

func newRecSink() *recSink { return &recSink{bodies: map[string]string{}} }

func (s *recSink) Put(e connector.Entry, body io.Reader) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if int64(len(b)) != e.Size {
		return fmt.Errorf("%s: body %d bytes, header %d", e.Name, len(b), e.Size)
	}
	s.entries = append(s.entries, e)
	s.bodies[e.Name] = string(b)
	return nil
}

// Warn records the tree's warnings; the remote shell's own stderr (rc-file
// noise of the test box) is left out.
func (s *recSink) Warn(p string, err error) {
	if p != ShellOutput {
		s.warns = append(s.warns, p+": "+err.Error())
	}
}
func (s *recSink) Progress(string) {}

func (s *recSink) names() []string {
	var out []string
	for _, e := range s.entries {
		out = append(out, e.Name)
	}
	return out
}

func gnuTar() Tar { return Tar{Flavour: GNU, Version: "1.34", Sort: true} }

// paxWithPath is a stream whose first entry names its path in a PAX record
// holding raw bytes (a NUL, say), which tar.Writer would refuse to write.
func paxWithPath(p string) []byte {
	rec := " path=" + p + "\n"
	n := len(rec)
	for len(strconv.Itoa(n))+len(rec) != n {
		n = len(strconv.Itoa(n)) + len(rec)
	}
	rec = strconv.Itoa(n) + rec
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	_ = tw.WriteHeader(&tar.Header{Name: "pax", Typeflag: tar.TypeReg, Size: int64(len(rec)), Format: tar.FormatUSTAR})
	_, _ = tw.Write([]byte(rec))
	_ = tw.Flush()
	b := buf.Bytes()
	b[156] = tar.TypeXHeader
	copy(b[148:156], []byte("        "))
	var sum int
	for _, c := range b[:512] {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return append(b, tarOf(hdrFile("srv/ok"))...)
}

func TestCraftedStreamFailsNamingTheEntry(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		stream []byte
		want   string
	}{
		{"dotdot", tarOf(hdrDir("srv"), hdrFile("../x")), `"../x"`},
		{"dotdot inside", tarOf(hdrDir("srv"), hdrFile("srv/a/../../x")), `"srv/a/../../x"`},
		{"absolute", tarOf(hdrDir("srv"), hdrFile("/etc/passwd")), `"/etc/passwd"`},
		{"outside root", tarOf(hdrDir("srv"), hdrFile("etc/passwd")), `"etc/passwd": outside the requested path /srv`},
		{"NUL", paxWithPath("srv/a\x00b"), `read the first entry: archive/tar: invalid tar header`},
		{"NUL after entry", append(tarOf(hdrDir("srv"))[:512], paxWithPath("srv/a\x00b")...), `after "srv/"`},
		{"empty element", tarOf(hdrDir("srv"), hdrFile("srv//x")), `"srv//x"`},
		{"symlink NUL", tarOf(hdrDir("srv"), &tar.Header{Name: "srv/l", Typeflag: tar.TypeSymlink}), `invalid symlink target`},
		{"unknown type", tarOf(hdrDir("srv"), &tar.Header{Name: "srv/x", Typeflag: 'Z'}), `unsupported tar entry type`},
		{"root missing", tarOf(), `configured path /srv: the remote tar did not archive it`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client, _ := startFake(t, gnuProbe(tc.stream, "", 0))
			tr, err := Probe(t.Context(), client)
			require.NoError(t, err)
			sink := newRecSink()
			err = Pull(t.Context(), client, sink, Options{Tar: tr, Paths: []string{"/srv"}})
			require.ErrorContains(t, err, tc.want)
			for _, n := range sink.names() {
				require.NoError(t, archive.ValidName(n))
				require.True(t, n == "srv" || strings.HasPrefix(n, "srv/"), n)
			}
		})
	}
}

func TestGNUExitStatus(t *testing.T) {
	t.Parallel()
	stream := tarOf(hdrDir("srv"), hdrFile("srv/f"))
	const msg = "tar: srv/f: file changed as we read it\n"

	client, _ := startFake(t, gnuProbe(stream, msg, 1))
	sink := newRecSink()
	require.NoError(t, Pull(t.Context(), client, sink, Options{Tar: gnuTar(), Paths: []string{"/srv"}}))
	require.Equal(t, []string{"srv", "srv/f"}, sink.names())
	require.Equal(t, []string{"/srv: srv/f: file changed as we read it"}, sink.warns)

	client, _ = startFake(t, gnuProbe(stream, "tar: srv/x: Cannot open: Input/output error\n", 2))
	err := Pull(t.Context(), client, newRecSink(), Options{Tar: gnuTar(), Paths: []string{"/srv"}})
	require.ErrorContains(t, err, "exit status 2: tar: srv/x: Cannot open: Input/output error")

	bsd := Tar{Flavour: BSD}
	client, _ = startFake(t, gnuProbe(stream, msg, 1))
	err = Pull(t.Context(), client, newRecSink(), Options{Tar: bsd, Paths: []string{"/srv"}})
	require.ErrorContains(t, err, "exit status 1", "only GNU tar's status 1 is a warning")
}

func TestEntriesReemitted(t *testing.T) {
	t.Parallel()
	mt := time.Unix(1600000000, 999)
	stream := tarOf(
		&tar.Header{Name: "srv/", Typeflag: tar.TypeDir, Mode: 0o1777, ModTime: mt, Uid: 7, Gid: 8},
		&tar.Header{Name: "srv/s", Typeflag: tar.TypeReg, Mode: 0o4755, ModTime: mt},
		&tar.Header{Name: "srv/l", Typeflag: tar.TypeSymlink, Linkname: "../../etc/shadow", Mode: 0o777},
		&tar.Header{Name: "srv/p", Typeflag: tar.TypeFifo, Mode: 0o644},
		&tar.Header{Name: "srv/h", Typeflag: tar.TypeLink, Linkname: "srv/s"},
		&tar.Header{Name: "srv/x.log", Typeflag: tar.TypeReg},
		hdrDir("srv/cache"), hdrFile("srv/cache/c"),
		&tar.Header{Name: "pax_global_header", Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{"comment": "x"}},
	)
	client, f := startFake(t, gnuProbe(stream, "", 0))
	sink := newRecSink()
	err := Pull(t.Context(), client, sink, Options{Tar: gnuTar(), Paths: []string{"/srv"}, Exclude: []string{"*.log", "/srv/cache"}})
	require.NoError(t, err)
	require.Equal(t, []string{"srv", "srv/s", "srv/l"}, sink.names())
	require.Equal(t, connector.Entry{Name: "srv", Type: connector.TypeDir, Mode: 0o777 | fs.ModeSticky,
		ModTime: time.Unix(1600000000, 0), UID: 7, GID: 8}, sink.entries[0])
	require.Equal(t, "../../etc/shadow", sink.entries[2].LinkTarget, "kept, never followed")
	require.Equal(t, "srv/s", sink.bodies["srv/s"])
	require.Len(t, sink.warns, 2)
	require.Contains(t, sink.warns[0], "named pipe")
	require.Contains(t, sink.warns[1], "hard link")
	require.Contains(t, f.commands[len(f.commands)-1], `--exclude='*.log' --anchored --exclude='srv/cache' --no-anchored -C '/' -- 'srv'`)
}

// TestJudgeSeparatesShellNoise: tar's stderr lines are warnings on the
// path; other lines (a login shell's rc files) are warnings of the remote
// shell, not of the path.
func TestJudgeSeparatesShellNoise(t *testing.T) {
	t.Parallel()
	sink := &allWarns{}
	err := judge(nil, Tar{Flavour: GNU}, "/srv", []string{"tar: srv/f: file changed as we read it",
		"pyenv: cannot rehash: /root/.pyenv/shims isn't writable"}, sink)
	require.NoError(t, err)
	require.Equal(t, []string{"/srv: srv/f: file changed as we read it",
		ShellOutput + ": the remote shell wrote on stderr: pyenv: cannot rehash: /root/.pyenv/shims isn't writable"}, sink.got)
}

// allWarns is a recSink that keeps every warning, the shell's too.
type allWarns struct {
	recSink
	got []string
}

func (s *allWarns) Warn(p string, err error) { s.got = append(s.got, p+": "+err.Error()) }
