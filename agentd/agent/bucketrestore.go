package agent

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/download"
	"github.com/xvault/xvault/agentd/internal/objstore"
	"github.com/xvault/xvault/sdk"
)

// restoreToBucket is a download_via bucket restore: the checked snapshot
// streams through restore.Write into a multipart upload at the restore's
// key in the job's storage target (nothing on the agent's disk, no
// download listener needed), and the link is a presigned GET URL. The
// link's lifetime counts from the start of the upload (the expiry is part
// of the key, for cleanup) and is clamped to SigV4's 7 days; the report
// carries the URL's real expiry. Any failure aborts the upload or deletes
// the object: no link, no leftover.
func (a *Agent) restoreToBucket(ctx context.Context, l *lease, p *sdk.RestorePayload, src source) error {
	j := l.job
	obj, err := a.jobStore(ctx, l)
	if err != nil {
		return err
	}
	if obj == nil {
		return fmt.Errorf("restore %s is to be written to a bucket, but snapshot %s is not kept in one: %w",
			p.RestoreID, j.SnapshotID, connector.ErrPermanent)
	}
	a.cleanExpiredRestores(ctx, l, obj)
	life := min(time.Duration(p.ExpiresInSeconds)*time.Second, objstore.MaxPresignExpiry)
	fileName := download.FileName(p.RestoreID, string(p.Format))
	key, exp, err := obj.RestoreKey(j.TenantID, p.RestoreID, time.Now().Add(life), fileName)
	if err != nil {
		return fmt.Errorf("restore %s: %w: %w", p.RestoreID, err, connector.ErrPermanent)
	}
	up, err := obj.Begin(ctx, key)
	if err != nil {
		return s3Failure(fmt.Errorf("start upload of restore %s to bucket %s: %w", p.RestoreID, obj.Bucket(), err))
	}
	if err := a.writeRestore(ctx, l, p, src, up); err != nil {
		_ = up.Abort(ctx)
		return err
	}
	size, _, err := up.Complete(ctx) // HEADs the object: its size must be what was written
	if err != nil {
		return s3Failure(fmt.Errorf("complete upload of restore %s to bucket %s: %w", p.RestoreID, obj.Bucket(), err))
	}
	link, expires, err := presignRestore(ctx, obj, key, exp)
	if err != nil {
		deleteQuietly(obj, key)
		return fmt.Errorf("restore %s: %w", p.RestoreID, err)
	}
	l.restoreReport = &sdk.RestoreReport{SizeBytes: size, FileName: fileName, DownloadURL: link, ExpiresAt: expires}
	return nil
}

// presignRestore presigns a GET of key that stops working no later than
// exp, and returns the URL with its real expiry (X-Amz-Date plus
// X-Amz-Expires, as the server will check it).
func presignRestore(ctx context.Context, obj *objstore.Store, key string, exp time.Time) (string, time.Time, error) {
	life := time.Until(exp).Truncate(time.Second)
	if life < objstore.MinPresignExpiry {
		return "", time.Time{}, fmt.Errorf("writing it took longer than its link's lifetime (until %s); "+
			"hint: restore again with a longer --expires-in: %w", exp.UTC().Format(time.RFC3339), connector.ErrPermanent)
	}
	link, err := obj.Presign(ctx, key, life)
	if err != nil {
		return "", time.Time{}, s3Failure(fmt.Errorf("presign the link: %w", err))
	}
	u, err := url.Parse(link)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("presign the link: unparsable URL")
	}
	q := u.Query()
	signed, err1 := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	secs, err2 := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err1 != nil || err2 != nil || secs <= 0 {
		return "", time.Time{}, fmt.Errorf("presign the link: the URL has no SigV4 date and expiry")
	}
	return link, signed.Add(time.Duration(secs) * time.Second).UTC(), nil
}

// cleanExpiredRestores deletes the tenant's restore objects whose links
// expired (and restore uploads older than the stale-upload age), at every
// bucket restore job. It only tidies: a failure is a job warning.
func (a *Agent) cleanExpiredRestores(ctx context.Context, l *lease, obj *objstore.Store) {
	ctx, cancel := context.WithTimeout(ctx, sweepTimeout)
	defer cancel()
	now := time.Now()
	deleted, aborted, err := obj.DeleteExpiredRestores(ctx, l.job.TenantID, now, now.Add(-a.staleUploadAge()))
	if err != nil {
		l.warnText(fmt.Sprintf("delete expired restores of tenant %s in bucket %s (deleted %d): %v",
			l.job.TenantID, obj.Bucket(), deleted, err))
	}
	l.log.Info("deleted expired restores", "bucket", obj.Bucket(), "deleted", deleted, "aborted_uploads", aborted)
}

// removeBucketRestore deletes a bucket restore the hub did not accept.
func removeBucketRestore(l *lease, restoreID string) {
	if l.obj == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := l.obj.DeleteRestore(ctx, l.job.TenantID, restoreID); err != nil {
		l.log.Error("remove unreported restore from the bucket", "bucket", l.obj.Bucket(), "err", err)
	}
}

func deleteQuietly(obj *objstore.Store, key string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = obj.Delete(ctx, key)
}
