package archive

import (
	"archive/tar"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func textBytes(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		b.WriteString("the quick brown fox jumps over the lazy dog ")
		b.WriteString(strings.Repeat("x", i%7))
	}
	return b.Bytes()[:n]
}

func fileEntry(name string, body []byte) entry {
	return entry{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(1700000000, 0)}, body: body}
}

// TestIncompressibleStoredRaw: sections that do not compress are stored in
// raw blocks, the others compressed; the artifact reads back the same.
func TestIncompressibleStoredRaw(t *testing.T) {
	t.Parallel()
	random := randomBytes(7, 9<<20)
	text := textBytes(9 << 20)
	mixed := append(append([]byte(nil), text[:detectSection]...), random[:detectSection]...)
	for _, tc := range []struct {
		name          string
		body          []byte
		minRaw, maxRw int64
	}{
		{"random", random, int64(len(random)), int64(len(random)) + 1024},
		{"text", text, 0, 0},
		{"mixed", mixed, detectSection, detectSection + 1024},
		{"small random", random[:detectMinFile-1], 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			w, err := NewWriter(&buf, identity(t).Recipient(), Options{})
			require.NoError(t, err)
			e := fileEntry("f", tc.body)
			require.NoError(t, w.Add(&e.hdr, bytes.NewReader(tc.body)))
			raw := w.RawBytes()
			res, err := w.Close()
			require.NoError(t, err)
			require.GreaterOrEqual(t, raw, tc.minRaw)
			require.LessOrEqual(t, raw, tc.maxRw)
			got, _, err := readAll(bytes.NewReader(buf.Bytes()), identity(t), res.SHA256)
			require.NoError(t, err)
			requireSameEntries(t, []entry{e}, got)
		})
	}
}

// TestOptionsRoundTrip: stored, concurrent-block and compress-all artifacts
// read back the same, with the reader and with the standard tools.
func TestOptionsRoundTrip(t *testing.T) {
	t.Parallel()
	want := append(sampleEntries(), fileEntry("text.txt", textBytes(3<<20)))
	for name, opts := range map[string]Options{
		"none": {NoCompression: true}, "serial": {SerialBlocks: true}, "all": {CompressAll: true},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			artifact, res := writeArtifact(t, want, opts)
			got, _, err := readAll(bytes.NewReader(artifact), identity(t), res.SHA256)
			require.NoError(t, err)
			requireSameEntries(t, want, got)
			if name == "none" {
				require.Greater(t, res.StoredBytes, res.TarBytes)
			}
			if _, err := exec.LookPath("zstd"); err != nil {
				return
			}
			requireTools(t, "age", "zstd", "tar")
			dir := t.TempDir()
			path := filepath.Join(dir, ArtifactName)
			require.NoError(t, os.WriteFile(path, artifact, 0o600))
			out := pipeline(t, nil, exec.Command("age", "-d", "-i", writeKey(t, dir), path),
				exec.Command("zstd", "-d", "-c"), exec.Command("tar", "-t", "-f", "-"))
			require.Contains(t, string(out), "text.txt")
		})
	}
}

func TestParseCompression(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]string{"": "default", "default": "default", "fastest": "fastest", "better": "better", "none": "none"} {
		o, err := ParseCompression(name)
		require.NoError(t, err)
		require.Equal(t, want, o.LevelName())
	}
	_, err := ParseCompression("max")
	require.ErrorContains(t, err, "fastest, default, better or none")
}
