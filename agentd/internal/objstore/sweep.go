package objstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/xvault/xvault/agentd/internal/storage"
)

// UploadInfo is one unfinished multipart upload.
type UploadInfo struct {
	Key       string
	UploadID  string
	Initiated time.Time
}

// ListUploads returns the unfinished multipart uploads whose key starts
// with prefix.
func (s *Store) ListUploads(ctx context.Context, prefix string) ([]UploadInfo, error) {
	op := "list uploads " + prefix
	if err := s.checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	var out []UploadInfo
	keyMarker, idMarker := "", ""
	for {
		res, err := s.core.ListMultipartUploads(ctx, s.cfg.Bucket, prefix, keyMarker, idMarker, "", 1000)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		for _, u := range res.Uploads {
			out = append(out, UploadInfo{Key: u.Key, UploadID: u.UploadID, Initiated: u.Initiated})
		}
		if !res.IsTruncated {
			return out, nil
		}
		if res.NextKeyMarker == keyMarker && res.NextUploadIDMarker == idMarker {
			return nil, s.newError(op, ErrRejected, errors.New("listing is truncated but its markers do not advance"))
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
}

// AbortStale is the sweeper: it aborts the unfinished multipart uploads
// below prefix that were initiated before olderThan, and returns how many
// it aborted. An upload that vanished meanwhile (completed or aborted by
// its owner) is not an error. Give olderThan a margin longer than the
// longest backup (now minus a day, say) so that running uploads are left
// alone: S3 has no way to tell an abandoned upload from a slow one.
func (s *Store) AbortStale(ctx context.Context, prefix string, olderThan time.Time) (int, error) {
	ups, err := s.ListUploads(ctx, prefix)
	if err != nil {
		return 0, err
	}
	return s.abortEach(ctx, ups, func(u UploadInfo) bool { return u.Initiated.Before(olderThan) })
}

// AbortUploadsOf aborts every unfinished multipart upload of exactly key,
// however recent, and returns how many it aborted. It is for a key that
// one writer owns at a time, such as a backup's artifact: the hub's lease
// fencing guarantees that whoever started an earlier upload there lost
// the job, so that upload can only be left over.
func (s *Store) AbortUploadsOf(ctx context.Context, key string) (int, error) {
	if err := s.checkKey(key); err != nil {
		return 0, fmt.Errorf("abort uploads of %s: %w", key, err)
	}
	ups, err := s.ListUploads(ctx, key) // a prefix listing: keys that merely start with key are skipped below
	if err != nil {
		return 0, err
	}
	return s.abortEach(ctx, ups, func(u UploadInfo) bool { return u.Key == key })
}

// SourcePrefix returns {prefix}tenants/{t}/sources/{s}/, the prefix a
// source's snapshots (and so its backups' uploads) live below, for
// sweeping one source.
func (s *Store) SourcePrefix(ids storage.SnapshotIDs) (string, error) {
	p, err := s.SnapshotPrefix(ids)
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(p, "snapshots/"+ids.SnapshotID+"/"), nil
}

// abortEach aborts the uploads that pick selects and returns how many it
// aborted; one that is already gone is not counted and not an error. It
// stops at the first other error.
func (s *Store) abortEach(ctx context.Context, ups []UploadInfo, pick func(UploadInfo) bool) (int, error) {
	n := 0
	for _, u := range ups {
		if !pick(u) || s.checkKey(u.Key) != nil {
			continue // not selected, or not a key this package writes
		}
		err := s.abort(ctx, u.Key, u.UploadID)
		if err != nil && !errors.Is(err, ErrNoSuchUpload) {
			return n, err
		}
		if err == nil {
			n++
		}
	}
	return n, nil
}

func (s *Store) abort(ctx context.Context, key, uploadID string) error {
	if err := s.checkKey(key); err != nil {
		return fmt.Errorf("abort upload of %s: %w", key, err)
	}
	err := s.core.AbortMultipartUpload(ctx, s.cfg.Bucket, key, uploadID)
	return s.wrap("abort upload of "+key, err)
}
