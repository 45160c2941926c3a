package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/xvault/xvault/agentd/internal/objstore"
	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/sdk/archive"
)

// pendingSnapshot is a snapshot being written: the artifact streams in
// through Write, a companion file (the incremental index) through
// WriteFile, and Commit makes it whole, or Abort leaves nothing behind.
type pendingSnapshot interface {
	io.Writer
	WriteFile(name string, write func(w io.Writer) error) (int64, string, error)
	// Commit writes manifest.json and meta.json beside the artifact and
	// returns where the snapshot is: its directory, or its key prefix.
	Commit(ctx context.Context, m archive.Manifest, meta archive.Meta) (string, error)
	// OpenIndex reads back the companion index after Commit.
	OpenIndex() (io.ReadCloser, error)
	Abort()
}

// beginSnapshot starts the job's snapshot where its storage keeps it. An S3
// backup first sweeps the uploads earlier attempts left (sweepUploads).
func (a *Agent) beginSnapshot(ctx context.Context, l *lease) (pendingSnapshot, error) {
	ids := snapshotIDs(l.job)
	obj, err := a.jobStore(ctx, l)
	if err != nil {
		return nil, err
	}
	if obj != nil {
		key, err := obj.SnapshotKey(ids, archive.ArtifactName)
		if err != nil {
			return nil, fmt.Errorf("snapshot key: %w", err)
		}
		a.sweepUploads(ctx, l, obj, ids, key, time.Now().Add(-a.staleUploadAge()))
	}
	return a.beginAt(ctx, obj, ids)
}

// beginAt starts writing a snapshot in obj, or on this agent's disk when
// obj is nil.
func (a *Agent) beginAt(ctx context.Context, obj *objstore.Store, ids storage.SnapshotIDs) (pendingSnapshot, error) {
	if obj == nil {
		p, err := a.store.Begin(ids)
		if err != nil {
			return nil, fmt.Errorf("prepare snapshot dir: %w", err)
		}
		return &localPending{p: p}, nil
	}
	key, err := obj.SnapshotKey(ids, archive.ArtifactName)
	if err != nil {
		return nil, fmt.Errorf("snapshot key: %w", err)
	}
	up, err := obj.Begin(ctx, key)
	if err != nil {
		return nil, s3Failure(fmt.Errorf("start upload to bucket %s: %w", obj.Bucket(), err))
	}
	return &s3Pending{obj: obj, ids: ids, up: up}, nil
}

// localPending is a snapshot on the agent's disk (local_fs).
type localPending struct {
	p   *storage.Pending
	dir string
}

func (lp *localPending) Write(b []byte) (int, error) { return lp.p.Write(b) }

func (lp *localPending) WriteFile(name string, write func(w io.Writer) error) (int64, string, error) {
	return lp.p.WriteFile(name, write)
}

func (lp *localPending) Commit(_ context.Context, m archive.Manifest, meta archive.Meta) (string, error) {
	dir, err := lp.p.Commit(m, meta)
	lp.dir = dir
	return dir, err
}

func (lp *localPending) OpenIndex() (io.ReadCloser, error) {
	return os.Open(filepath.Join(lp.dir, archive.IndexName))
}

func (lp *localPending) Abort() { _ = lp.p.Abort() }

// s3Pending is a snapshot streaming into a multipart upload: nothing is
// kept on the agent's disk. The index is held in memory until Commit.
type s3Pending struct {
	obj       *objstore.Store
	ids       storage.SnapshotIDs
	up        *objstore.Upload
	index     []byte
	completed bool // the artifact object exists: Abort deletes the prefix
	committed bool
}

func (sp *s3Pending) Write(b []byte) (int, error) { return sp.up.Write(b) }

func (sp *s3Pending) WriteFile(name string, write func(w io.Writer) error) (int64, string, error) {
	if name != archive.IndexName {
		return 0, "", fmt.Errorf("write %s of snapshot %s: not a companion file", name, sp.ids.SnapshotID)
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return 0, "", fmt.Errorf("write %s: %w", name, err)
	}
	sp.index = buf.Bytes()
	sum := sha256.Sum256(sp.index)
	return int64(len(sp.index)), hex.EncodeToString(sum[:]), nil
}

// Commit completes the upload (the store HEADs the object to confirm its
// size), checks the size against the artifact writer's, then puts the
// index, meta.json and, last, manifest.json.
func (sp *s3Pending) Commit(ctx context.Context, m archive.Manifest, meta archive.Meta) (string, error) {
	// The store skips its own sha256 (openTarget): the archive writer, or a
	// copy's reader, hashed these bytes, and the size is the HEAD's.
	size, _, err := sp.up.Complete(ctx)
	if err != nil {
		return "", s3Failure(fmt.Errorf("complete upload of snapshot %s: %w", sp.ids.SnapshotID, err))
	}
	sp.completed = true
	if size != m.StoredBytes {
		return "", fmt.Errorf("upload of snapshot %s: bucket holds %d bytes, the artifact was %d bytes",
			sp.ids.SnapshotID, size, m.StoredBytes)
	}
	m.TenantID, m.SourceID, m.SnapshotID = sp.ids.TenantID, sp.ids.SourceID, sp.ids.SnapshotID
	meta.TenantID, meta.SourceID, meta.SnapshotID = sp.ids.TenantID, sp.ids.SourceID, sp.ids.SnapshotID
	if m.FormatVersion == 0 {
		m.FormatVersion = archive.FormatVersion
	}
	if m.Warnings == nil {
		m.Warnings = []string{}
	}
	if sp.index != nil {
		if err := sp.put(ctx, archive.IndexName, sp.index); err != nil {
			return "", err
		}
	}
	for _, f := range []struct {
		name string
		v    any
	}{{archive.MetaName, meta}, {archive.ManifestName, m}} {
		b, err := json.MarshalIndent(f.v, "", "  ")
		if err != nil {
			return "", fmt.Errorf("encode %s: %w", f.name, err)
		}
		if err := sp.put(ctx, f.name, append(b, '\n')); err != nil {
			return "", err
		}
	}
	sp.committed = true
	return sp.obj.SnapshotPrefix(sp.ids)
}

func (sp *s3Pending) put(ctx context.Context, name string, data []byte) error {
	key, err := sp.obj.SnapshotKey(sp.ids, name)
	if err != nil {
		return err
	}
	return s3Failure(sp.obj.PutSmall(ctx, key, data))
}

func (sp *s3Pending) OpenIndex() (io.ReadCloser, error) {
	if sp.index == nil {
		return nil, os.ErrNotExist
	}
	return io.NopCloser(bytes.NewReader(sp.index)), nil
}

// Abort aborts the multipart upload, or, once the artifact was completed,
// deletes the snapshot's objects. It runs on its own deadline: the job's
// context may be what ended.
func (sp *s3Pending) Abort() {
	if sp.committed {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !sp.completed {
		_ = sp.up.Abort(ctx)
		return
	}
	_ = sp.obj.DeleteSnapshot(ctx, sp.ids)
}
