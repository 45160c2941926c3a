package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/objstore"
	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// fetchSecret gets the job's source credential, released for this lease
// only and encrypted to this agent's key; nil when the source has none. It
// is kept in memory only (the lease holds the release for jobStore).
func (a *Agent) fetchSecret(ctx context.Context, l *lease) (*sdk.SecretPayload, error) {
	if !l.job.HasCredential {
		return nil, nil
	}
	rel, err := a.releaseSecrets(ctx, l)
	if err != nil {
		return nil, err
	}
	src := *rel
	src.Storage = nil
	return &src, nil
}

// releaseSecrets fetches the lease's credential release once.
func (a *Agent) releaseSecrets(ctx context.Context, l *lease) (*sdk.SecretPayload, error) {
	if l.secrets != nil {
		return l.secrets, nil
	}
	j := l.job
	rel, err := a.hub.Credentials(ctx, j.ID, sdk.LeaseRef{LeaseEpoch: j.LeaseEpoch})
	if err != nil {
		return nil, fmt.Errorf("fetch job credentials: %w", err)
	}
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(rel.Ciphertext)), a.st.identity)
	if err != nil {
		return nil, fmt.Errorf("decrypt job credentials (was this agent re-enrolled?): %w", err)
	}
	var s sdk.SecretPayload
	if err := json.NewDecoder(r).Decode(&s); err != nil {
		return nil, fmt.Errorf("decode job credentials: %w", err)
	}
	l.secrets = &s
	return &s, nil
}

// jobStore opens the job's storage target (ClaimedJob.Storage) with its
// released access key; nil for a local_fs job. It is opened once per lease.
func (a *Agent) jobStore(ctx context.Context, l *lease) (*objstore.Store, error) {
	st := l.job.Storage
	if st == nil || l.obj != nil {
		return l.obj, nil
	}
	rel, err := a.releaseSecrets(ctx, l)
	if err != nil {
		return nil, err
	}
	s, err := a.openTarget(st, rel.Storage)
	if err != nil {
		return nil, err
	}
	l.obj = s
	return s, nil
}

// s3Failure marks a permanent object-storage error as permanent for the hub
// (no retry: a wrong key or a missing bucket stays wrong).
func s3Failure(err error) error {
	if errors.Is(err, objstore.ErrPermanent) && !errors.Is(err, connector.ErrPermanent) {
		return fmt.Errorf("%w: %w", err, connector.ErrPermanent)
	}
	return err
}

// openStoredArtifact opens the artifact of a snapshot where the job's
// storage keeps it: the agent's disk or the bucket.
func (a *Agent) openStoredArtifact(ctx context.Context, l *lease, ids storage.SnapshotIDs) (io.ReadCloser, error) {
	id := ids.SnapshotID
	obj, err := a.jobStore(ctx, l)
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return a.openArtifact(ids)
	}
	key, err := obj.SnapshotKey(ids, archive.ArtifactName)
	if err != nil {
		return nil, fmt.Errorf("locate snapshot %s: %w: %w", id, err, connector.ErrPermanent)
	}
	rc, err := obj.Open(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, missingError{fmt.Errorf("artifact of snapshot %s is missing from bucket %s (%s): %w",
			id, obj.Bucket(), key, connector.ErrPermanent)}
	}
	if err != nil {
		return nil, s3Failure(fmt.Errorf("open artifact of snapshot %s: %w", id, err))
	}
	return rc, nil
}

// deleteStored removes a snapshot from where the job's storage keeps it.
func (a *Agent) deleteStored(ctx context.Context, l *lease, ids storage.SnapshotIDs) error {
	obj, err := a.jobStore(ctx, l)
	if err != nil {
		return err
	}
	if obj == nil {
		return a.store.Delete(ids)
	}
	return s3Failure(obj.DeleteSnapshot(ctx, ids))
}

// openStoredIndex opens the stored copy of a snapshot's incremental index.
func (a *Agent) openStoredIndex(ctx context.Context, l *lease, ids storage.SnapshotIDs) (io.ReadCloser, error) {
	obj, err := a.jobStore(ctx, l)
	if err != nil {
		return nil, err
	}
	return a.openAt(ctx, obj, ids, archive.IndexName)
}
