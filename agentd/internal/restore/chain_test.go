package restore

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

type built struct {
	data []byte
	sum  string
}

// chainArtifacts makes a full snp_a (w/a, w/b, w/d/k) and an incremental
// snp_b on top of it (a and d/k unchanged, b deleted, d/y new).
func chainArtifacts(t *testing.T, id *age.X25519Identity) (full, incr built) {
	t.Helper()
	write := func(d archive.Descriptor, hdrs []tar.Header, bodies []string) built {
		var buf bytes.Buffer
		w, err := archive.NewWriter(&buf, id.Recipient(), archive.Options{})
		require.NoError(t, err)
		desc, err := json.Marshal(d)
		require.NoError(t, err)
		require.NoError(t, w.Add(&tar.Header{Typeflag: tar.TypeReg, Name: archive.DescriptorName, Mode: 0o644,
			Size: int64(len(desc)), ModTime: mtime}, bytes.NewReader(desc)))
		for i, h := range hdrs {
			h.ModTime = mtime
			h.Size = int64(len(bodies[i]))
			require.NoError(t, w.Add(&h, strings.NewReader(bodies[i])))
		}
		res, err := w.Close()
		require.NoError(t, err)
		return built{data: buf.Bytes(), sum: res.SHA256}
	}
	dir := func(name string, kids ...archive.DumpdirChild) tar.Header {
		h := tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: 0o750}
		if kids != nil {
			dd, err := archive.EncodeDumpdir(kids)
			require.NoError(t, err)
			h.PAXRecords = map[string]string{archive.DumpdirKey: dd}
		}
		return h
	}
	file := func(name string) tar.Header { return tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644} }
	full = write(archive.Descriptor{LayoutVersion: archive.LayoutVersion, SnapshotID: "snp_a", Kind: "full"},
		[]tar.Header{dir("files/w"), file("files/w/a"), file("files/w/b"), dir("files/w/d"), file("files/w/d/k")},
		[]string{"", "a from the full", "b", "", "k from the full"})
	n := func(name string) archive.DumpdirChild {
		return archive.DumpdirChild{Name: name, Code: archive.DumpdirUnchanged}
	}
	incr = write(archive.Descriptor{LayoutVersion: archive.LayoutIncremental, SnapshotID: "snp_b", Kind: "incremental",
		Incremental: &archive.Incremental{ParentSnapshotID: "snp_a", FullSnapshotID: "snp_a", ChainPosition: 1, Listing: "sftp"}},
		[]tar.Header{dir("files/w", n("a"), archive.DumpdirChild{Name: "d", Code: archive.DumpdirDir}),
			dir("files/w/d", n("k"), archive.DumpdirChild{Name: "y", Code: archive.DumpdirStored}), file("files/w/d/y")},
		[]string{"", "", "y is new"})
	return full, incr
}

func TestIncrementalAloneIsRefused(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	_, incr := chainArtifacts(t, id)
	_, _, err = run(t, incr.data, incr.sum, id, Options{Format: sdk.RestoreTarZst})
	require.ErrorIs(t, err, ErrArtifact)
	require.ErrorContains(t, err, "snapshot snp_b is incremental: restore its chain")
	var ie *archive.IncrementalError
	require.ErrorAs(t, err, &ie)
	require.Equal(t, "snp_a", ie.ParentSnapshotID)
}

func TestChainRestore(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	full, incr := chainArtifacts(t, id)
	open := func(b built) func() (io.ReadCloser, error) {
		return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.data)), nil }
	}
	cr, err := archive.NewChainReader([]archive.ChainArtifact{
		{SnapshotID: "snp_b", SHA256: incr.sum, Open: open(incr)},
		{SnapshotID: "snp_a", SHA256: full.sum, Open: open(full)},
	}, id, archive.ChainOptions{})
	require.NoError(t, err)
	defer func() { _ = cr.Close() }()
	var out bytes.Buffer
	st, err := Write(cr, &out, Options{Format: sdk.RestoreTarZst})
	require.NoError(t, err)
	require.EqualValues(t, 4, st.Files, "descriptor, d/y, a and d/k")
	raw := bytes.Clone(out.Bytes())

	zr, err := zstd.NewReader(&out)
	require.NoError(t, err)
	defer zr.Close()
	tr := tar.NewReader(zr)
	got := map[string]string{}
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		require.NotContains(t, h.PAXRecords, archive.DumpdirKey)
		body, err := io.ReadAll(tr)
		require.NoError(t, err)
		names = append(names, h.Name)
		got[h.Name] = string(body)
	}
	require.Equal(t, []string{archive.DescriptorName, "files/w/", "files/w/d/", "files/w/d/y", "files/w/a", "files/w/d/k",
		"files/w/d/", "files/w/"}, names, "directories repeated at the end")
	require.Equal(t, "a from the full", got["files/w/a"])
	require.Equal(t, "k from the full", got["files/w/d/k"])
	require.Contains(t, got[archive.DescriptorName], `"layout_version":2`)
	require.Contains(t, got[archive.DescriptorName], `"assembled_from":["snp_b","snp_a"]`)
	requireGNUTarMtimes(t, raw)
}

// requireGNUTarMtimes extracts a tar.zst download with GNU tar: every
// directory must keep its mtime although files of an older link were
// written into it after the stream left it.
func requireGNUTarMtimes(t *testing.T, download []byte) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("install GNU tar")
	}
	dir := t.TempDir()
	cmd := exec.Command("tar", "-x", "--zstd", "-f", "-", "-C", dir)
	cmd.Stdin = bytes.NewReader(download)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	for _, d := range []string{"files/w", "files/w/d"} {
		fi, err := os.Stat(filepath.Join(dir, d))
		require.NoError(t, err)
		require.True(t, fi.ModTime().Equal(mtime), "%s: mtime %v, want %v", d, fi.ModTime(), mtime)
		require.Equal(t, "drwxr-x---", fi.Mode().String(), d)
	}
}
