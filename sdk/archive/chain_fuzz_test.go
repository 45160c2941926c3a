package archive

import (
	"bytes"
	"errors"
	"io"
	"path"
	"testing"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
)

// FuzzParseDumpdir: ParseDumpdir never panics, and what it accepts encodes
// back to a value that parses to the same children.
func FuzzParseDumpdir(f *testing.F) {
	for _, s := range []string{"\x00", "Ya\x00Yd\x00\x00", "Na\x00Dd\x00\x00", "Ra\x00\x00", "Y\x00\x00", "Ya\x00Ya\x00\x00",
		"Ya", "Ya\x00", "Y..\x00\x00", "Ya/b\x00\x00", "\x00\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		kids, err := ParseDumpdir(v)
		if err != nil {
			return
		}
		enc, err := EncodeDumpdir(kids)
		if err != nil {
			if errors.Is(err, ErrDumpdirTooLarge) {
				return
			}
			t.Fatalf("accepted %q but cannot encode it: %v", v, err)
		}
		again, err := ParseDumpdir(enc)
		if err != nil || len(again) != len(kids) {
			t.Fatalf("%q re-encoded as %q: %v, %d children instead of %d", v, enc, err, len(again), len(kids))
		}
		codes := map[string]byte{}
		for _, k := range kids {
			codes[k.Name] = k.Code
		}
		for _, k := range again {
			if codes[k.Name] != k.Code {
				t.Fatalf("%q re-encoded as %q changed child %q", v, enc, k.Name)
			}
		}
	})
}

// FuzzChainReader feeds arbitrary tar streams as the tip of a chain whose
// full is valid (the age layer is skipped: whoever holds the recipient
// controls the plaintext). The reader must never panic, and a clean end
// must come with a well-formed stream: valid names, no dumpdir record, no
// name twice, every directory before its children.
func FuzzChainReader(f *testing.F) {
	cb, _ := workedExample(f)
	for _, l := range cb.links[1:] {
		f.Add(plaintext(f, l.data))
	}
	f.Add([]byte{})
	full := cb.links[0]
	enc, _ := zstd.NewWriter(nil)
	id := identity(f)
	f.Fuzz(func(t *testing.T, tarBytes []byte) {
		links := []ChainArtifact{{SnapshotID: "snp_b", Open: func() (io.ReadCloser, error) { return nil, nil }},
			{SnapshotID: "snp_a", SHA256: full.sha, Open: func() (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(full.data)), nil
			}}}
		c, err := NewChainReader(links, id, ChainOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.open = func(i int) (*Reader, io.ReadCloser, error) {
			if i > 0 {
				return c.openArtifact(i)
			}
			rd, err := newPlainReader(nil, bytes.NewReader(enc.EncodeAll(tarBytes, nil)), nil)
			return rd, io.NopCloser(nil), err
		}
		defer func() { _ = c.Close() }()
		checkChainStream(t, c)
	})
}

func checkChainStream(t *testing.T, c *ChainReader) {
	seen, after := map[string]bool{}, map[string]bool{}
	for {
		hdr, err := c.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			return
		}
		if ValidName(hdr.Name) != nil || seen[hdr.Name] || after[hdr.Name] {
			t.Fatalf("bad or repeated name %q, or a directory after its children", hdr.Name)
		}
		if _, ok := hdr.PAXRecords[DumpdirKey]; ok {
			t.Fatalf("%s passed on with its dumpdir", hdr.Name)
		}
		for p := path.Dir(hdr.Name); p != "."; p = path.Dir(p) {
			if !seen[p] {
				after[p] = true
			}
		}
		seen[hdr.Name] = true
		if _, err := io.Copy(io.Discard, c); err != nil {
			return
		}
	}
}

// plaintext returns the tar stream inside an artifact.
func plaintext(t testing.TB, artifact []byte) []byte {
	r, err := age.Decrypt(bytes.NewReader(artifact), identity(t))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zstd.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
