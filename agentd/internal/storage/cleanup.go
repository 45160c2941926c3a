package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/xvault/xvault/sdk/archive"
)

// leftovers are the files an uncommitted snapshot directory may hold.
var leftovers = []string{
	archive.ArtifactName + partialSuffix,
	archive.ManifestName + tmpSuffix,
	archive.MetaName + tmpSuffix,
	archive.ManifestName,
	archive.MetaName,
	archive.IndexName + tmpSuffix,
	archive.IndexName,
}

// CleanupPartials removes what interrupted backups left behind, typically at
// agent start-up. For every snapshot whose id active does not report (a nil
// active means none is active) it removes backup.tar.zst.age.partial and
// the temp files of a commit; in a directory without a committed artifact
// it also removes manifest.json and meta.json, which a commit interrupted
// before its final rename leaves. Directories left empty are pruned. Files
// it does not know are kept. Mark a snapshot active before calling Begin
// for it, or a concurrent cleanup may remove its partial file.
// It returns the paths it removed; errors do not stop it.
func (s *Store) CleanupPartials(active func(snapshotID string) bool) ([]string, error) {
	dirs, err := s.snapshotDirs()
	var removed []string
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, dir := range dirs {
		if active != nil && active(filepath.Base(dir)) {
			continue
		}
		r, err := s.cleanDir(dir)
		removed = append(removed, r...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("cleanup partials: %w", err)
	}
	return removed, nil
}

// snapshotDirs lists tenants/*/sources/*/snapshots/* directories with valid ids.
func (s *Store) snapshotDirs() ([]string, error) {
	levels := []string{"tenants", "sources", "snapshots"}
	dirs := []string{s.root}
	var errs []error
	for _, level := range levels {
		var next []string
		for _, parent := range dirs {
			children, err := subdirs(filepath.Join(parent, level))
			if err != nil {
				errs = append(errs, err)
			}
			next = append(next, children...)
		}
		dirs = next
	}
	return dirs, errors.Join(errs...)
}

// subdirs lists the directories in dir whose names are valid ids; a missing
// dir has none.
func subdirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && validID(e.Name()) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// cleanDir removes the leftovers of one inactive snapshot directory.
func (s *Store) cleanDir(dir string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := os.Lstat(filepath.Join(dir, archive.ArtifactName))
	committed := err == nil
	var removed []string
	var errs []error
	for _, name := range leftovers {
		if committed && (name == archive.ManifestName || name == archive.MetaName || name == archive.IndexName) {
			continue
		}
		path := filepath.Join(dir, name)
		err := os.Remove(path)
		switch {
		case err == nil:
			removed = append(removed, path)
		case !errors.Is(err, fs.ErrNotExist):
			errs = append(errs, fmt.Errorf("remove %s: %w", path, err))
		}
	}
	if !committed {
		s.pruneEmpty(dir)
	}
	return removed, errors.Join(errs...)
}
