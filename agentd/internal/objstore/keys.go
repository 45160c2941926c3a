package objstore

import (
	"fmt"
	"strings"

	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/sdk/archive"
)

// maxKeyLen is the S3 limit on a key, in bytes.
const maxKeyLen = 1024

// SnapshotFiles are the object names a snapshot prefix may hold.
var SnapshotFiles = []string{archive.ArtifactName, archive.ManifestName, archive.MetaName, archive.IndexName}

// SnapshotPrefix returns the key prefix of one snapshot, ending in "/":
// {prefix}tenants/{t}/sources/{s}/snapshots/{snap}/. The ids are checked as
// storage.SnapshotIDs.Validate does (the error matches storage.ErrInvalidID).
func (s *Store) SnapshotPrefix(ids storage.SnapshotIDs) (string, error) {
	if err := ids.Validate(); err != nil {
		return "", err
	}
	return s.prefix + "tenants/" + ids.TenantID + "/sources/" + ids.SourceID +
		"/snapshots/" + ids.SnapshotID + "/", nil
}

// SnapshotKey returns the key of one file of a snapshot; name is one of
// SnapshotFiles.
func (s *Store) SnapshotKey(ids storage.SnapshotIDs, name string) (string, error) {
	p, err := s.SnapshotPrefix(ids)
	if err != nil {
		return "", err
	}
	for _, f := range SnapshotFiles {
		if f == name {
			return p + name, nil
		}
	}
	return "", fmt.Errorf("%w: %q is not a snapshot file (one of %s)", ErrInvalidKey, name,
		strings.Join(SnapshotFiles, ", "))
}

// TenantPrefix returns {prefix}tenants/{tenant}/, for sweeping one tenant.
func (s *Store) TenantPrefix(tenantID string) (string, error) {
	ids := storage.SnapshotIDs{TenantID: tenantID, SourceID: "x", SnapshotID: "x"}
	if err := ids.Validate(); err != nil {
		return "", err
	}
	return s.prefix + "tenants/" + tenantID + "/", nil
}

// checkKey accepts a key below the store's prefix made of safe segments
// (letters, digits, '.', '_', '-'; no empty, "." or ".." segment).
func (s *Store) checkKey(key string) error {
	if err := s.checkPrefix(key); err != nil {
		return err
	}
	if key == s.prefix || strings.HasSuffix(key, "/") {
		return fmt.Errorf("%w: %q names a folder, not an object", ErrInvalidKey, key)
	}
	return nil
}

// checkPrefix accepts the store's prefix itself or anything below it made
// of safe segments; a trailing "/" is allowed.
func (s *Store) checkPrefix(p string) error {
	if len(p) > maxKeyLen {
		return fmt.Errorf("%w: key longer than %d bytes", ErrInvalidKey, maxKeyLen)
	}
	if !strings.HasPrefix(p, s.prefix) {
		return fmt.Errorf("%w: %q is outside the prefix %q", ErrInvalidKey, p, s.prefix)
	}
	rest := strings.TrimSuffix(strings.TrimPrefix(p, s.prefix), "/")
	if rest == "" {
		return nil
	}
	for _, seg := range strings.Split(rest, "/") {
		if err := validSegment(seg); err != nil {
			return fmt.Errorf("%w: %q: %v", ErrInvalidKey, p, err)
		}
	}
	return nil
}
