package incremental

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// cacheSuffix ends the name of a cached index file.
const cacheSuffix = ".idx.zst.age"

// Cache keeps the agent's copies of indexes under Dir (the agent's state
// dir) as {Dir}/index/{tenant}/{source}/{snapshot}.idx.zst.age: files 0600
// in directories 0700, each written to a .partial file, fsynced and renamed
// (then the directory is fsynced), so a reader sees a whole file or none.
type Cache struct {
	Dir string
}

// Path returns the cache file of ids.
func (c Cache) Path(ids IDs) (string, error) {
	dir, err := c.sourceDir(ids.TenantID, ids.SourceID)
	if err != nil {
		return "", err
	}
	if err := checkID("snapshot", ids.SnapshotID); err != nil {
		return "", err
	}
	return filepath.Join(dir, ids.SnapshotID+cacheSuffix), nil
}

func (c Cache) sourceDir(tenant, source string) (string, error) {
	if c.Dir == "" {
		return "", errors.New("index cache: no directory configured")
	}
	if err := checkID("tenant", tenant); err != nil {
		return "", err
	}
	if err := checkID("source", source); err != nil {
		return "", err
	}
	return filepath.Join(c.Dir, "index", tenant, source), nil
}

// checkID refuses an id that is not one plain path element.
func checkID(kind, id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\\\x00") {
		return fmt.Errorf("index cache: bad %s id %q", kind, id)
	}
	return nil
}

// Write stores the file of ids with the bytes write produces (typically
// Encode). On any error nothing is left behind and an older file of the
// same ids stays as it was.
func (c Cache) Write(ids IDs, write func(io.Writer) error) error {
	path, err := c.Path(ids)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := c.mkdirs(dir); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ids.SnapshotID+cacheSuffix+".*.partial") // mode 0600
	if err != nil {
		return fmt.Errorf("index cache: create: %w", err)
	}
	if err := writeSynced(f, write); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("index cache: write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("index cache: rename to %s: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("index cache: %w", err)
	}
	return nil
}

func writeSynced(f *os.File, write func(io.Writer) error) error {
	err := write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirs creates dir and its parents up to c.Dir/index as 0700 (tightening
// existing ones: the index holds the tenant's names and metadata).
func (c Cache) mkdirs(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("index cache: %w", err)
	}
	root := filepath.Join(c.Dir, "index")
	for d := dir; ; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o700); err != nil {
			return fmt.Errorf("index cache: %w", err)
		}
		if d == root || len(d) <= len(root) {
			return nil
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Open opens the file of ids. The error wraps fs.ErrNotExist when there is
// none.
func (c Cache) Open(ids IDs) (io.ReadCloser, error) {
	path, err := c.Path(ids)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("index cache: open: %w", err)
	}
	return f, nil
}

// Prune removes every cached index (and left-over .partial file) of the
// source except keep's, once the hub has accepted keep's completion. A
// source with no cache directory is not an error.
func (c Cache) Prune(tenant, source, keep string) error {
	dir, err := c.sourceDir(tenant, source)
	if err != nil {
		return err
	}
	if err := checkID("snapshot", keep); err != nil {
		return err
	}
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("index cache: prune: %w", err)
	}
	var errs []error
	for _, e := range ents {
		name := e.Name()
		ours := strings.HasSuffix(name, cacheSuffix) || strings.HasSuffix(name, ".partial")
		if !ours || name == keep+cacheSuffix || e.IsDir() {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("index cache: prune: %w", errors.Join(errs...))
	}
	return nil
}
