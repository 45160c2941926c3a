package archive

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	sdkarchive "github.com/xvault/xvault/sdk/archive"
)

// chainFiles writes a full snp_a (w/a, w/b) and incrementals snp_b (b
// deleted, c new) and snp_c (d new) into dir; it returns their paths and
// sha256s by id.
func chainFiles(t *testing.T, id *age.X25519Identity, dir string) (map[string]string, map[string]string) {
	t.Helper()
	mt := time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)
	paths, sums := map[string]string{}, map[string]string{}
	write := func(d sdkarchive.Descriptor, dumpdir string, files map[string]string) {
		var buf bytes.Buffer
		w, err := sdkarchive.NewWriter(&buf, id.Recipient(), sdkarchive.Options{})
		require.NoError(t, err)
		desc, err := json.Marshal(d)
		require.NoError(t, err)
		add := func(h tar.Header, body string) {
			h.ModTime, h.Size = mt, int64(len(body))
			require.NoError(t, w.Add(&h, strings.NewReader(body)))
		}
		add(tar.Header{Typeflag: tar.TypeReg, Name: sdkarchive.DescriptorName, Mode: 0o644}, string(desc))
		dirHdr := tar.Header{Typeflag: tar.TypeDir, Name: "files/w", Mode: 0o755}
		if dumpdir != "" {
			dirHdr.PAXRecords = map[string]string{sdkarchive.DumpdirKey: dumpdir}
		}
		add(dirHdr, "")
		for _, name := range []string{"a", "b", "c", "d"} {
			if body, ok := files[name]; ok {
				add(tar.Header{Typeflag: tar.TypeReg, Name: "files/w/" + name, Mode: 0o644}, body)
			}
		}
		res, err := w.Close()
		require.NoError(t, err)
		p := filepath.Join(dir, d.SnapshotID+".tar.zst.age")
		require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o600))
		paths[d.SnapshotID], sums[d.SnapshotID] = p, res.SHA256
	}
	incr := func(id, parent string, pos int) sdkarchive.Descriptor {
		return sdkarchive.Descriptor{LayoutVersion: sdkarchive.LayoutIncremental, SnapshotID: id, Kind: "incremental",
			Incremental: &sdkarchive.Incremental{ParentSnapshotID: parent, FullSnapshotID: "snp_a", ChainPosition: pos, Listing: "sftp"}}
	}
	write(sdkarchive.Descriptor{LayoutVersion: sdkarchive.LayoutVersion, SnapshotID: "snp_a", Kind: "full"}, "",
		map[string]string{"a": "a from snp_a", "b": "b"})
	write(incr("snp_b", "snp_a", 1), "Na\x00Yc\x00\x00", map[string]string{"c": "c from snp_b"})
	write(incr("snp_c", "snp_b", 2), "Na\x00Nc\x00Yd\x00\x00", map[string]string{"d": "d from snp_c"})
	return paths, sums
}

func TestExtractChain(t *testing.T) {
	id, err := age.GenerateX25519Identity()
	require.NoError(t, err)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.txt")
	require.NoError(t, os.WriteFile(keyFile, []byte(id.String()+"\n"), 0o600))
	paths, sums := chainFiles(t, id, dir)
	f := &cmdutil.Factory{IO: &cmdutil.IOStreams{Out: io.Discard, ErrOut: io.Discard}}
	run := func(sha bool, ids ...string) (string, error) {
		opts := &extractOptions{Identity: keyFile, To: filepath.Join(t.TempDir(), "out")}
		for _, id := range ids {
			opts.Files = append(opts.Files, paths[id])
			if sha {
				opts.SHA256s = append(opts.SHA256s, sums[id])
			}
		}
		return opts.To, extractRun(f, opts)
	}

	out, err := run(true, "snp_a", "snp_c", "snp_b") // any order
	require.NoError(t, err)
	got := map[string]string{}
	entries, err := os.ReadDir(filepath.Join(out, "files", "w"))
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(out, "files", "w", e.Name()))
		require.NoError(t, err)
		got[e.Name()] = string(b)
	}
	require.Equal(t, map[string]string{"a": "a from snp_a", "c": "c from snp_b", "d": "d from snp_c"}, got)
	desc, err := os.ReadFile(filepath.Join(out, sdkarchive.DescriptorName))
	require.NoError(t, err)
	require.Contains(t, string(desc), `"assembled_from":["snp_c","snp_b","snp_a"]`)

	_, err = run(false, "snp_c", "snp_a")
	require.EqualError(t, err, "chain incomplete: snp_c names parent snp_b, which was not given")
	require.Equal(t, "pass every artifact of the chain; xv snapshot show snp_c lists them", cmdutil.Hint(err))

	_, err = run(false, "snp_c")
	require.ErrorContains(t, err, "snapshot snp_c is incremental: restore its chain")
	require.Contains(t, cmdutil.Hint(err), "snp_c names parent snp_b")

	out, err = run(true, "snp_a") // a full alone works as before
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(out, "files", "w", "b"))
	require.NoError(t, err)

	_, err = run(false, "snp_b", "snp_b")
	require.ErrorContains(t, err, "are both snapshot snp_b")
	_, err = run(false, "snp_b", "snp_a", "snp_c", "snp_c")
	require.ErrorContains(t, err, "are both snapshot snp_c")

	opts := &extractOptions{Identity: keyFile, To: t.TempDir(), Files: []string{paths["snp_c"], paths["snp_b"], paths["snp_a"]},
		SHA256s: []string{sums["snp_c"], sums["snp_a"], sums["snp_a"]}}
	require.ErrorIs(t, extractRun(f, opts), sdkarchive.ErrChecksum)
}
