package restore

import (
	"archive/tar"
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/zstd"
)

// zipWriter writes a portable ZIP: directories, regular files and symlinks
// (S_IFLNK in the external attributes, the target as content), with modes
// and mtimes. Other entry types have no portable ZIP form and are skipped.
type zipWriter struct{ zw *zip.Writer }

func newZipWriter(w io.Writer) *zipWriter {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, 5)
	})
	return &zipWriter{zw: zw}
}

func (z *zipWriter) add(hdr *tar.Header, body io.Reader) (string, error) {
	fh := &zip.FileHeader{Name: hdr.Name, Modified: hdr.ModTime.UTC(), Method: zip.Store}
	mode := hdr.FileInfo().Mode()
	var content io.Reader
	switch hdr.Typeflag {
	case tar.TypeDir:
		fh.Name += "/"
		fh.SetMode(fs.ModeDir | mode.Perm())
	case tar.TypeReg:
		fh.Method = zip.Deflate
		fh.SetMode(mode.Perm() | (mode & (fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)))
		content = body
	case tar.TypeSymlink:
		fh.SetMode(fs.ModeSymlink | 0o777)
		content = strings.NewReader(hdr.Linkname)
	case tar.TypeLink:
		return "hard links have no ZIP form (use tar.zst)", nil
	default:
		return fmt.Sprintf("tar type %q has no ZIP form (use tar.zst)", hdr.Typeflag), nil
	}
	w, err := z.zw.CreateHeader(fh)
	if err != nil {
		return "", err
	}
	if content == nil {
		return "", nil
	}
	n, err := io.Copy(w, content)
	if err != nil {
		return "", err
	}
	if hdr.Typeflag == tar.TypeReg && n != hdr.Size {
		return "", fmt.Errorf("wrote %d of %d bytes", n, hdr.Size)
	}
	return "", nil
}

func (z *zipWriter) close() error { return z.zw.Close() }

// tarZstWriter re-emits the entries as a PAX tar compressed with zstd: every
// entry type the snapshot holds, with its owner, mode and times.
//
// With repeatDirs (an assembled chain: the files an older artifact gives come
// after the tip's entries, so a directory's subtree is not contiguous) every
// directory is written once more at the end: GNU tar sets a directory's
// mtime when the stream leaves it, and the repeat sets it again once all of
// its content is in place.
type tarZstWriter struct {
	zw         *zstd.Encoder
	tw         *tar.Writer
	repeatDirs bool
	dirs       []tar.Header
}

func newTarZstWriter(w io.Writer) (*tarZstWriter, error) {
	zw, err := zstd.NewWriter(w, zstd.WithEncoderConcurrency(2), zstd.WithWindowSize(8<<20))
	if err != nil {
		return nil, fmt.Errorf("start zstd: %w", err)
	}
	return &tarZstWriter{zw: zw, tw: tar.NewWriter(zw)}, nil
}

func (t *tarZstWriter) add(hdr *tar.Header, body io.Reader) (string, error) {
	h := *hdr
	h.Format = tar.FormatPAX
	if h.Typeflag == tar.TypeDir {
		h.Name += "/"
		if t.repeatDirs {
			t.dirs = append(t.dirs, h)
		}
	}
	if err := t.tw.WriteHeader(&h); err != nil {
		return "", err
	}
	if h.Typeflag == tar.TypeReg {
		if _, err := io.Copy(t.tw, body); err != nil {
			return "", err
		}
	}
	return "", nil
}

func (t *tarZstWriter) close() error {
	for i := len(t.dirs) - 1; i >= 0; i-- {
		if err := t.tw.WriteHeader(&t.dirs[i]); err != nil {
			_ = t.zw.Close()
			return err
		}
	}
	if err := t.tw.Close(); err != nil {
		_ = t.zw.Close()
		return err
	}
	return t.zw.Close()
}
