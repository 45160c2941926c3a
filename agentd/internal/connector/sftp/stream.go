package sftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"
)

// errGrew stops a large file's copy once its listed size was written.
var errGrew = errors.New("file grew while read")

// errSinkReturned unblocks the copy when the sink returned before reading the whole body.
var errSinkReturned = errors.New("sink stopped reading the body")

// stream emits a large file: its header (with the listed size) first, then
// its bytes read with concurrent requests (sftp.File.WriteTo), never buffered
// whole. A file that changed meanwhile is cut or zero-padded to the listed
// size, and a warning says so. A file that vanished before open is skipped.
func (p *puller) stream(ctx context.Context, it *item) error {
	f, err := p.c.Open(it.remote)
	if skippable(err) {
		if p.onVanished != nil {
			p.onVanished(it.remote)
		}
		p.sink.Warn(it.remote, fmt.Errorf("open: %w", err))
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", it.remote, err)
	}
	defer f.Close()

	pr, pw := io.Pipe()
	stop := context.AfterFunc(ctx, func() { pr.CloseWithError(context.Cause(ctx)) })
	defer stop()
	type result struct{ warn, err error }
	done := make(chan result, 1)
	go func() {
		warn, err := copyExact(pw, f, it.entry.Size)
		done <- result{warn, err}
	}()
	putErr := p.sink.Put(it.entry, pr)
	pr.CloseWithError(errSinkReturned)
	res := <-done
	switch {
	case putErr != nil:
		return fmt.Errorf("archive %s: %w", it.remote, putErr)
	case res.err != nil:
		return fmt.Errorf("read %s: %w", it.remote, res.err)
	case res.warn != nil:
		if p.onChanged != nil {
			p.onChanged(it.remote, it.entry)
		}
		p.sink.Warn(it.remote, res.warn)
	}
	return nil
}

// copyExact writes exactly size bytes of src to pw and closes pw: src cut
// if it is longer, padded with zeros if it is shorter (warn says which).
func copyExact(pw *io.PipeWriter, src io.WriterTo, size int64) (warn, err error) {
	cw := &capWriter{w: pw, left: size}
	_, err = src.WriteTo(cw)
	switch {
	case errors.Is(err, errGrew):
		warn = fmt.Errorf("file grew while read: archived its first %d bytes", size)
	case err != nil:
		pw.CloseWithError(err)
		return nil, err
	}
	if short := cw.left; short > 0 {
		if _, err := io.CopyN(cw, zeros{}, short); err != nil {
			pw.CloseWithError(err)
			return nil, err
		}
		warn = fmt.Errorf("file shrank while read: padded the last %d of %d bytes with zeros", short, size)
	}
	return warn, pw.Close()
}

// capWriter passes on at most left bytes and fails with errGrew past that.
type capWriter struct {
	w    io.Writer
	left int64
}

func (c *capWriter) Write(b []byte) (int, error) {
	var over bool
	if int64(len(b)) > c.left {
		b, over = b[:c.left], true
	}
	if len(b) == 0 { // an empty pipe write would wait for a reader that is done
		if over {
			return 0, errGrew
		}
		return 0, nil
	}
	n, err := c.w.Write(b)
	c.left -= int64(n)
	if err == nil && over {
		err = errGrew
	}
	return n, err
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) {
	clear(b)
	return len(b), nil
}

// budget caps the bytes of small files held in memory at once.
type budget struct {
	mu    sync.Mutex
	avail int64
	wake  chan struct{} // closed on release; nil when nobody waits
}

func newBudget(n int64) *budget { return &budget{avail: n} }

func (b *budget) acquire(ctx context.Context, n int64) error {
	for {
		b.mu.Lock()
		if b.avail >= n {
			b.avail -= n
			b.mu.Unlock()
			return nil
		}
		if b.wake == nil {
			b.wake = make(chan struct{})
		}
		wake := b.wake
		b.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.avail += n
	if b.wake != nil {
		close(b.wake)
		b.wake = nil
	}
}

// bufPool recycles small-file buffers in power-of-two size classes.
type bufPool struct {
	classes [64]sync.Pool
}

const minClass = 12 // 4 KiB

func classOf(n int) int { return max(minClass, bits.Len(uint(n-1))) }

// classSize is the capacity of the buffer bufPool.get(n) returns.
func classSize(n int) int { return 1 << classOf(n) }

func (p *bufPool) get(n int) []byte {
	c := classOf(n)
	if b, ok := p.classes[c].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<c)
}

func (p *bufPool) put(b []byte) {
	c := classOf(cap(b))
	if cap(b) != 1<<c {
		return
	}
	b = b[:cap(b)]
	p.classes[c].Put(&b)
}
