package objstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/xvault/xvault/agentd/internal/storage"
)

// maxSmallObject bounds PutSmall: manifests and metadata are a few KiB.
const maxSmallObject = 64 << 20

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
}

// PutSmall stores a small object (manifest.json, meta.json, the index) in
// one PutObject request, with its sha256 in the signature so the server
// checks the body.
func (s *Store) PutSmall(ctx context.Context, key string, data []byte) error {
	op := "put " + key
	if err := s.checkKey(key); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if len(data) > maxSmallObject {
		return fmt.Errorf("%s: %w: %d bytes is more than PutSmall takes (%d); use Begin", op, ErrInvalidKey, len(data), maxSmallObject)
	}
	sum := sha256.Sum256(data)
	_, err := s.core.PutObject(ctx, s.cfg.Bucket, key, bytes.NewReader(data), int64(len(data)), "",
		hex.EncodeToString(sum[:]), minio.PutObjectOptions{ContentType: "application/octet-stream"})
	return s.wrap(op, err)
}

// Open starts a streaming GET of key. A missing object is ErrNotFound, at
// once rather than on the first Read.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	op := "get " + key
	if err := s.checkKey(key); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	body, _, _, err := s.core.GetObject(ctx, s.cfg.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return body, nil
}

// Stat HEADs key.
func (s *Store) Stat(ctx context.Context, key string) (ObjectInfo, error) {
	op := "stat " + key
	if err := s.checkKey(key); err != nil {
		return ObjectInfo{}, fmt.Errorf("%s: %w", op, err)
	}
	oi, err := s.core.StatObject(ctx, s.cfg.Bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return ObjectInfo{}, s.wrap(op, err)
	}
	return ObjectInfo{Key: oi.Key, Size: oi.Size, ETag: oi.ETag, LastModified: oi.LastModified}, nil
}

// Delete removes keys one by one; a key that is already gone is not an
// error (S3 DELETE is idempotent).
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	for _, key := range keys {
		op := "delete " + key
		if err := s.checkKey(key); err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		if err := s.core.RemoveObject(ctx, s.cfg.Bucket, key, minio.RemoveObjectOptions{}); err != nil {
			return s.wrap(op, err)
		}
	}
	return nil
}

// List returns the objects below prefix (recursively), in key order.
func (s *Store) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	op := "list " + prefix
	if err := s.checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var out []ObjectInfo
	for oi := range s.core.ListObjectsIter(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if oi.Err != nil {
			return nil, s.wrap(op, oi.Err)
		}
		out = append(out, ObjectInfo{Key: oi.Key, Size: oi.Size, ETag: oi.ETag, LastModified: oi.LastModified})
	}
	return out, nil
}

// DeletePrefix removes every object below prefix and aborts every
// unfinished multipart upload there. It returns how many objects it removed.
func (s *Store) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	objs, err := s.List(ctx, prefix)
	if err != nil {
		return 0, err
	}
	for i, o := range objs {
		if err := s.Delete(ctx, o.Key); err != nil {
			return i, err
		}
	}
	if _, err := s.AbortStale(ctx, prefix, time.Now().Add(time.Hour)); err != nil {
		return len(objs), err
	}
	return len(objs), nil
}

// DeleteSnapshot removes one snapshot's objects and unfinished uploads.
func (s *Store) DeleteSnapshot(ctx context.Context, ids storage.SnapshotIDs) error {
	p, err := s.SnapshotPrefix(ids)
	if err != nil {
		return fmt.Errorf("delete snapshot %s: %w", ids.SnapshotID, err)
	}
	_, err = s.DeletePrefix(ctx, p)
	return err
}

// Presign limits, those of SigV4 presigned URLs.
const (
	MinPresignExpiry = time.Second
	MaxPresignExpiry = 7 * 24 * time.Hour
)

// Presign returns a GET URL for key valid for expiry (1 s to 7 days). The
// URL carries a signature, not the secret; anyone holding it can download
// the object until it expires. It makes a request only when Region is
// empty (to learn the bucket's region).
func (s *Store) Presign(ctx context.Context, key string, expiry time.Duration) (string, error) {
	op := "presign " + key
	if err := s.checkKey(key); err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	if expiry < MinPresignExpiry || expiry > MaxPresignExpiry {
		return "", fmt.Errorf("%s: %w: expiry %s must be between %s and %s", op, ErrInvalidConfig, expiry, MinPresignExpiry, MaxPresignExpiry)
	}
	u, err := s.core.PresignedGetObject(ctx, s.cfg.Bucket, key, expiry, nil)
	if err != nil {
		return "", s.wrap(op, err)
	}
	return u.String(), nil
}

// probe writes, reads back and deletes a small random object below the
// prefix.
func (s *Store) probe(ctx context.Context) error {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:]) // never fails (crypto/rand)
	key := s.prefix + ".xvault-probe-" + hex.EncodeToString(nonce[:])
	want := []byte("xvault storage probe " + hex.EncodeToString(nonce[:]) + "\n")
	if err := s.PutSmall(ctx, key, want); err != nil {
		return fmt.Errorf("check write: %w", err)
	}
	defer func() { _ = s.Delete(context.WithoutCancel(ctx), key) }()
	r, err := s.Open(ctx, key)
	if err != nil {
		return fmt.Errorf("check read: %w", err)
	}
	got, err := io.ReadAll(io.LimitReader(r, int64(len(want))+1))
	_ = r.Close()
	if err != nil {
		return s.wrap("check read "+key, err)
	}
	if !bytes.Equal(got, want) {
		return s.newError("check read "+key, ErrRejected, fmt.Errorf("read back %d bytes that differ from the %d written", len(got), len(want)))
	}
	if err := s.Delete(ctx, key); err != nil {
		return fmt.Errorf("check delete: %w", err)
	}
	return nil
}
