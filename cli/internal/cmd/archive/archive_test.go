package archive

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/cli/internal/cmdutil"
)

// hostileArtifact is a well-formed age(zstd(tar)) whose names pass the
// artifact reader's checks but try to escape through a symlink.
func hostileArtifact(t *testing.T, id *age.X25519Identity, dir string) string {
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "link", Linkname: dir}))
	require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "link/escaped", Size: 4, Mode: 0o644}))
	_, _ = tw.Write([]byte("evil"))
	require.NoError(t, tw.Close())
	var out bytes.Buffer
	aw, err := age.Encrypt(&out, id.Recipient())
	require.NoError(t, err)
	zw, err := zstd.NewWriter(aw)
	require.NoError(t, err)
	_, err = io.Copy(zw, &tb)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, aw.Close())
	p := filepath.Join(t.TempDir(), "backup.tar.zst.age")
	require.NoError(t, os.WriteFile(p, out.Bytes(), 0o600))
	return p
}

func TestExtractRefusesSymlinkEscape(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	keyFile := filepath.Join(t.TempDir(), "key.txt")
	require.NoError(t, os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600))
	victim := t.TempDir()
	artifact := hostileArtifact(t, id, victim)
	f := &cmdutil.Factory{IO: &cmdutil.IOStreams{Out: io.Discard, ErrOut: io.Discard}}
	err = extractRun(f, &extractOptions{Files: []string{artifact}, Identity: keyFile, To: filepath.Join(t.TempDir(), "out")})
	require.ErrorContains(t, err, "symlink")
	entries, err := os.ReadDir(victim)
	require.NoError(t, err)
	require.Empty(t, entries, "nothing was written through the symlink")
}
