// Package local is the connector of local sources: directories on the
// agent's own host. A local source is refused unless every configured path,
// after symlink resolution, lies under one of the agent's --allow-local-root
// directories, and never when it is, lies inside or contains the agent's own
// state or storage directory. Reads go through an os.Root opened on the
// resolved path, so a symlink swapped in during the walk cannot lead
// outside it; symlinks inside the tree are archived as links, never followed.
//
// The archive order, parents, excludes and the handling of files that
// change while read are those of the sftp connector (see its package doc).
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sshconn"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// Connector pulls one local source.
type Connector struct {
	cfg sdk.LocalConfig
	env connector.Env
}

var (
	_ connector.Connector = (*Connector)(nil)
	_ connector.Tester    = (*Connector)(nil)
)

// New checks cfg against the agent's allowed roots.
func New(cfg sdk.LocalConfig, env connector.Env) (*Connector, error) {
	if len(cfg.Paths) == 0 {
		return nil, fmt.Errorf("local source: no paths: %w", connector.ErrPermanent)
	}
	for _, p := range cfg.Paths {
		if !path.IsAbs(p) || path.Clean(p) != p {
			return nil, fmt.Errorf("local source: path %q must be absolute and clean: %w", p, connector.ErrPermanent)
		}
	}
	return &Connector{cfg: cfg, env: env}, nil
}

// resolve returns the real path of p after checking it against the allowed
// and forbidden roots.
func (c *Connector) resolve(p string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", fmt.Errorf("local path %s: %w", p, err)
	}
	if len(c.env.LocalRoots) == 0 {
		return "", fmt.Errorf("local path %s: this agent allows no local roots "+
			"(hint: start agentd with --allow-local-root DIR, or hubd --dev --allow-local-root DIR): %w", p, connector.ErrPermanent)
	}
	if !slices.ContainsFunc(c.env.LocalRoots, func(r string) bool { return within(real, r) }) {
		return "", fmt.Errorf("local path %s (resolved %s) is outside the agent's allowed roots %s: %w",
			p, real, strings.Join(c.env.LocalRoots, ", "), connector.ErrPermanent)
	}
	for _, f := range c.env.ForbiddenRoots {
		if within(real, f) || within(f, real) {
			return "", fmt.Errorf("local path %s (resolved %s) overlaps the agent's own directory %s: %w", p, real, f, connector.ErrPermanent)
		}
	}
	return real, nil
}

// within reports whether p is dir or lies below it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

// Pull archives every configured path.
func (c *Connector) Pull(ctx context.Context, sink connector.Sink) error {
	roots := sshconn.NormaliseRoots(c.cfg.Paths)
	reals := make([]string, len(roots))
	for i, p := range roots {
		real, err := c.resolve(p)
		if err != nil {
			return err
		}
		reals[i] = real
	}
	if err := sink.Describe(archive.Descriptor{Connector: "local"}); err != nil {
		return err
	}
	w := &walker{ctx: ctx, sink: sink, exclude: c.cfg.Exclude, parents: map[string]bool{}}
	for i, p := range roots {
		if err := w.root(p, reals[i]); err != nil {
			return err
		}
	}
	return nil
}

// Test resolves every path and lists the first entries of each.
func (c *Connector) Test(ctx context.Context) (*sdk.TestReport, error) {
	rep := &sdk.TestReport{OK: true}
	for _, p := range c.cfg.Paths {
		real, err := c.resolve(p)
		if err != nil {
			rep.OK = false
			rep.Checks = append(rep.Checks, sdk.TestCheck{Name: "allowed " + p, OK: false, Detail: err.Error()})
			continue
		}
		rep.Checks = append(rep.Checks, sdk.TestCheck{Name: "allowed " + p, OK: true, Detail: "resolved " + real})
		fi, err := os.Lstat(real)
		if err != nil {
			rep.OK = false
			rep.Checks = append(rep.Checks, sdk.TestCheck{Name: "read " + p, OK: false, Detail: err.Error()})
			continue
		}
		rep.Items = append(rep.Items, connector.TestItem(p, fi.Mode(), fi.Size()))
		if !fi.IsDir() {
			continue
		}
		des, err := os.ReadDir(real)
		ok := err == nil
		detail := fmt.Sprintf("%d entries", len(des))
		if err != nil {
			rep.OK, detail = false, err.Error()
		}
		rep.Checks = append(rep.Checks, sdk.TestCheck{Name: "list " + p, OK: ok, Detail: detail})
		for _, d := range des[:min(len(des), 10)] {
			if info, err := d.Info(); err == nil {
				rep.Items = append(rep.Items, connector.TestItem(path.Join(p, d.Name()), info.Mode(), info.Size()))
			}
		}
	}
	return rep, ctx.Err()
}

// walker emits entries in archive order.
type walker struct {
	ctx     context.Context
	sink    connector.Sink
	exclude []string
	parents map[string]bool
}

func (w *walker) root(p, real string) error {
	if sshconn.Excluded(w.exclude, p) && p != "/" {
		return nil
	}
	for _, d := range sshconn.Parents(p) {
		if w.parents[d] {
			continue
		}
		w.parents[d] = true
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("stat %s (parent of configured path %s): %w", d, p, err)
		}
		if err := w.emit(nil, d, "", fi); err != nil {
			return err
		}
	}
	fi, err := os.Lstat(real)
	if err != nil {
		return fmt.Errorf("stat configured path %s: %w", p, err)
	}
	dir, base := real, "."
	if !fi.IsDir() {
		dir, base = filepath.Dir(real), filepath.Base(real)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	defer root.Close()
	return w.walk(root, p, base)
}

// walk visits rel (relative to root; remote name p) and, for a directory,
// its children in byte order of their names.
func (w *walker) walk(root *os.Root, p, rel string) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	fi, err := root.Lstat(rel)
	if err != nil {
		w.sink.Warn(p, fmt.Errorf("vanished before it was read: %w", err))
		return nil
	}
	if err := w.emit(root, p, rel, fi); err != nil || !fi.IsDir() {
		return err
	}
	f, err := root.Open(rel)
	if err != nil {
		w.sink.Warn(p, fmt.Errorf("cannot list: %w", err))
		return nil
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		w.sink.Warn(p, fmt.Errorf("cannot list: %w", err))
		return nil
	}
	slices.Sort(names)
	for _, n := range names {
		child := path.Join(p, n)
		if sshconn.Excluded(w.exclude, child) {
			continue
		}
		if err := w.walk(root, child, path.Join(rel, n)); err != nil {
			return err
		}
	}
	return nil
}

// emit hands one object to the sink; root is nil for parents (no body).
func (w *walker) emit(root *os.Root, p, rel string, fi fs.FileInfo) error {
	e := connector.Entry{
		Name: strings.TrimPrefix(p, "/"), Mode: fi.Mode(), ModTime: fi.ModTime(),
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.UID, e.GID = int(st.Uid), int(st.Gid)
	}
	if e.Name == "" {
		return nil // "/" itself
	}
	if err := archive.ValidName(e.Name); err != nil {
		return fmt.Errorf("local path %q: %w", p, err)
	}
	w.sink.Progress(p)
	switch m := fi.Mode(); {
	case m.IsDir():
		e.Type = connector.TypeDir
		return w.sink.Put(e, nil)
	case m&fs.ModeSymlink != 0:
		target, err := root.Readlink(rel)
		if err != nil {
			w.sink.Warn(p, fmt.Errorf("cannot read link: %w", err))
			return nil
		}
		e.Type, e.LinkTarget = connector.TypeSymlink, target
		return w.sink.Put(e, nil)
	case m.IsRegular():
		return w.file(root, p, rel, e, fi.Size())
	default:
		w.sink.Warn(p, fmt.Errorf("skipped: %s is not a regular file, directory or symlink", m.Type()))
		return nil
	}
}

// file streams a regular file with its listed size: cut if it grew,
// zero-padded if it shrank, with a warning either way.
func (w *walker) file(root *os.Root, p, rel string, e connector.Entry, size int64) error {
	e.Type, e.Size = connector.TypeFile, size
	f, err := root.Open(rel)
	if err != nil {
		w.sink.Warn(p, fmt.Errorf("vanished before it was read: %w", err))
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		w.sink.Warn(p, errors.New("replaced by a non-regular file while read: skipped"))
		return nil
	}
	body := &exactReader{r: f, left: size}
	if err := w.sink.Put(e, body); err != nil {
		return err
	}
	if body.padded > 0 {
		w.sink.Warn(p, fmt.Errorf("file shrank while read: padded the last %d of %d bytes with zeros", body.padded, size))
	} else if n, _ := f.Read(make([]byte, 1)); n > 0 {
		w.sink.Warn(p, fmt.Errorf("file grew while read: cut at its listed size of %d bytes", size))
	}
	return nil
}

// exactReader yields exactly left bytes of r, padding with zeros at an early EOF.
type exactReader struct {
	r      io.Reader
	left   int64
	padded int64
	eof    bool
}

func (x *exactReader) Read(p []byte) (int, error) {
	if x.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > x.left {
		p = p[:x.left]
	}
	if x.eof {
		clear(p)
		x.left -= int64(len(p))
		x.padded += int64(len(p))
		return len(p), nil
	}
	n, err := x.r.Read(p)
	x.left -= int64(n)
	if errors.Is(err, io.EOF) {
		x.eof = true
		err = nil
	}
	return n, err
}
