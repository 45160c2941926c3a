package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/xvault/xvault/agentd/internal/objstore"
	"github.com/xvault/xvault/agentd/internal/storage"
)

// DefaultS3StaleUploadAge is how old an unfinished multipart upload below a
// source's prefix must be before a backup of that source aborts it. It must
// outlast the longest backup or copy job: S3 cannot tell an abandoned upload
// from a slow one.
const DefaultS3StaleUploadAge = 24 * time.Hour

// sweepTimeout bounds the sweep, so that a slow listing delays the backup
// by no more than this.
const sweepTimeout = time.Minute

// staleUploadAge is Config.S3StaleUploadAge, or the default.
func (a *Agent) staleUploadAge() time.Duration {
	if a.cfg.S3StaleUploadAge > 0 {
		return a.cfg.S3StaleUploadAge
	}
	return DefaultS3StaleUploadAge
}

// sweepUploads runs before a backup starts its multipart upload at key, the
// artifact of snapshot ids. It aborts:
//   - every unfinished upload at exactly key: an earlier attempt of this
//     job, by an agent that was killed or lost its lease (the hub fences
//     it, so nobody is still writing there);
//   - every unfinished upload below the source's prefix initiated before
//     staleBefore: left by attempts that were never retried (the job failed
//     for good, or a copy job's agent died).
//
// A sweep that fails is a job warning, never a failure: the backup itself
// does not need the leftovers gone. What it aborted is logged and, when it
// aborted anything, a warning too.
func (a *Agent) sweepUploads(ctx context.Context, l *lease, obj *objstore.Store, ids storage.SnapshotIDs,
	key string, staleBefore time.Time) {
	ctx, cancel := context.WithTimeout(ctx, sweepTimeout)
	defer cancel()
	own, err := obj.AbortUploadsOf(ctx, key)
	if err != nil {
		l.warn(key, fmt.Errorf("abort the uploads an earlier attempt left in bucket %s (aborted %d): %w",
			obj.Bucket(), own, err))
	} else if own > 0 {
		l.warnText(fmt.Sprintf("aborted %d unfinished multipart upload(s) an earlier attempt of this job left at %s in bucket %s",
			own, key, obj.Bucket()))
	}
	prefix, err := obj.SourcePrefix(ids)
	if err != nil {
		l.warn(key, fmt.Errorf("sweep stale uploads: %w", err))
		return
	}
	stale, err := obj.AbortStale(ctx, prefix, staleBefore)
	if err != nil {
		l.warn(prefix, fmt.Errorf("abort stale uploads in bucket %s (aborted %d): %w", obj.Bucket(), stale, err))
	} else if stale > 0 {
		l.warnText(fmt.Sprintf("aborted %d stale multipart upload(s) below %s in bucket %s, initiated before %s",
			stale, prefix, obj.Bucket(), staleBefore.UTC().Format(time.RFC3339)))
	}
	l.log.Info("swept unfinished multipart uploads", "bucket", obj.Bucket(), "key", key,
		"aborted_own", own, "aborted_stale", stale, "stale_before", staleBefore.UTC())
}
