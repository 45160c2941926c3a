//go:build xvbenchchild

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/agentd/internal/objstore"
	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/internal/bench/hotpath"
	"github.com/xvault/xvault/sdk/archive"
)

// s3Backup is backup with the artifact streamed into a multipart upload, as
// agentd/agent/pending.go's s3Pending does it: the store opened as
// agentd/agent/s3store.go opens it (default tuning, the egress dialer),
// Complete (which HEADs the object), the size and sha256 it returns checked
// against the artifact writer's, then meta.json and manifest.json.
func s3Backup(ctx context.Context, spec hotpath.Spec) (hotpath.Result, error) {
	var out hotpath.Result
	s3 := spec.S3
	store, err := objstore.New(objstore.Config{Endpoint: s3.Endpoint, Bucket: s3.Bucket, Region: s3.Region,
		PathStyle: true, AccessKeyID: s3.AccessKeyID, SecretAccessKey: s3.SecretAccessKey},
		objstore.Tuning{SkipSHA256: true, DialContext: egress.Dialer{Policy: egress.Policy{AllowLoopback: true}}.DialContext})
	if err != nil {
		return out, err
	}
	ids := storage.SnapshotIDs{TenantID: "bench", SourceID: "dataset", SnapshotID: s3.SnapshotID}
	key, err := store.SnapshotKey(ids, archive.ArtifactName)
	if err != nil {
		return out, err
	}
	up, err := store.Begin(ctx, key)
	if err != nil {
		return out, fmt.Errorf("start upload to bucket %s at %s: %w", s3.Bucket, s3.Endpoint, err)
	}
	defer up.Abort(context.Background()) //nolint:errcheck // no-op after Complete
	started := time.Now()
	res, err := pullArtifact(ctx, spec, up, &out)
	if err != nil {
		return out, err
	}
	pulled := time.Now()
	size, _, err := up.Complete(ctx) // SkipSHA256, as the agent: the archive writer hashed it
	if err != nil {
		return out, fmt.Errorf("complete upload of %s to bucket %s: %w", key, s3.Bucket, err)
	}
	completed := time.Now()
	if size != res.StoredBytes {
		return out, fmt.Errorf("upload of %s: bucket %s holds %d bytes, the artifact was %d bytes",
			key, s3.Bucket, size, res.StoredBytes)
	}
	if err := putSnapshotFiles(ctx, store, ids, spec.Recipient, res, started, pulled); err != nil {
		return out, err
	}
	prefix, err := store.SnapshotPrefix(ids)
	if err != nil {
		return out, err
	}
	out.PullSeconds = pulled.Sub(started).Seconds()
	out.CommitSeconds = time.Since(pulled).Seconds()
	out.ArtifactPath = key
	out.S3 = &hotpath.S3Result{Prefix: prefix, CompleteSeconds: completed.Sub(pulled).Seconds(),
		PeakBufferBytes: up.PeakBufferBytes()}
	return out, nil
}

// putSnapshotFiles writes meta.json, then manifest.json (last: its presence
// says the snapshot is whole), as s3Pending.Commit does.
func putSnapshotFiles(ctx context.Context, store *objstore.Store, ids storage.SnapshotIDs, recipient string,
	res archive.Result, started, pulled time.Time) error {
	m := archive.Manifest{AgeRecipient: recipient, StartedAt: started, FinishedAt: pulled,
		FormatVersion: archive.FormatVersion, Warnings: []string{}}
	m.SetResult(res)
	m.TenantID, m.SourceID, m.SnapshotID = ids.TenantID, ids.SourceID, ids.SnapshotID
	meta := archive.Meta{CreatedAt: pulled}
	meta.TenantID, meta.SourceID, meta.SnapshotID = ids.TenantID, ids.SourceID, ids.SnapshotID
	for _, f := range []struct {
		name string
		v    any
	}{{archive.MetaName, meta}, {archive.ManifestName, m}} {
		b, err := json.MarshalIndent(f.v, "", "  ")
		if err != nil {
			return fmt.Errorf("encode %s: %w", f.name, err)
		}
		key, err := store.SnapshotKey(ids, f.name)
		if err != nil {
			return err
		}
		if err := store.PutSmall(ctx, key, append(b, '\n')); err != nil {
			return fmt.Errorf("put %s in bucket %s: %w", key, store.Bucket(), err)
		}
	}
	return nil
}
