// Package storage owns the agent's local snapshot disk: where artifacts are
// written, how a half-written one is committed or thrown away, and how
// snapshots are deleted. The layout, made of opaque ids only, is
//
//	{root}/tenants/{tenant_id}/sources/{source_id}/snapshots/{snapshot_id}/
//	    backup.tar.zst.age   the artifact (see sdk/archive)
//	    manifest.json        archive.Manifest
//	    meta.json            archive.Meta
//
// A snapshot is committed once backup.tar.zst.age exists: it is renamed into
// place last, after manifest.json and meta.json, so an artifact never lacks
// its manifest. Until then the data lives in backup.tar.zst.age.partial.
// Directories are 0700 and files 0600.
package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	"github.com/xvault/xvault/sdk/archive"
)

var (
	// ErrInvalidID: an id is not a safe single path element.
	ErrInvalidID = errors.New("invalid storage id")
	// ErrExists: the snapshot already has a committed artifact.
	ErrExists = errors.New("snapshot already committed")
	// ErrBusy: a partial artifact already exists for the snapshot, written by
	// another Pending or left over by a crash (CleanupPartials removes those).
	ErrBusy = errors.New("snapshot has a partial artifact")
)

const (
	partialSuffix = ".partial"
	tmpSuffix     = ".tmp"
	dirMode       = 0o700
	fileMode      = 0o600
)

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// SnapshotIDs names one snapshot on disk. Each id must match
// ^[A-Za-z0-9_-]{1,64}$.
type SnapshotIDs struct {
	TenantID   string
	SourceID   string
	SnapshotID string
}

// Validate reports whether every id is a safe single path element.
func (ids SnapshotIDs) Validate() error {
	for _, f := range []struct{ what, id string }{
		{"tenant", ids.TenantID}, {"source", ids.SourceID}, {"snapshot", ids.SnapshotID},
	} {
		if !validID(f.id) {
			return fmt.Errorf("%w: %s id %q must match %s", ErrInvalidID, f.what, f.id, idPattern)
		}
	}
	return nil
}

func validID(id string) bool { return idPattern.MatchString(id) }

// Store is the snapshot area below one root directory. It is safe for
// concurrent use by one process; a root must not be shared by two agents.
type Store struct {
	root string
	mu   sync.Mutex // serialises directory creation against pruning
}

// Open makes root (0700) if needed and returns the Store below it.
func Open(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open storage %s: %w", root, err)
	}
	if err := os.MkdirAll(abs, dirMode); err != nil {
		return nil, fmt.Errorf("open storage %s: %w", abs, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("open storage %s: %w", abs, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("open storage %s: not a directory", abs)
	}
	return &Store{root: abs}, nil
}

// Root returns the absolute root directory.
func (s *Store) Root() string { return s.root }

// Dir returns the snapshot directory of ids.
func (s *Store) Dir(ids SnapshotIDs) (string, error) {
	if err := ids.Validate(); err != nil {
		return "", err
	}
	return filepath.Join(s.root, "tenants", ids.TenantID, "sources", ids.SourceID, "snapshots", ids.SnapshotID), nil
}

// ArtifactPath returns where the committed artifact of ids lives (whether or
// not it exists); open it and read it with archive.NewReader.
func (s *Store) ArtifactPath(ids SnapshotIDs) (string, error) {
	dir, err := s.Dir(ids)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, archive.ArtifactName), nil
}

// ReadManifest reads manifest.json of a committed snapshot.
func (s *Store) ReadManifest(ids SnapshotIDs) (archive.Manifest, error) {
	var m archive.Manifest
	dir, err := s.Dir(ids)
	if err != nil {
		return m, err
	}
	b, err := os.ReadFile(filepath.Join(dir, archive.ManifestName))
	if err != nil {
		return m, fmt.Errorf("read manifest of snapshot %s: %w", ids.SnapshotID, err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("decode manifest of snapshot %s: %w", ids.SnapshotID, err)
	}
	return m, nil
}

// Delete removes the snapshot directory and then every parent directory
// left empty, up to (not including) the root. A missing snapshot is not an
// error.
func (s *Store) Delete(ids SnapshotIDs) error {
	dir, err := s.Dir(ids)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("delete snapshot %s: %w", ids.SnapshotID, err)
	}
	s.pruneEmpty(filepath.Dir(dir))
	return nil
}

// pruneEmpty removes dir and its parents while they are empty (or already
// gone), stopping below the root. The caller holds s.mu.
func (s *Store) pruneEmpty(dir string) {
	for dir != s.root && len(dir) > len(s.root) {
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return // not empty (or not ours to remove): stop here
		}
		dir = filepath.Dir(dir)
	}
}

// syncDirs fsyncs dir and its parents up to the root, so that newly made
// directories and renames survive a crash.
func (s *Store) syncDirs(dir string) error {
	for {
		if err := syncDir(dir); err != nil {
			return err
		}
		if dir == s.root || len(dir) <= len(s.root) {
			return nil
		}
		dir = filepath.Dir(dir)
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	defer func() { _ = d.Close() }()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}
