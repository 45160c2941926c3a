// Package extract writes archive entries into a directory without ever
// writing outside it: every name must be relative and clean, no entry is
// written through a symlink (each parent is checked with Lstat to be a real
// directory, and all access goes through an os.Root), files are created
// with O_EXCL, and a duplicate name replaces the earlier file or symlink.
// It serves `xv archive extract` (the artifact itself) and
// `xv snapshot restore --extract-to` (a downloaded zip or tar.zst).
package extract

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/xvault/xvault/sdk/archive"
)

// Source yields entries like tar.Reader: Next, then Read the body.
type Source interface {
	Next() (*tar.Header, error)
	Read(p []byte) (int, error)
}

// Options tunes Extract.
type Options struct {
	// Paths restricts extraction to these entry names and what lies below
	// them; empty extracts everything.
	Paths []string
	// Warn receives entries that were skipped; may be nil.
	Warn func(name, why string)
}

// Stats counts what was written.
type Stats struct {
	Entries, Files, Bytes int64
}

// ErrUnsafe wraps the error about an entry that would land outside the
// directory or go through a symlink.
var ErrUnsafe = errors.New("unsafe archive entry")

type extractor struct {
	root  *os.Root
	opts  Options
	st    Stats
	dirs  map[string]*tar.Header // directory metadata, applied last
	order []string
}

// Extract writes every selected entry of src into dir (created if needed).
// It returns the first error; entries written before it stay in dir. A
// single artifact of an incremental snapshot is refused before anything is
// written (an *archive.IncrementalError): its chain must be assembled
// (archive.ChainReader).
func Extract(src Source, dir string, opts Options) (Stats, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Stats{}, fmt.Errorf("make %s: %w", dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return Stats{}, fmt.Errorf("open %s: %w", dir, err)
	}
	defer func() { _ = root.Close() }()
	x := &extractor{root: root, opts: opts, dirs: map[string]*tar.Header{}}
	src = archive.RefuseIncremental(src)
	for {
		hdr, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return x.st, fmt.Errorf("read archive: %w", err)
		}
		if err := x.entry(hdr, src); err != nil {
			return x.st, err
		}
	}
	return x.st, x.finishDirs()
}

func (x *extractor) selected(name string) bool {
	return archive.Selected(x.opts.Paths, name)
}

func (x *extractor) warn(name, why string) {
	if x.opts.Warn != nil {
		x.opts.Warn(name, why)
	}
}

// entry writes one entry.
func (x *extractor) entry(hdr *tar.Header, body io.Reader) error {
	name := strings.TrimSuffix(hdr.Name, "/")
	if err := archive.ValidName(name); err != nil || !filepath.IsLocal(filepath.FromSlash(name)) {
		return fmt.Errorf("%w: %q is not a relative, clean path", ErrUnsafe, hdr.Name)
	}
	if !x.selected(name) {
		return nil
	}
	if err := x.checkParents(name); err != nil {
		return err
	}
	var err error
	switch hdr.Typeflag {
	case tar.TypeDir:
		err = x.dir(name, hdr)
	case tar.TypeReg:
		err = x.file(name, hdr, body)
	case tar.TypeSymlink:
		err = x.symlink(name, hdr)
	case tar.TypeLink:
		err = x.hardlink(name, hdr)
	default:
		x.warn(name, fmt.Sprintf("tar type %q not extracted", hdr.Typeflag))
		return nil
	}
	if err != nil {
		return err
	}
	x.st.Entries++
	return nil
}

// checkParents makes the parent directories of name, refusing any existing
// parent that is not a real directory (a symlink above all).
func (x *extractor) checkParents(name string) error {
	elems := strings.Split(name, "/")
	for i := 1; i < len(elems); i++ {
		p := strings.Join(elems[:i], "/")
		fi, err := x.root.Lstat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if err := x.root.Mkdir(p, 0o755); err != nil {
				return fmt.Errorf("make directory %s: %w", p, err)
			}
		case err != nil:
			return fmt.Errorf("check %s: %w", p, err)
		case fi.Mode()&fs.ModeSymlink != 0:
			return fmt.Errorf("%w: %q would be written through the symlink %q", ErrUnsafe, name, p)
		case !fi.IsDir():
			return fmt.Errorf("%w: %q would be written below the non-directory %q", ErrUnsafe, name, p)
		}
	}
	return nil
}

// clear removes an earlier file or symlink of the same name (a duplicate
// entry: the later one wins). An existing directory is kept when keepDir.
func (x *extractor) clear(name string, keepDir bool) (exists bool, err error) {
	fi, err := x.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if fi.IsDir() {
		if keepDir {
			return true, nil
		}
		return false, fmt.Errorf("%w: %q replaces a directory", ErrUnsafe, name)
	}
	x.warn(name, "duplicate entry: replaces the earlier one")
	return false, x.root.Remove(name)
}

func (x *extractor) dir(name string, hdr *tar.Header) error {
	exists, err := x.clear(name, true)
	if err != nil {
		return err
	}
	if !exists {
		if err := x.root.Mkdir(name, 0o700); err != nil {
			return fmt.Errorf("make directory %s: %w", name, err)
		}
	}
	if _, seen := x.dirs[name]; !seen {
		x.order = append(x.order, name)
	}
	x.dirs[name] = hdr
	return nil
}

func (x *extractor) file(name string, hdr *tar.Header, body io.Reader) error {
	if _, err := x.clear(name, false); err != nil {
		return err
	}
	f, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	n, err := io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if n != hdr.Size {
		return fmt.Errorf("write %s: got %d of %d bytes", name, n, hdr.Size)
	}
	x.st.Files++
	x.st.Bytes += n
	// The file was just created by us (O_EXCL), so these do not follow a link.
	if err := x.root.Chmod(name, fs.FileMode(hdr.Mode).Perm()); err != nil {
		return fmt.Errorf("chmod %s: %w", name, err)
	}
	return x.root.Chtimes(name, time.Now(), hdr.ModTime)
}

func (x *extractor) symlink(name string, hdr *tar.Header) error {
	if _, err := x.clear(name, false); err != nil {
		return err
	}
	if err := x.root.Symlink(hdr.Linkname, name); err != nil {
		return fmt.Errorf("symlink %s: %w", name, err)
	}
	return nil
}

func (x *extractor) hardlink(name string, hdr *tar.Header) error {
	target := hdr.Linkname
	if archive.ValidName(target) != nil || !x.selected(target) {
		x.warn(name, "hard link to an entry not extracted")
		return nil
	}
	if err := x.checkParents(target); err != nil {
		return err
	}
	fi, err := x.root.Lstat(target)
	if err != nil || !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: hard link %q to %q, which is not a regular file extracted before", ErrUnsafe, name, target)
	}
	if _, err := x.clear(name, false); err != nil {
		return err
	}
	return x.root.Link(target, name)
}

// finishDirs applies directory modes and mtimes, deepest first, after their
// contents were written. Each is checked to still be a real directory.
func (x *extractor) finishDirs() error {
	slices.SortFunc(x.order, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, name := range x.order {
		hdr := x.dirs[name]
		fi, err := x.root.Lstat(name)
		if err != nil || !fi.IsDir() {
			continue
		}
		if err := x.root.Chmod(name, fs.FileMode(hdr.Mode).Perm()); err != nil {
			return fmt.Errorf("chmod %s: %w", name, err)
		}
		if err := x.root.Chtimes(name, time.Now(), hdr.ModTime); err != nil {
			return fmt.Errorf("set times of %s: %w", name, err)
		}
	}
	return nil
}
