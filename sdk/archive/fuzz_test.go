package archive

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// FuzzReader feeds arbitrary bytes to the reader. With sealed=false they are
// the artifact itself (the age layer); with sealed=true they are the age
// plaintext (zstd, then tar), which is what someone holding only the public
// recipient controls. The reader must never panic or hang, and must never
// report a clean end for bytes that are not exactly a valid artifact.
func FuzzReader(f *testing.F) {
	small := []entry{
		{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "d", Mode: 0o755}},
		{hdr: tar.Header{Typeflag: tar.TypeReg, Name: "d/f", Mode: 0o644, Size: 5}, body: []byte("hello")},
		{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: "d/l", Linkname: "f"}},
	}
	artifact, _ := writeArtifact(f, small, Options{})
	f.Add(artifact, false)
	f.Add(artifact[:len(artifact)/2], false)
	f.Add([]byte("age-encryption.org/v1\n"), false)
	enc, _ := zstd.NewWriter(nil)
	f.Add(enc.EncodeAll(rawTar(f, []tar.Header{{Typeflag: tar.TypeReg, Name: "f", Size: 3}}, true), nil), true)
	f.Add(enc.EncodeAll(rawTar(f, []tar.Header{{Typeflag: tar.TypeReg, Name: "../f", Size: 3}}, true), nil), true)
	f.Add(enc.EncodeAll(nil, nil), true)
	f.Add([]byte{}, true)

	id := identity(f)
	f.Fuzz(func(t *testing.T, data []byte, sealed bool) {
		var r *Reader
		var err error
		if sealed {
			r, err = newPlainReader(nil, bytes.NewReader(data), nil)
		} else {
			sum := sha256.Sum256(artifact)
			r, err = NewReader(bytes.NewReader(data), id, ReadOptions{ExpectedSHA256: hex.EncodeToString(sum[:])})
		}
		if err != nil {
			return
		}
		defer func() { _ = r.Close() }()
		for {
			hdr, err := r.Next()
			if errors.Is(err, io.EOF) {
				if !sealed && !bytes.Equal(data, artifact) {
					t.Fatalf("clean end for %d bytes that are not the artifact", len(data))
				}
				return
			}
			if err != nil {
				return
			}
			if ValidName(hdr.Name) != nil {
				t.Fatalf("reader returned invalid name %q", hdr.Name)
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				return
			}
		}
	})
}
