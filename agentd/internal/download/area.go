// Package download owns the agent's published restores and serves them.
// The layout, below the agent's storage root, is
//
//	restores/{restore_id}/
//	    restore-{restore_id}.zip|.tar.zst   the download
//	    restore-….partial                   while it is being written
//	    meta.json                           Meta: token hash, expiry, file, size
//
// A restore is published once meta.json exists: the file is renamed into
// place first, meta.json is written last. The raw download token is never
// stored: meta.json holds its sha256 only. Directories are 0700, files 0600.
package download

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"
)

// MetaName is the published restore's description file.
const MetaName = "meta.json"

const (
	partialSuffix = ".partial"
	dirMode       = 0o700
	fileMode      = 0o600
)

var (
	idPattern       = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	fileNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$`)
)

// Meta describes one published restore.
type Meta struct {
	RestoreID   string    `json:"restore_id"`
	TenantID    string    `json:"tenant_id"`
	TokenSHA256 string    `json:"token_sha256"` // hex sha256 of the download token
	FileName    string    `json:"file_name"`
	SizeBytes   int64     `json:"size_bytes"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// Area is the restores directory of one agent.
type Area struct {
	root string

	mu     sync.Mutex
	active map[string]bool // restores being written: cleanup leaves them alone
}

// Open makes {storageRoot}/restores (0700) if needed.
func Open(storageRoot string) (*Area, error) {
	root, err := filepath.Abs(filepath.Join(storageRoot, "restores"))
	if err != nil {
		return nil, fmt.Errorf("open restores dir: %w", err)
	}
	if err := os.MkdirAll(root, dirMode); err != nil {
		return nil, fmt.Errorf("open restores dir: %w", err)
	}
	return &Area{root: root, active: map[string]bool{}}, nil
}

// Root is the restores directory.
func (a *Area) Root() string { return a.root }

// FileName is the download's file name for a restore id and format extension.
func FileName(restoreID, ext string) string { return "restore-" + restoreID + "." + ext }

// Pending is a restore being written; Write into it, then Publish or Abort.
type Pending struct {
	a        *Area
	id, dir  string
	fileName string
	f        *os.File
	n        int64
}

// Begin starts writing restore id's file fileName, throwing away whatever
// an earlier attempt left.
func (a *Area) Begin(id, fileName string) (*Pending, error) {
	if !idPattern.MatchString(id) || !fileNamePattern.MatchString(fileName) {
		return nil, fmt.Errorf("restore id %q or file name %q is not a safe path element", id, fileName)
	}
	a.mu.Lock()
	if a.active[id] {
		a.mu.Unlock()
		return nil, fmt.Errorf("restore %s is already being written", id)
	}
	a.active[id] = true
	a.mu.Unlock()
	p := &Pending{a: a, id: id, dir: filepath.Join(a.root, id), fileName: fileName}
	if err := os.RemoveAll(p.dir); err != nil {
		p.release()
		return nil, fmt.Errorf("clear restore dir: %w", err)
	}
	if err := os.Mkdir(p.dir, dirMode); err != nil {
		p.release()
		return nil, fmt.Errorf("make restore dir: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(p.dir, fileName+partialSuffix), os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		p.Abort()
		return nil, fmt.Errorf("create restore file: %w", err)
	}
	p.f = f
	return p, nil
}

func (p *Pending) Write(b []byte) (int, error) {
	n, err := p.f.Write(b)
	p.n += int64(n)
	if err != nil {
		return n, fmt.Errorf("write restore file: %w", err)
	}
	return n, nil
}

// Publish syncs the file, renames it into place and writes meta.json (the
// size and file name are filled in). Only then is the restore downloadable.
func (p *Pending) Publish(m Meta) (Meta, error) {
	defer p.release()
	m.RestoreID, m.FileName, m.SizeBytes = p.id, p.fileName, p.n
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now().UTC()
	}
	final := filepath.Join(p.dir, p.fileName)
	err := errors.Join(p.f.Sync(), p.f.Close())
	if err == nil {
		err = os.Rename(p.f.Name(), final)
	}
	if err == nil {
		err = writeMeta(p.dir, m)
	}
	if err == nil {
		err = syncDir(p.dir)
	}
	if err != nil {
		_ = os.RemoveAll(p.dir)
		return m, fmt.Errorf("publish restore %s: %w", p.id, err)
	}
	return m, nil
}

// Abort removes everything written for the restore.
func (p *Pending) Abort() {
	defer p.release()
	if p.f != nil {
		_ = p.f.Close()
	}
	_ = os.RemoveAll(p.dir)
}

func (p *Pending) release() {
	p.a.mu.Lock()
	delete(p.a.active, p.id)
	p.a.mu.Unlock()
}

// Remove deletes a restore (published or not). A missing one is no error.
func (a *Area) Remove(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("restore id %q is not a safe path element", id)
	}
	if err := os.RemoveAll(filepath.Join(a.root, id)); err != nil {
		return fmt.Errorf("remove restore %s: %w", id, err)
	}
	return nil
}

func writeMeta(dir string, m Meta) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, MetaName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, MetaName))
}

func readMeta(dir string) (*Meta, error) {
	b, err := os.ReadFile(filepath.Join(dir, MetaName))
	if err != nil {
		return nil, err
	}
	m := new(Meta)
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("decode %s: %w", filepath.Join(dir, MetaName), err)
	}
	return m, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }()
	return d.Sync()
}

// entries lists the restore directories (valid ids only).
func (a *Area) entries() ([]string, error) {
	des, err := os.ReadDir(a.root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var ids []string
	for _, de := range des {
		if de.IsDir() && idPattern.MatchString(de.Name()) {
			ids = append(ids, de.Name())
		}
	}
	return ids, nil
}
