package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/agentd/internal/objstore"
	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// copySnapshot runs a copy job (docs/storage.md "Moving snapshots"): each
// artifact of the chain, with its manifest.json, meta.json and index,
// from where the job's storage keeps it (ClaimedJob.Storage, else this
// agent's disk) to the destination (ClaimedJob.CopyTo, else this agent's
// disk). The artifact's sha256 is checked while it streams and again by
// reading the written copy back. Any failure removes what this job wrote
// at the destination; the source copies are deleted only once the hub
// recorded the move (afterComplete).
func (a *Agent) copySnapshot(ctx context.Context, l *lease) error {
	j := l.job
	var p sdk.CopyPayload
	if len(j.Payload) == 0 || json.Unmarshal(j.Payload, &p) != nil || len(p.Links) == 0 || !p.Move {
		return fmt.Errorf("copy job without the snapshots to move: %w", connector.ErrPermanent)
	}
	if j.Storage == nil && j.CopyTo == nil {
		return fmt.Errorf("copy from this agent's disk to itself: %w", connector.ErrPermanent)
	}
	src, err := a.jobStore(ctx, l)
	if err != nil {
		return err
	}
	dst, err := a.copyStore(ctx, l)
	if err != nil {
		return err
	}
	if err := checkNotAliased(ctx, src, dst, snapshotIDs(j)); err != nil {
		return err
	}
	var written []storage.SnapshotIDs
	undo := func() {
		for _, ids := range written {
			if err := a.deleteAt(context.WithoutCancel(ctx), dst, ids); err != nil {
				l.log.Error("remove partial copy", "snapshot_id", ids.SnapshotID, "err", err)
			}
		}
	}
	rep := &sdk.CopyReport{Links: make([]sdk.CopiedLink, 0, len(p.Links))}
	for _, link := range p.Links {
		ids := snapshotIDs(j)
		ids.SnapshotID = link.SnapshotID
		written = append(written, ids)
		loc, err := a.copyLink(ctx, l, src, dst, ids, link)
		if err != nil {
			undo()
			return err
		}
		rep.Links = append(rep.Links, sdk.CopiedLink{CopyLink: link, Location: loc})
		l.filesDone.Add(1)
	}
	l.copyReport, l.undo = rep, undo
	l.afterComplete = func(ctx context.Context) {
		for _, ids := range written {
			if err := a.deleteAt(ctx, src, ids); err != nil {
				l.log.Error("delete the moved snapshot's old copy (it is left behind)", "snapshot_id", ids.SnapshotID, "err", err)
				continue
			}
			l.log.Info("deleted the moved snapshot's old copy", "snapshot_id", ids.SnapshotID)
		}
	}
	return nil
}

// copyStore opens the copy job's destination target (nil: this agent's
// disk) with its released access key, once per lease.
func (a *Agent) copyStore(ctx context.Context, l *lease) (*objstore.Store, error) {
	st := l.job.CopyTo
	if st == nil || l.copyObj != nil {
		return l.copyObj, nil
	}
	rel, err := a.releaseSecrets(ctx, l)
	if err != nil {
		return nil, err
	}
	if rel.CopyTo == nil {
		return nil, fmt.Errorf("the hub released no access key for storage target %s: %w", st.TargetID, connector.ErrPermanent)
	}
	s, err := a.openTarget(st, rel.CopyTo)
	if err != nil {
		return nil, err
	}
	l.copyObj = s
	return s, nil
}

// copyLink copies one snapshot from src to dst (nil = this agent's disk)
// and returns its location there. An earlier copy of it at dst (an
// interrupted attempt, or a move whose old copy was not deleted) is
// replaced: the hub records the snapshot elsewhere.
func (a *Agent) copyLink(ctx context.Context, l *lease, src, dst *objstore.Store, ids storage.SnapshotIDs,
	link sdk.CopyLink) (string, error) {
	id := ids.SnapshotID
	m, meta, index, err := a.readCompanions(ctx, l, src, ids)
	if err != nil {
		return "", err
	}
	if m.SHA256 != link.SHA256 || m.StoredBytes != link.SizeBytes {
		return "", fmt.Errorf("snapshot %s: its manifest.json says %d bytes with sha256 %s, the hub recorded %d bytes "+
			"with sha256 %s: %w", id, m.StoredBytes, m.SHA256, link.SizeBytes, link.SHA256, connector.ErrPermanent)
	}
	if err := a.deleteAt(ctx, dst, ids); err != nil {
		return "", fmt.Errorf("clear an earlier copy of snapshot %s at the destination: %w", id, err)
	}
	pending, err := a.beginAt(ctx, dst, ids)
	if err != nil {
		return "", err
	}
	ok := false
	defer func() {
		if !ok {
			pending.Abort()
		}
	}()
	in, err := a.openAt(ctx, src, ids, archive.ArtifactName)
	if err != nil {
		return "", err
	}
	sum := sha256.New()
	n, err := io.Copy(io.MultiWriter(pending, sum, &countingWriter{w: io.Discard, n: &l.bytesWritten}),
		&countingReader{r: &ctxReader{ctx: ctx, r: in}, n: &l.bytesRead})
	_ = in.Close()
	if err != nil {
		return "", fmt.Errorf("copy artifact of snapshot %s: %w", id, s3Failure(err))
	}
	if got := hexSum(sum); got != link.SHA256 || n != link.SizeBytes {
		return "", fmt.Errorf("artifact of snapshot %s read %d bytes with sha256 %s where the hub recorded %d bytes "+
			"with sha256 %s (the source copy is damaged; it is left as it is): %w", id, n, got, link.SizeBytes,
			link.SHA256, connector.ErrPermanent)
	}
	if index != nil {
		if _, _, err := pending.WriteFile(archive.IndexName, func(w io.Writer) error {
			_, err := w.Write(index)
			return err
		}); err != nil {
			return "", fmt.Errorf("copy index of snapshot %s: %w", id, err)
		}
	}
	loc, err := pending.Commit(ctx, m, meta)
	if err != nil {
		return "", fmt.Errorf("commit copy of snapshot %s: %w", id, err)
	}
	ok = true
	if err := a.checkCopy(ctx, dst, ids, link); err != nil {
		return "", err
	}
	return loc, nil
}

// checkCopy reads the written artifact back and checks size and sha256.
func (a *Agent) checkCopy(ctx context.Context, dst *objstore.Store, ids storage.SnapshotIDs, link sdk.CopyLink) error {
	in, err := a.openAt(ctx, dst, ids, archive.ArtifactName)
	if err != nil {
		return fmt.Errorf("read back the copy of snapshot %s: %w", ids.SnapshotID, err)
	}
	defer func() { _ = in.Close() }()
	sum := sha256.New()
	n, err := io.Copy(sum, &ctxReader{ctx: ctx, r: in})
	if err != nil {
		return fmt.Errorf("read back the copy of snapshot %s: %w", ids.SnapshotID, s3Failure(err))
	}
	if got := hexSum(sum); got != link.SHA256 || n != link.SizeBytes {
		return fmt.Errorf("the copy of snapshot %s reads back as %d bytes with sha256 %s, not %d bytes with sha256 %s",
			ids.SnapshotID, n, got, link.SizeBytes, link.SHA256)
	}
	return nil
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// readCompanions reads manifest.json and meta.json of a snapshot, and its
// index when it has one.
func (a *Agent) readCompanions(ctx context.Context, l *lease, src *objstore.Store, ids storage.SnapshotIDs) (
	archive.Manifest, archive.Meta, []byte, error) {
	var m archive.Manifest
	var meta archive.Meta
	for _, f := range []struct {
		name string
		v    any
	}{{archive.ManifestName, &m}, {archive.MetaName, &meta}} {
		b, err := a.readSmall(ctx, src, ids, f.name)
		if err != nil {
			return m, meta, nil, err
		}
		if err := json.Unmarshal(b, f.v); err != nil {
			return m, meta, nil, fmt.Errorf("snapshot %s: %s is not valid JSON: %v: %w", ids.SnapshotID, f.name, err, connector.ErrPermanent)
		}
	}
	index, err := a.readSmall(ctx, src, ids, archive.IndexName)
	if errors.Is(err, os.ErrNotExist) {
		index, err = nil, nil
	}
	return m, meta, index, err
}

// maxCompanionBytes bounds what readSmall holds in memory: an index of a
// million entries is well below it.
const maxCompanionBytes = 256 << 20

// readSmall reads one companion file of a snapshot; a missing one matches
// os.ErrNotExist.
func (a *Agent) readSmall(ctx context.Context, obj *objstore.Store, ids storage.SnapshotIDs, name string) ([]byte, error) {
	rc, err := a.openAt(ctx, obj, ids, name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(io.LimitReader(rc, maxCompanionBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("read %s of snapshot %s: %w", name, ids.SnapshotID, s3Failure(err))
	case len(b) > maxCompanionBytes:
		return nil, fmt.Errorf("%s of snapshot %s is larger than %d bytes: %w", name, ids.SnapshotID, maxCompanionBytes,
			connector.ErrPermanent)
	}
	return b, nil
}

// openAt opens one file of a snapshot in obj, or on this agent's disk when
// obj is nil. A missing file matches os.ErrNotExist.
func (a *Agent) openAt(ctx context.Context, obj *objstore.Store, ids storage.SnapshotIDs, name string) (io.ReadCloser, error) {
	if obj == nil {
		dir, err := a.store.Dir(ids)
		if err != nil {
			return nil, fmt.Errorf("locate snapshot %s: %w: %w", ids.SnapshotID, err, connector.ErrPermanent)
		}
		return os.Open(filepath.Join(dir, name))
	}
	key, err := obj.SnapshotKey(ids, name)
	if err != nil {
		return nil, fmt.Errorf("locate snapshot %s: %w: %w", ids.SnapshotID, err, connector.ErrPermanent)
	}
	rc, err := obj.Open(ctx, key)
	if errors.Is(err, objstore.ErrNotFound) {
		return nil, fmt.Errorf("%s of snapshot %s is missing from bucket %s: %w", name, ids.SnapshotID, obj.Bucket(), os.ErrNotExist)
	}
	return rc, s3Failure(err)
}

// deleteAt removes a snapshot from obj, or from this agent's disk.
func (a *Agent) deleteAt(ctx context.Context, obj *objstore.Store, ids storage.SnapshotIDs) error {
	if obj == nil {
		return a.store.Delete(ids)
	}
	return s3Failure(obj.DeleteSnapshot(ctx, ids))
}

// openTarget opens a storage target with its access key, dialling through
// the agent's egress policy.
func (a *Agent) openTarget(st *sdk.StorageLease, key *sdk.SecretPayload) (*objstore.Store, error) {
	if st.Type != sdk.StorageS3 {
		return nil, fmt.Errorf("storage target %s is of type %q, which this agent does not support: %w",
			st.TargetID, st.Type, connector.ErrPermanent)
	}
	if key == nil || key.AccessKeyID == "" {
		return nil, fmt.Errorf("the hub released no access key for storage target %s: %w", st.TargetID, connector.ErrPermanent)
	}
	s, err := objstore.New(objstore.Config{Endpoint: st.Endpoint, Bucket: st.Bucket, Region: st.Region,
		Prefix: st.Prefix, PathStyle: st.PathStyle, AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey},
		objstore.Tuning{SkipSHA256: true, DialContext: egress.Dialer{Policy: egress.Policy{AllowLoopback: a.cfg.AllowLoopback,
			AllowPrivate: a.cfg.AllowPrivate}}.DialContext})
	if err != nil {
		return nil, s3Failure(fmt.Errorf("storage target %s: %w", st.TargetID, err))
	}
	return s, nil
}

// checkNotAliased refuses a copy between two targets that are the same
// place under different names (one bucket and prefix, the endpoint spelled
// two ways): writing the copy would overwrite the source, and deleting the
// "old" copy would delete the only one. A probe object written through dst
// must not be readable through src.
func checkNotAliased(ctx context.Context, src, dst *objstore.Store, ids storage.SnapshotIDs) error {
	if src == nil || dst == nil {
		return nil // an agent's disk and a bucket
	}
	prefix, err := dst.SnapshotPrefix(ids)
	if err != nil {
		return fmt.Errorf("locate snapshot %s: %w: %w", ids.SnapshotID, err, connector.ErrPermanent)
	}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	key := prefix + ".xvault-copy-probe-" + hex.EncodeToString(nonce[:])
	if err := dst.PutSmall(ctx, key, []byte("xvault copy probe\n")); err != nil {
		return s3Failure(fmt.Errorf("write a probe to the destination bucket %s: %w", dst.Bucket(), err))
	}
	defer func() { _ = dst.Delete(context.WithoutCancel(ctx), key) }()
	srcKey := src.Prefix() + strings.TrimPrefix(key, dst.Prefix())
	rc, err := src.Open(ctx, srcKey)
	switch {
	case err == nil:
		_ = rc.Close()
		return fmt.Errorf("the destination target is the source target under another name (bucket %s at %s, prefix %q): "+
			"a copy would overwrite the snapshot and the move would delete it: %w", dst.Bucket(), dst.Endpoint(),
			dst.Prefix(), connector.ErrPermanent)
	case errors.Is(err, objstore.ErrNotFound):
		return nil
	}
	return s3Failure(fmt.Errorf("probe the source bucket %s: %w", src.Bucket(), err))
}
