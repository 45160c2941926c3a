package sftp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	pkgsftp "github.com/pkg/sftp"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sshconn"
)

// POSIX file type bits as SFTP v3 carries them in the permissions field.
const (
	modeTypeMask = 0o170000
	modeDir      = 0o040000
	modeRegular  = 0o100000
	modeSymlink  = 0o120000
)

// walker lists the remote tree in archive order and hands each object to send.
type walker struct {
	c       *pkgsftp.Client
	exclude []string
	parents map[string]bool // parent directories of roots already emitted
	send    func(ctx context.Context, it *item) error
}

// normaliseRoots sorts the roots and drops duplicates and roots inside another root.
func normaliseRoots(paths []string) []string { return sshconn.NormaliseRoots(paths) }

func (w *walker) run(ctx context.Context, roots []string) error {
	for _, r := range normaliseRoots(roots) {
		if err := w.root(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) excluded(p string) bool { return sshconn.Excluded(w.exclude, p) }

func (w *walker) root(ctx context.Context, p string) error {
	if p == "/" {
		return w.children(ctx, p)
	}
	if w.excluded(p) {
		return nil
	}
	if err := w.emitParents(ctx, p); err != nil {
		return err
	}
	fi, err := w.c.Lstat(p)
	if err != nil {
		return fmt.Errorf("stat configured path %s: %w", p, err)
	}
	return w.visit(ctx, p, fi)
}

// emitParents emits the directories above root p that were not emitted yet.
// They are Stat-ed: a parent that is a symlink is archived as its directory.
func (w *walker) emitParents(ctx context.Context, p string) error {
	for _, d := range sshconn.Parents(p) {
		if w.parents[d] {
			continue
		}
		fi, err := w.c.Stat(d)
		if err != nil {
			return fmt.Errorf("stat %s (parent of configured path %s): %w", d, p, err)
		}
		e, err := entryOf(d, fi)
		if err != nil {
			return err
		}
		if e.Type != connector.TypeDir {
			return fmt.Errorf("%s (parent of configured path %s) is not a directory", d, p)
		}
		w.parents[d] = true
		if err := w.send(ctx, &item{entry: e, remote: d}); err != nil {
			return err
		}
	}
	return nil
}

// visit emits p (Lstat-ed as fi) and, for a directory, its subtree.
func (w *walker) visit(ctx context.Context, p string, fi os.FileInfo) error {
	e, err := entryOf(p, fi)
	if err != nil {
		return err
	}
	switch e.Type {
	case connector.TypeDir:
		if err := w.send(ctx, &item{entry: e, remote: p}); err != nil {
			return err
		}
		return w.children(ctx, p)
	case connector.TypeSymlink:
		target, err := w.c.ReadLink(p)
		if skippable(err) {
			return w.send(ctx, &item{remote: p, warn: fmt.Errorf("read symlink: %w", err)})
		}
		if err != nil {
			return fmt.Errorf("read symlink %s: %w", p, err)
		}
		if target == "" || strings.IndexByte(target, 0) >= 0 {
			return fmt.Errorf("server returned an invalid target %q for symlink %s", target, p)
		}
		e.LinkTarget = target
		return w.send(ctx, &item{entry: e, remote: p})
	case connector.TypeFile:
		return w.send(ctx, &item{entry: e, remote: p})
	default:
		return w.send(ctx, &item{remote: p, warn: fmt.Errorf("skipped: %s", specialKind(fi))})
	}
}

// children lists directory p, checks the names the server returned, and
// visits them in name order.
func (w *walker) children(ctx context.Context, p string) error {
	list, err := w.c.ReadDirContext(ctx, p)
	if err := ctx.Err(); err != nil {
		return err
	}
	if skippable(err) {
		return w.send(ctx, &item{remote: p, warn: fmt.Errorf("list directory: %w", err)})
	}
	if err != nil {
		return fmt.Errorf("list directory %s: %w", p, err)
	}
	slices.SortFunc(list, func(a, b os.FileInfo) int { return strings.Compare(a.Name(), b.Name()) })
	for i, fi := range list {
		if err := checkElement(fi.Name()); err != nil {
			return fmt.Errorf("server listed a bad name in directory %s: %w", p, err)
		}
		if i > 0 && list[i-1].Name() == fi.Name() {
			return fmt.Errorf("server listed the name %q twice in directory %s", fi.Name(), p)
		}
	}
	for _, fi := range list {
		child := path.Join(p, fi.Name())
		if w.excluded(child) {
			continue
		}
		if err := w.visit(ctx, child, fi); err != nil {
			return err
		}
	}
	return nil
}

// entryOf builds the entry of remote path p from its SFTP attributes. The
// Type is zero for objects that are not archived (sockets, devices, fifos).
func entryOf(p string, fi os.FileInfo) (connector.Entry, error) {
	st, ok := fi.Sys().(*pkgsftp.FileStat)
	if !ok {
		return connector.Entry{}, fmt.Errorf("stat %s: server sent no attributes", p)
	}
	e := connector.Entry{
		Name:    strings.TrimPrefix(p, "/"),
		Mode:    permMode(st.Mode),
		ModTime: time.Unix(int64(st.Mtime), 0),
		UID:     int(st.UID),
		GID:     int(st.GID),
	}
	switch st.Mode & modeTypeMask {
	case modeDir:
		e.Type = connector.TypeDir
	case modeRegular:
		e.Type = connector.TypeFile
		e.Size = int64(st.Size)
		if e.Size < 0 {
			return connector.Entry{}, fmt.Errorf("stat %s: server sent size %d", p, st.Size)
		}
	case modeSymlink:
		e.Type = connector.TypeSymlink
	}
	return e, nil
}

// specialKind names an object that is not archived.
func specialKind(fi os.FileInfo) string {
	m := fi.Mode()
	switch {
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	}
	return "unsupported file type " + m.String()
}

// permMode keeps the permission bits and setuid/setgid/sticky of a POSIX mode.
func permMode(m uint32) fs.FileMode { return sshconn.PermMode(m) }

// skippable reports whether err concerns one path only (vanished, not
// readable, or any failure the server reported for it) rather than the
// connection, so the walk can warn and go on.
func skippable(err error) bool {
	if err == nil {
		return false
	}
	var status *pkgsftp.StatusError
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.As(err, &status)
}
