package objstore

import (
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/minio/minio-go/v7"
)

// Complete sends the last part, waits for every part, completes the
// multipart upload, then HEADs the object and checks that its size is the
// number of bytes written. It returns that size and the hex sha256 of the
// bytes written ("" with Tuning.SkipSHA256). On error the upload is aborted (and an object that may
// have been completed is deleted): nothing is left under the key.
func (u *Upload) Complete(ctx context.Context) (size int64, sha256Hex string, err error) {
	u.wmu.Lock()
	defer u.wmu.Unlock()
	if err := u.usable(); err != nil {
		return 0, "", err
	}
	sum := ""
	if u.hash != nil {
		sum = hex.EncodeToString(u.hash.Sum(nil))
	}
	if u.size == 0 {
		return u.completeEmpty(ctx, sum)
	}
	if u.buf != nil {
		u.send()
	}
	u.wg.Wait()
	u.bufs.close() // every part is done: all buffers are free
	if err := u.failure(); err != nil {
		return 0, "", u.failLocked(err)
	}
	parts := u.sortedParts()
	if len(parts) != u.next-1 {
		return 0, "", u.failLocked(fmt.Errorf("complete %s: %d parts uploaded, %d expected", u.key, len(parts), u.next-1))
	}
	_, err = u.s.core.CompleteMultipartUpload(ctx, u.s.cfg.Bucket, u.key, u.uploadID, parts, minio.PutObjectOptions{})
	if err != nil {
		err = u.failLocked(u.s.wrap(fmt.Sprintf("complete upload of %s (%d parts)", u.key, len(parts)), err))
		u.deleteQuietly(ctx) // the server may have completed it before the error
		return 0, "", err
	}
	u.finish()
	if err := u.confirm(ctx); err != nil {
		return 0, "", err
	}
	return u.size, sum, nil
}

// completeEmpty stores an empty object with PutObject (S3 wants at least
// one part for a multipart upload) and drops the multipart upload.
func (u *Upload) completeEmpty(ctx context.Context, sum string) (int64, string, error) {
	if err := u.abortLocked(ctx); err != nil {
		return 0, "", err
	}
	u.state = upCompleted
	if err := u.s.PutSmall(ctx, u.key, nil); err != nil {
		return 0, "", err
	}
	if err := u.confirm(ctx); err != nil {
		return 0, "", err
	}
	return 0, sum, nil
}

// confirm HEADs the completed object; a size other than the bytes written
// deletes it and fails with ErrSizeMismatch.
func (u *Upload) confirm(ctx context.Context) error {
	info, err := u.s.Stat(ctx, u.key)
	if err != nil {
		return fmt.Errorf("confirm upload: %w", err)
	}
	if info.Size != u.size {
		u.deleteQuietly(ctx)
		return u.s.newError("confirm upload of "+u.key, ErrSizeMismatch,
			fmt.Errorf("HEAD says %d bytes, %d were written", info.Size, u.size))
	}
	return nil
}

func (u *Upload) deleteQuietly(ctx context.Context) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_ = u.s.Delete(dctx, u.key)
}

func (u *Upload) sortedParts() []minio.CompletePart {
	u.mu.Lock()
	defer u.mu.Unlock()
	parts := slices.Clone(u.parts)
	slices.SortFunc(parts, func(a, b minio.CompletePart) int { return cmp.Compare(a.PartNumber, b.PartNumber) })
	return parts
}

// finish marks a completed upload and releases its context.
func (u *Upload) finish() {
	u.state = upCompleted
	u.stop()
	u.cancel(nil)
	u.markDone()
}

// Abort aborts the multipart upload: parts in flight are canceled, the
// server drops the parts it has. It does nothing after Complete or a
// previous Abort. The abort request runs for up to 30 s even when ctx is
// already done (a canceled backup still cleans up).
func (u *Upload) Abort(ctx context.Context) error {
	u.cancel(errAborted) // wake a Write blocked on buffers before taking wmu
	u.wmu.Lock()
	defer u.wmu.Unlock()
	return u.abortLocked(ctx)
}

// failLocked records err as the upload's failure and aborts the upload.
func (u *Upload) failLocked(err error) error {
	u.mu.Lock()
	if u.err == nil {
		u.err = err
	}
	u.mu.Unlock()
	if u.state != upOpen {
		return err
	}
	if aerr := u.abortLocked(u.parent); aerr != nil {
		return fmt.Errorf("%w (aborting the upload failed too, the sweeper will remove it: %v)", err, aerr)
	}
	return err
}

func (u *Upload) abortLocked(ctx context.Context) error {
	if u.state != upOpen {
		return nil
	}
	u.state = upAborted
	u.stop()
	u.cancel(errAborted)
	u.wg.Wait()
	if u.buf != nil {
		u.bufs.put(u.buf)
		u.gate.release(int64(len(u.buf)))
		u.buf = nil
	}
	u.bufs.close()
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	err := u.abortUntilGone(actx)
	u.markDone()
	return err
}

// abortUntilGone aborts the multipart upload and checks that it is gone.
// A part request the client gave up on may still be running on the server
// and bring the upload back after the abort (S3's documentation says to
// abort again then); it tries up to three times.
func (u *Upload) abortUntilGone(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := u.s.abort(ctx, u.key, u.uploadID)
		if err != nil && !errors.Is(err, ErrNoSuchUpload) {
			return err
		}
		ups, lerr := u.s.ListUploads(ctx, u.key)
		if lerr != nil {
			return nil // aborted; the check is only a second look
		}
		if !slices.ContainsFunc(ups, func(i UploadInfo) bool { return i.UploadID == u.uploadID }) {
			return nil
		}
		if attempt == 3 {
			return u.s.newError("abort upload of "+u.key, ErrTransient,
				errors.New("still listed after 3 aborts (a part request still running on the server); the sweeper removes it"))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Duration(attempt) * 250 * time.Millisecond):
		}
	}
}
