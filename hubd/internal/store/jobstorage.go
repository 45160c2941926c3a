package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/sdk"
)

// JobStorage is the storage target a job works on: the one a storage test
// checks, a backup's source's effective storage (EffectiveStorage), else
// the target holding the job's snapshot (a copy's source side: see
// CopyDestination). nil means local_fs (or no snapshot at all).
func JobStorage(ctx context.Context, db bun.IDB, j *Job) (*StorageTarget, error) {
	if j.Type == JobTypeTestConnection && j.StorageTargetID != nil {
		t, err := GetStorageTarget(ctx, db, StorageScope{TenantID: j.TenantID}, *j.StorageTargetID)
		if err != nil {
			return nil, fmt.Errorf("storage of job %s: %w", j.ID, err)
		}
		return t, nil
	}
	if j.Type == JobTypeBackup {
		if j.SourceID == nil {
			return nil, nil
		}
		return EffectiveStorage(ctx, db, j.TenantID, *j.SourceID)
	}
	if j.SnapshotID == nil {
		return nil, nil
	}
	snap, err := GetSnapshot(ctx, db, j.TenantID, *j.SnapshotID)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage of job %s: %w", j.ID, err)
	}
	if snap.StorageTargetID == nil {
		return nil, nil
	}
	t, err := GetStorageTarget(ctx, db, StorageScope{Any: true}, *snap.StorageTargetID)
	if err != nil {
		return nil, fmt.Errorf("storage of job %s: %w", j.ID, err)
	}
	return t, nil
}

// StorageCredential loads the credential of a storage target: a platform
// credential for a platform target, else one of the target's tenant.
func StorageCredential(ctx context.Context, db bun.IDB, t *StorageTarget) (*Credential, error) {
	if t.Platform() {
		return GetPlatformCredential(ctx, db, t.CredentialID)
	}
	return GetCredential(ctx, db, *t.TenantID, t.CredentialID)
}

// HasCapability reports whether an agent's stored capability list holds
// capability (a list that is not a JSON array holds none).
func HasCapability(raw []byte, capability string) bool {
	var caps []string
	return json.Unmarshal(raw, &caps) == nil && slices.Contains(caps, capability)
}

// excludeObjectStorage keeps out of a claim the jobs that need an s3
// storage target: those naming one (storage tests, copies to one), those
// on a snapshot kept in one, and backups whose source's effective storage
// is one (the source's own, else its tenant's default). q selects from
// jobs with bun's alias "job".
func excludeObjectStorage(q *bun.SelectQuery) *bun.SelectQuery {
	return q.Where("job.storage_target_id IS NULL").Where(`NOT EXISTS (SELECT 1 FROM snapshots AS xs WHERE xs.id = job.snapshot_id
		AND xs.storage_target_id IS NOT NULL)`).
		Where(`NOT (job.type = ? AND EXISTS (SELECT 1 FROM sources AS xsrc JOIN tenants AS xt ON xt.id = xsrc.tenant_id
		WHERE xsrc.id = job.source_id AND COALESCE(xsrc.storage_id, xt.default_storage_id) IS NOT NULL))`, JobTypeBackup)
}

// checkSnapshotStorage checks the storage target a backup's report names:
// one the job's tenant may use. It returns a problem that fails the job.
func checkSnapshotStorage(ctx context.Context, db bun.IDB, j *Job, s *Snapshot) (string, error) {
	if s.StorageTargetID == nil {
		return "", nil
	}
	_, err := GetStorageTarget(ctx, db, StorageScope{TenantID: j.TenantID}, *s.StorageTargetID)
	if isNotFound(err) {
		return fmt.Sprintf("the agent uploaded the snapshot to storage target %s, which tenant %s may not use",
			*s.StorageTargetID, j.TenantID), nil
	}
	if err != nil {
		return "", fmt.Errorf("check storage of snapshot: %w", err)
	}
	s.StorageBackend = sdk.StorageBackendS3
	return "", nil
}
