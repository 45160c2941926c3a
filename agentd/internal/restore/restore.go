// Package restore turns a snapshot's artifact into a download: it reads the
// artifact through sdk/archive's checking reader (or an incremental's chain
// through its ChainReader) and re-emits the selected
// entries as a ZIP or a tar.zst, streaming, in one pass. It succeeds only
// when the reader reported a clean end, i.e. age, zstd and tar all ended
// where they should and the artifact's sha256 matched; the caller publishes
// the output only then.
package restore

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

var (
	// ErrArtifact wraps every failure of the artifact itself: checksum
	// mismatch, truncation, tampering, hostile entries. Retrying cannot help.
	ErrArtifact = errors.New("artifact check failed")
	// ErrTooLarge: the selected entries exceed Options.MaxBytes.
	ErrTooLarge = errors.New("restore larger than the download limit")
)

// Options selects and shapes the output.
type Options struct {
	Format sdk.RestoreFormat
	// Paths are entry names ("var/www"); an entry is selected when it is one
	// of them or lies below one. Empty selects everything.
	Paths []string
	// MaxBytes caps the selected file contents and the output size; 0 = none.
	MaxBytes int64
	// OnFile is called after each regular file written (progress); may be nil.
	OnFile func(name string, size int64)
	// Chain says the source is an assembled chain (set automatically when it
	// is an *archive.ChainReader; set it when wrapping one): a tar.zst then
	// repeats every directory at its end, see tarZstWriter.
	Chain bool
}

// Stats describes what was written.
type Stats struct {
	Entries    int64 // entries written
	Files      int64 // regular files written
	PlainBytes int64 // their contents
	Skipped    []string
	Artifact   archive.Result // a single artifact's; zero for a chain (see ChainReader.Results)
}

// entryWriter is one output format.
type entryWriter interface {
	add(hdr *tar.Header, body io.Reader) (skip string, err error)
	close() error
}

// Write streams the entries of r that opts selects into w. r is one
// artifact (*archive.Reader) or an assembled chain (*archive.ChainReader).
// A single artifact of an incremental snapshot (layout_version 3) is refused
// with an error wrapping ErrArtifact and an *archive.IncrementalError
// ("snapshot … is incremental: restore its chain"). Write returns nil only
// after r's clean end; on error the output is garbage and must be thrown
// away.
func Write(r archive.Source, w io.Writer, opts Options) (Stats, error) {
	var st Stats
	cw := &capWriter{w: w, max: opts.MaxBytes}
	var ew entryWriter
	switch opts.Format {
	case sdk.RestoreZip, "":
		ew = newZipWriter(cw)
	case sdk.RestoreTarZst:
		tw, err := newTarZstWriter(cw)
		if err != nil {
			return st, err
		}
		_, isChain := r.(*archive.ChainReader)
		tw.repeatDirs = isChain || opts.Chain
		ew = tw
	default:
		return st, fmt.Errorf("restore format %q: want zip or tar.zst", opts.Format)
	}
	sel := selector{paths: opts.Paths}
	r = archive.RefuseIncremental(r)
	if err := copyEntries(r, ew, sel, opts, &st); err != nil {
		_ = ew.close()
		return st, err
	}
	if err := ew.close(); err != nil {
		return st, fmt.Errorf("finish %s: %w", opts.Format, err)
	}
	if res, ok := r.(interface{ Result() archive.Result }); ok {
		st.Artifact = res.Result()
	}
	return st, nil
}

func copyEntries(r archive.Source, ew entryWriter, sel selector, opts Options, st *Stats) error {
	for {
		hdr, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrArtifact, err)
		}
		if !filepath.IsLocal(filepath.FromSlash(hdr.Name)) {
			return fmt.Errorf("%w: entry %q is not a local path", ErrArtifact, hdr.Name)
		}
		if !sel.match(hdr.Name) {
			continue
		}
		if hdr.Typeflag == tar.TypeReg {
			if opts.MaxBytes > 0 && st.PlainBytes+hdr.Size > opts.MaxBytes {
				return fmt.Errorf("%w: the selected files exceed %d bytes (at %q); "+
					"hint: restore a subset with paths, or raise the setting max_download_size_mb", ErrTooLarge, opts.MaxBytes, hdr.Name)
			}
		}
		if hdr.Typeflag == tar.TypeLink && !sel.match(hdr.Linkname) {
			st.Skipped = append(st.Skipped, hdr.Name+": hard link to an entry outside the selected paths")
			continue
		}
		body := &bodyReader{r: r}
		skip, err := ew.add(hdr, body)
		if err != nil {
			if body.err != nil {
				return fmt.Errorf("%w: %w", ErrArtifact, body.err)
			}
			return fmt.Errorf("write %q: %w", hdr.Name, err)
		}
		if skip != "" {
			st.Skipped = append(st.Skipped, hdr.Name+": "+skip)
			continue
		}
		st.Entries++
		if hdr.Typeflag == tar.TypeReg {
			st.Files++
			st.PlainBytes += hdr.Size
			if opts.OnFile != nil {
				opts.OnFile(hdr.Name, hdr.Size)
			}
		}
	}
}

// selector matches entry names against the requested paths.
type selector struct{ paths []string }

func (s selector) match(name string) bool {
	return archive.Selected(s.paths, name)
}

// bodyReader remembers a read error of the artifact, so that it is
// reported as an artifact failure and not as an output failure.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.err = err
	}
	return n, err
}

// capWriter fails once more than max bytes were written (max 0: no cap).
type capWriter struct {
	w      io.Writer
	max, n int64
}

func (c *capWriter) Write(p []byte) (int, error) {
	if c.max > 0 && c.n+int64(len(p)) > c.max {
		return 0, fmt.Errorf("%w: output exceeds %d bytes; hint: restore a subset with paths, or raise the setting max_download_size_mb",
			ErrTooLarge, c.max)
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
