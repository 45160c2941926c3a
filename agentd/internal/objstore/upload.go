package objstore

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"runtime"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
)

// abortTimeout bounds the abort request sent after a failure or a cancel,
// when the caller's context may be gone.
const abortTimeout = 30 * time.Second

var errAborted = errors.New("upload aborted")

// Upload is one object being written through the multipart API: an
// io.Writer that fills part buffers and uploads each full one in the
// background, at most Tuning.Buffers buffers held at once (see memGate),
// while it computes the sha256 and byte count of everything written.
//
// Finish it with Complete or Abort; `defer u.Abort(ctx)` right after Begin
// is safe, Abort after Complete does nothing. A failed part, a failed
// Complete, or the end of the context given to Begin aborts the multipart
// upload by itself. The part buffers are not Go heap on Linux (see
// partBuffers): they are unmapped when the upload ends, or by a cleanup
// once an Upload dropped unfinished is garbage. Write and Complete are
// called from one goroutine; Abort may be called from any.
type Upload struct {
	s        *Store
	key      string
	uploadID string
	parent   context.Context
	ctx      context.Context // parts run under it; canceled on failure or abort
	cancel   context.CancelCauseFunc
	stop     func() bool // stops the abort-on-cancel hook
	gate     *memGate
	bufs     *partBuffers

	wmu   sync.Mutex // serialises Write, Complete and Abort
	state uploadState
	hash  hash.Hash // nil with Tuning.SkipSHA256
	size  int64
	buf   []byte // the part being filled, nil between parts
	fill  int
	next  int // number of the part being filled (1-based)

	done     chan struct{} // closed once completed or aborted
	doneOnce sync.Once

	wg    sync.WaitGroup
	mu    sync.Mutex // guards parts and err, written by part goroutines
	parts []minio.CompletePart
	err   error
}

type uploadState int

const (
	upOpen uploadState = iota
	upCompleted
	upAborted
)

// Begin starts a multipart upload of key. The upload lives as long as ctx:
// when ctx ends before Complete, the upload is aborted.
func (s *Store) Begin(ctx context.Context, key string) (*Upload, error) {
	op := "begin upload of " + key
	if err := s.checkKey(key); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	id, err := s.core.NewMultipartUpload(ctx, s.cfg.Bucket, key,
		minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return nil, s.wrap(op, err)
	}
	uctx, cancel := context.WithCancelCause(ctx)
	u := &Upload{
		s: s, key: key, uploadID: id, parent: ctx, ctx: uctx, cancel: cancel,
		gate: newMemGate(int64(s.tune.Buffers)*s.tune.PartSize, s.tune.Buffers),
		bufs: &partBuffers{},
		next: 1, done: make(chan struct{}),
	}
	if !s.tune.SkipSHA256 {
		u.hash = sha256.New()
	}
	u.stop = context.AfterFunc(ctx, func() { _ = u.Abort(context.Background()) })
	runtime.AddCleanup(u, (*partBuffers).abandon, u.bufs)
	return u, nil
}

// Key returns the object key.
func (u *Upload) Key() string { return u.key }

// UploadID returns the multipart upload id.
func (u *Upload) UploadID() string { return u.uploadID }

// Done is closed once the multipart upload is over: completed, or aborted
// (after the abort request returned), whoever ended it: Complete, Abort, a
// failure, or the end of Begin's context.
func (u *Upload) Done() <-chan struct{} { return u.done }

func (u *Upload) markDone() { u.doneOnce.Do(func() { close(u.done) }) }

// PeakBufferBytes returns the most part-buffer memory the upload held.
func (u *Upload) PeakBufferBytes() int64 { return u.gate.peak() }

// Write copies p into part buffers, sending each full part. It blocks while
// the buffers are all in use. After a failure it aborts the upload and
// returns the error, then and on every later call.
func (u *Upload) Write(p []byte) (int, error) {
	u.wmu.Lock()
	defer u.wmu.Unlock()
	if err := u.usable(); err != nil {
		return 0, err
	}
	written := 0
	for len(p) > 0 {
		if u.buf == nil {
			if err := u.takeBuffer(); err != nil {
				return written, u.failLocked(err)
			}
		}
		n := copy(u.buf[u.fill:], p)
		if u.hash != nil {
			u.hash.Write(p[:n])
		}
		u.fill += n
		u.size += int64(n)
		written += n
		p = p[n:]
		if u.fill == len(u.buf) {
			u.send()
		}
	}
	return written, nil
}

// usable reports why the upload takes no more writes, aborting it when a
// part failed. The caller holds wmu.
func (u *Upload) usable() error {
	switch u.state {
	case upCompleted:
		return fmt.Errorf("write %s: upload is completed", u.key)
	case upAborted:
		if err := u.failure(); err != nil {
			return err
		}
		return fmt.Errorf("write %s: %w", u.key, errAborted)
	}
	if err := u.failure(); err != nil {
		return u.failLocked(err)
	}
	return nil
}

// takeBuffer waits for room and takes the buffer of part u.next.
func (u *Upload) takeBuffer() error {
	size := partSize(u.s.tune.PartSize, u.next)
	if size == 0 {
		return u.s.newError("write "+u.key, ErrRejected,
			fmt.Errorf("object exceeds %d parts (%d bytes written)", maxParts, u.size))
	}
	if err := u.gate.acquire(u.ctx, size); err != nil {
		if f := u.failure(); f != nil {
			return f // a part failed and canceled u.ctx
		}
		return fmt.Errorf("upload %s: %w", u.key, err)
	}
	buf, err := u.bufs.get(size)
	if err != nil {
		u.gate.release(size)
		return fmt.Errorf("upload %s: %w", u.key, err)
	}
	u.buf, u.fill = buf, 0
	return nil
}

// send uploads the buffer being filled as part u.next, in the background.
func (u *Upload) send() {
	buf, n, part := u.buf, u.fill, u.next
	u.buf, u.fill = nil, 0
	u.next++
	u.wg.Add(1)
	go u.putPart(part, buf, n)
}

// putPart uploads buf[:n] as part, then gives the buffer back; revoking
// the body first makes sure no request still reads it (see partBody).
func (u *Upload) putPart(part int, buf []byte, n int) {
	body := newPartBody(buf[:n])
	defer u.wg.Done()
	defer func() {
		body.revoke()
		u.bufs.put(buf)
		u.gate.release(int64(len(buf)))
	}()
	op := fmt.Sprintf("upload part %d of %s", part, u.key)
	res, err := u.s.core.PutObjectPart(u.ctx, u.s.cfg.Bucket, u.key, u.uploadID, part,
		body, int64(n), minio.PutObjectPartOptions{})
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		if u.err == nil {
			u.err = u.s.wrap(op, err)
			u.cancel(u.err)
		}
		return
	}
	u.parts = append(u.parts, minio.CompletePart{PartNumber: part, ETag: res.ETag})
}

// failure returns the first error of a part upload, if any.
func (u *Upload) failure() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}
