package ftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"path"
	"strings"
	"time"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sshconn"
)

// walker lists the remote tree in archive order and emits every entry.
type walker struct {
	s       *session
	sink    connector.Sink
	exclude []string
	parents map[string]bool // parent directories of roots already emitted
	// cache is the last directory listed to look a root or parent up in
	// (roots are sorted, so siblings share it).
	cache struct {
		dir string
		l   *listing
	}
	dots bool // the server listed "." in a directory before
}

func (w *walker) run(ctx context.Context, roots []string) error {
	for _, r := range sshconn.NormaliseRoots(roots) {
		if err := w.root(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) root(ctx context.Context, p string) error {
	if p == "/" {
		return w.children(ctx, p)
	}
	if sshconn.Excluded(w.exclude, p) {
		return nil
	}
	if err := w.emitParents(ctx, p); err != nil {
		return err
	}
	e, err := w.lookup(p)
	if err != nil {
		return fmt.Errorf("configured path %s: %w", p, err)
	}
	return w.visit(ctx, p, e)
}

// emitParents emits the directories above root p that were not emitted
// yet. A parent that is a symlink is archived as a directory.
func (w *walker) emitParents(ctx context.Context, p string) error {
	for _, d := range sshconn.Parents(p) {
		if w.parents[d] {
			continue
		}
		e, err := w.lookup(d)
		if err != nil {
			return fmt.Errorf("%s (parent of configured path %s): %w", d, p, err)
		}
		switch e.kind {
		case kindDir:
		case kindSymlink:
			e = listEntry{name: e.name, kind: kindDir, mode: 0o755, mtime: e.mtime}
		default:
			return fmt.Errorf("%s (parent of configured path %s) is not a directory", d, p)
		}
		w.parents[d] = true
		if err := w.put(ctx, d, e); err != nil {
			return err
		}
	}
	return nil
}

// lookup finds p in its parent's listing. When the parent cannot be listed
// but p can be entered, p is a directory whose mode and mtime are unknown.
func (w *walker) lookup(p string) (listEntry, error) {
	dir, name := path.Dir(p), path.Base(p)
	if w.cache.dir != dir || w.cache.l == nil {
		l, err := w.s.list(dir)
		if err != nil && !pathError(err) {
			return listEntry{}, fmt.Errorf("list %s: %w", dir, err)
		}
		w.cache.dir, w.cache.l = dir, l
		if err != nil {
			w.cache.l = &listing{}
		}
	}
	if e, ok := w.cache.l.find(name); ok {
		return e, nil
	}
	err := w.s.c.ChangeDir(p)
	if err == nil {
		return listEntry{name: name, kind: kindDir, mode: 0o755, mtime: time.Unix(0, 0).UTC()}, nil
	}
	if pathError(err) {
		return listEntry{}, fmt.Errorf("does not exist or cannot be read (not listed in %s; CWD: %w)", dir, err)
	}
	return listEntry{}, err
}

// visit emits p and, for a directory, its subtree.
func (w *walker) visit(ctx context.Context, p string, e listEntry) error {
	if (e.kind == kindFile || e.kind == kindDir) && strings.ContainsAny(e.name, "\r\n") {
		w.sink.Warn(p, errors.New("skipped: the name holds a line break, which no FTP command can carry"))
		return nil
	}
	switch e.kind {
	case kindDir:
		if err := w.put(ctx, p, e); err != nil {
			return err
		}
		return w.children(ctx, p)
	case kindSymlink:
		return w.put(ctx, p, e)
	case kindFile:
		return w.file(ctx, p, e)
	default:
		w.sink.Warn(p, fmt.Errorf("skipped: %s", e.other))
		return nil
	}
}

// children lists directory p and visits its entries in name order.
func (w *walker) children(ctx context.Context, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l, err := w.s.list(p)
	if pathError(err) {
		w.sink.Warn(p, fmt.Errorf("list directory: %w", err))
		return nil
	}
	if err != nil {
		return fmt.Errorf("list directory %s: %w", p, err)
	}
	switch {
	case l.dots:
		w.dots = true
	case w.dots && len(l.entries) == 0 && !w.s.mlsd:
		w.sink.Warn(p, errors.New(`list directory: the server listed it as empty, without ".": `+
			`it probably could not read it (vsftpd does so for a directory without read permission)`))
	}
	for _, e := range l.entries {
		child := path.Join(p, e.name)
		if sshconn.Excluded(w.exclude, child) {
			continue
		}
		if err := w.visit(ctx, child, e); err != nil {
			return err
		}
	}
	return nil
}

// put archives a directory, a symlink or an empty file.
func (w *walker) put(ctx context.Context, p string, e listEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.sink.Put(entryOf(p, e), emptyBody{}); err != nil {
		return fmt.Errorf("archive %s: %w", p, err)
	}
	return nil
}

// file archives a regular file: its exact mtime from MDTM where the listing
// has minutes only, then its content over a data connection (RETR).
func (w *walker) file(ctx context.Context, p string, e listEntry) error {
	if w.s.mdtm && !e.precise {
		t, err := w.s.c.GetTime(p)
		switch {
		case err == nil:
			e.mtime, e.precise = t, true
		case pathError(err): // vanished, or not a plain file to the server: keep the listed time
		default:
			return fmt.Errorf("MDTM %s: %w", p, err)
		}
	}
	if e.size == 0 {
		return w.put(ctx, p, e)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w.sink.Progress(p)
	resp, err := w.s.c.Retr(p)
	if pathError(err) {
		w.sink.Warn(p, fmt.Errorf("retrieve: %w", err))
		return nil
	}
	if err != nil {
		return fmt.Errorf("retrieve %s: %w", p, err)
	}
	body := &exactReader{r: resp, size: e.size}
	putErr := w.sink.Put(entryOf(p, e), body)
	closeErr := resp.Close() // reads the transfer's final reply
	var te *textproto.Error
	switch {
	case putErr != nil:
		return fmt.Errorf("archive %s: %w", p, putErr)
	case closeErr != nil && !(body.grew && errors.As(closeErr, &te)): // a transfer cut short is answered 426
		return fmt.Errorf("retrieve %s: %w", p, closeErr)
	}
	if warn := body.warning(); warn != nil {
		w.sink.Warn(p, warn)
	}
	return nil
}

// entryOf builds the archive entry of remote path p.
func entryOf(p string, e listEntry) connector.Entry {
	ce := connector.Entry{
		Name:    strings.TrimPrefix(p, "/"),
		Mode:    e.mode,
		ModTime: e.mtime,
		UID:     e.uid,
		GID:     e.gid,
	}
	switch e.kind {
	case kindDir:
		ce.Type = connector.TypeDir
	case kindSymlink:
		ce.Type, ce.LinkTarget = connector.TypeSymlink, e.target
	default:
		ce.Type, ce.Size = connector.TypeFile, e.size
	}
	return ce
}

// emptyBody is the body of directories, symlinks and empty files.
type emptyBody struct{}

func (emptyBody) Read([]byte) (int, error) { return 0, io.EOF }

// exactReader yields exactly size bytes of r: r cut if it is longer (grew),
// padded with zeros if it ends early (padded); after size bytes it reads
// one more to tell which.
type exactReader struct {
	r      io.Reader
	size   int64
	read   int64 // bytes yielded
	padded int64 // of which zeros
	ended  bool  // r returned EOF
	probed bool
	grew   bool
}

func (x *exactReader) Read(b []byte) (int, error) {
	if x.read >= x.size {
		if !x.probed {
			x.probed = true
			if err := x.probe(); err != nil {
				return 0, err
			}
		}
		return 0, io.EOF
	}
	if left := x.size - x.read; int64(len(b)) > left {
		b = b[:left]
	}
	if x.ended {
		clear(b)
		x.read += int64(len(b))
		x.padded += int64(len(b))
		return len(b), nil
	}
	n, err := x.r.Read(b)
	x.read += int64(n)
	if errors.Is(err, io.EOF) {
		x.ended, err = true, nil
	}
	return n, err
}

// probe reads past the listed size: one more byte means the file grew.
func (x *exactReader) probe() error {
	if x.ended {
		return nil
	}
	var one [1]byte
	for range 100 {
		n, err := x.r.Read(one[:])
		switch {
		case n > 0:
			x.grew = true
			return nil
		case errors.Is(err, io.EOF):
			return nil
		case err != nil:
			return err
		}
	}
	return io.ErrNoProgress
}

func (x *exactReader) warning() error {
	switch {
	case x.grew:
		return fmt.Errorf("file grew while read: archived its first %d bytes", x.size)
	case x.padded > 0:
		return fmt.Errorf("file shrank while read: padded the last %d of %d bytes with zeros", x.padded, x.size)
	}
	return nil
}
