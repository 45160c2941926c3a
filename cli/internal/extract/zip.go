package extract

import (
	"archive/tar"
	"archive/zip"
	"fmt"
	"io"
	"io/fs"
)

// ZipSource yields the entries of a ZIP as tar headers, in file order.
// Symlink entries (S_IFLNK in the external attributes) become symlinks with
// their content as target.
type ZipSource struct {
	files []*zip.File
	i     int
	cur   io.ReadCloser
}

// NewZipSource reads the ZIP's central directory.
func NewZipSource(r io.ReaderAt, size int64) (*ZipSource, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("open zip: %w", err)
	}
	return &ZipSource{files: zr.File}, nil
}

func (z *ZipSource) Next() (*tar.Header, error) {
	if z.cur != nil {
		_ = z.cur.Close()
		z.cur = nil
	}
	if z.i >= len(z.files) {
		return nil, io.EOF
	}
	f := z.files[z.i]
	z.i++
	mode := f.Mode()
	hdr := &tar.Header{Name: f.Name, ModTime: f.Modified, Mode: int64(mode.Perm())}
	switch {
	case mode.IsDir():
		hdr.Typeflag = tar.TypeDir
		return hdr, nil
	case mode&fs.ModeSymlink != 0:
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("zip entry %q: %w", f.Name, err)
		}
		target, err := io.ReadAll(io.LimitReader(rc, 4096))
		_ = rc.Close()
		if err != nil {
			return nil, fmt.Errorf("zip entry %q: %w", f.Name, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(target)
		return hdr, nil
	case !mode.IsRegular():
		hdr.Typeflag = tar.TypeFifo // anything else is skipped by Extract
		return hdr, nil
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("zip entry %q: %w", f.Name, err)
	}
	hdr.Typeflag, hdr.Size, z.cur = tar.TypeReg, int64(f.UncompressedSize64), rc
	return hdr, nil
}

func (z *ZipSource) Read(p []byte) (int, error) {
	if z.cur == nil {
		return 0, io.EOF
	}
	return z.cur.Read(p)
}
