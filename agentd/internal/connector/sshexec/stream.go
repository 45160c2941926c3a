package sshexec

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sshconn"
	"github.com/xvault/xvault/sdk/archive"
)

// rootStream reads the remote tar stream of one configured root and
// re-emits its entries into the sink.
type rootStream struct {
	root    string // the configured root, absolute and clean
	dir     string // tar's -C directory
	name    string // the member tar was asked for ("." for the root "/")
	exclude []string
	sink    connector.Sink
	stack   []dirMark // the directories above the current entry, for excludes
	sawRoot bool
}

// dirMark remembers whether a directory of the stream is excluded.
type dirMark struct {
	path     string
	excluded bool
}

func newRootStream(root string, exclude []string, sink connector.Sink) *rootStream {
	dir, name := splitRoot(root)
	return &rootStream{root: root, dir: dir, name: name, exclude: exclude, sink: sink}
}

// read consumes the stream until its end-of-archive marker.
func (s *rootStream) read(ctx context.Context, r io.Reader) error {
	tr := tar.NewReader(r)
	var last string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if last == "" {
				return fmt.Errorf("remote tar stream of %s: read the first entry: %w", s.root, err)
			}
			return fmt.Errorf("remote tar stream of %s: read the entry after %q: %w", s.root, last, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		last = hdr.Name
		if err := s.entry(hdr, tr); err != nil {
			return err
		}
	}
}

// entry checks one header and emits it, or skips it with a warning.
func (s *rootStream) entry(hdr *tar.Header, body io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil // pax global header (bsdtar): metadata for the archive, no entry
	}
	full, err := s.remotePath(hdr)
	if err != nil {
		return fmt.Errorf("remote tar stream of %s: %w", s.root, err)
	}
	if full == "/" { // the root "/" itself: SFTP does not archive it either
		s.sawRoot = true
		return nil
	}
	if full == s.root {
		s.sawRoot = true
	}
	if s.excluded(full, hdr.Typeflag == tar.TypeDir) {
		return nil
	}
	e, warn, err := entryOf(hdr, full)
	if err != nil {
		return fmt.Errorf("remote tar stream of %s: entry %q: %w", s.root, hdr.Name, err)
	}
	if warn != nil {
		s.sink.Warn(full, warn)
		return nil
	}
	if e.Type != connector.TypeFile {
		body = eof{}
	} else if e.Size > 0 {
		s.sink.Progress(full)
	}
	if err := s.sink.Put(e, body); err != nil {
		return fmt.Errorf("archive %s: %w", full, err)
	}
	return nil
}

// remotePath validates the name of an entry as the SFTP transfer validates
// names, checks that it lies inside the requested root, and returns the
// remote absolute path it stands for. The error quotes the name.
func (s *rootStream) remotePath(hdr *tar.Header) (string, error) {
	name := hdr.Name
	if hdr.Typeflag == tar.TypeDir {
		name = strings.TrimSuffix(name, "/")
	}
	if s.name == "." {
		if name == "." {
			if hdr.Typeflag != tar.TypeDir {
				return "", fmt.Errorf("entry %q: the root \"/\" must be a directory", hdr.Name)
			}
			return "/", nil
		}
		name = strings.TrimPrefix(name, "./")
	}
	if err := archive.ValidName(name); err != nil {
		return "", fmt.Errorf("entry %q: %w", hdr.Name, err)
	}
	if s.name != "." && name != s.name && !strings.HasPrefix(name, s.name+"/") {
		return "", fmt.Errorf("entry %q: outside the requested path %s", hdr.Name, s.root)
	}
	return path.Join(s.dir, name), nil
}

// excluded applies the exclude patterns as the SFTP walk does: an entry is
// excluded when it, or a directory between the root and it, matches.
func (s *rootStream) excluded(full string, isDir bool) bool {
	for n := len(s.stack); n > 0 && !inside(full, s.stack[n-1].path); n = len(s.stack) {
		s.stack = s.stack[:n-1]
	}
	var ex bool
	switch n := len(s.stack); {
	case n > 0 && s.stack[n-1].path == path.Dir(full):
		ex = s.stack[n-1].excluded
	case full != s.root:
		ex = s.ancestorExcluded(full) // entries out of walk order: check every ancestor
	}
	ex = ex || sshconn.Excluded(s.exclude, full)
	if isDir {
		s.stack = append(s.stack, dirMark{path: full, excluded: ex})
	}
	return ex
}

func (s *rootStream) ancestorExcluded(full string) bool {
	for d := path.Dir(full); d != "/" && inside(d, s.root); d = path.Dir(d) {
		if sshconn.Excluded(s.exclude, d) {
			return true
		}
	}
	return false
}

// inside reports whether p is dir or lies below it.
func inside(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// entryOf converts a tar header. Objects that are not archived (devices,
// fifos, hard links the server's tar did not resolve) yield a warning.
func entryOf(hdr *tar.Header, full string) (connector.Entry, error, error) {
	e := connector.Entry{
		Name:    strings.TrimPrefix(full, "/"),
		Mode:    sshconn.PermMode(uint32(hdr.Mode & 0o7777)),
		ModTime: time.Unix(hdr.ModTime.Unix(), 0), // whole seconds, as SFTP v3 carries them
		UID:     hdr.Uid,
		GID:     hdr.Gid,
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		e.Type = connector.TypeDir
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		e.Type, e.Size = connector.TypeFile, hdr.Size
	case tar.TypeSymlink:
		if hdr.Linkname == "" || strings.IndexByte(hdr.Linkname, 0) >= 0 {
			return e, nil, fmt.Errorf("invalid symlink target %q", hdr.Linkname)
		}
		e.Type, e.LinkTarget = connector.TypeSymlink, hdr.Linkname
	case tar.TypeLink:
		return e, fmt.Errorf("skipped: hard link to %q (this server's tar cannot archive hard links as files; use transfer sftp to keep them)", hdr.Linkname), nil
	case tar.TypeChar:
		return e, errors.New("skipped: character device"), nil
	case tar.TypeBlock:
		return e, errors.New("skipped: block device"), nil
	case tar.TypeFifo:
		return e, errors.New("skipped: named pipe"), nil
	default:
		return e, nil, fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	return e, nil, nil
}

// eof is the body of directories and symlinks.
type eof struct{}

func (eof) Read([]byte) (int, error) { return 0, io.EOF }
