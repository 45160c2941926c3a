package sshexec

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk/archive"
)

// checkEmitted: whatever the stream, every entry that reaches the sink has a
// valid name inside the root, and symlink targets carry no NUL.
func checkEmitted(t *testing.T, sink *recSink, root string) {
	rel := strings.TrimPrefix(root, "/")
	for _, e := range sink.entries {
		require.NoError(t, archive.ValidName(e.Name))
		if rel != "" {
			require.True(t, e.Name == rel || strings.HasPrefix(e.Name, rel+"/"), e.Name)
		}
		require.NotContains(t, e.LinkTarget, "\x00")
	}
}

func FuzzRemotePath(f *testing.F) {
	for _, s := range []string{"srv/a", "../x", "/etc/passwd", "srv/../..", "./srv", "srv//a", "srv/a\x00b", ".", "./", "srv"} {
		f.Add(s, byte(tar.TypeReg), true)
	}
	f.Fuzz(func(t *testing.T, name string, typ byte, slashRoot bool) {
		root := "/srv"
		if slashRoot {
			root = "/"
		}
		s := newRootStream(root, nil, newRecSink())
		full, err := s.remotePath(&tar.Header{Name: name, Typeflag: typ})
		if err != nil {
			require.ErrorContains(t, err, "entry ")
			return
		}
		require.True(t, inside(full, root), full)
		if full != "/" {
			require.NoError(t, archive.ValidName(strings.TrimPrefix(full, "/")))
		}
	})
}

func FuzzStream(f *testing.F) {
	f.Add(tarOf(hdrDir("srv"), hdrFile("srv/a"), hdrFile("../x")))
	f.Add(paxWithPath("srv/a\x00b"))
	f.Add(tarOf(hdrDir("srv"), &tar.Header{Name: "srv/l", Typeflag: tar.TypeSymlink, Linkname: "/etc"}))
	f.Fuzz(func(t *testing.T, stream []byte) {
		sink := newRecSink()
		_ = newRootStream("/srv", []string{"*.log"}, sink).read(t.Context(), bytes.NewReader(stream))
		checkEmitted(t, sink, "/srv")
	})
}
