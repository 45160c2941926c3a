package storage

import (
	"errors"
	"os"
	"sync"
)

// Write-behind. Without it the kernel keeps the whole artifact dirty in the
// page cache and Commit's fsync writes all of it at the end (1.41 s of an
// 11.1 s backup in docs/performance.md). With it, every writeBehindChunk
// bytes the writer asks the kernel to start writing the range just written
// and waits for the range before it, which the disk has had a whole chunk's
// time to write: dirty pages never pile up, the pipeline never waits on the
// range it has just written, and Commit's fsync (still there: the snapshot
// is recorded only after its bytes are on disk) finds at most two chunks to
// write. Linux only (sync_file_range); elsewhere Commit's fsync does it all.
const (
	writeBehindChunk = 16 << 20
	// writeBehindAsync runs the range syncs on a goroutine of the Pending
	// instead of inside Write (see docs/performance.md for the measurement).
	writeBehindAsync = true
	// writeBehindDropCache drops the pages of a range once they are on disk
	// (posix_fadvise DONTNEED), so that a backup does not evict the page
	// cache of everything else on the host with data it never reads again.
	writeBehindDropCache = true
)

// errRangeSyncUnsupported: the file or kernel does not do sync_file_range.
// Write-behind then turns itself off and Commit's fsync does the work; no
// range has been waited on, so no write error can have been consumed.
var errRangeSyncUnsupported = errors.New("sync_file_range unsupported")

type span struct{ off, n int64 }

// writeBehind tracks what a Pending wrote and flushes it chunk by chunk.
// wrote and stop are called by the Pending's goroutine; flush runs there
// (inline) or on the worker goroutine (async), which then owns prev and off.
type writeBehind struct {
	chunk int64
	// rangeSync starts writeback of [off, off+n) and, with wait, waits for
	// it; nil when the platform has none. dropCache drops a synced range
	// from the page cache; nil to keep it. Tests replace both.
	rangeSync func(off, n int64, wait bool) error
	dropCache func(off, n int64)

	written, issued int64 // bytes written; bytes handed to flush

	prev span // the range started last, not yet waited on
	off  bool // rangeSync said unsupported

	work chan span // async only; nil once stopped
	done chan struct{}

	mu  sync.Mutex
	err error // first range sync error: every later Write and Commit fail
}

func newWriteBehind(f *os.File) *writeBehind {
	w := &writeBehind{chunk: writeBehindChunk, rangeSync: rangeSyncFunc(f)}
	if writeBehindDropCache {
		w.dropCache = dropCacheFunc(f)
	}
	if writeBehindAsync && w.rangeSync != nil {
		w.work = make(chan span, 1) // with the one in flush: at most ~4 chunks dirty
		w.done = make(chan struct{})
		go w.run()
	}
	return w
}

// failed returns the first range sync error, if any.
func (w *writeBehind) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// wrote records n more bytes written and flushes a full chunk. It returns
// the first range sync error seen so far. It blocks only when the worker is
// a chunk behind (the disk is slower than the pipeline), or inline while
// waiting for the previous chunk.
func (w *writeBehind) wrote(n int64) error {
	w.written += n
	if w.rangeSync == nil || w.written-w.issued < w.chunk {
		return w.failed()
	}
	s := span{off: w.issued, n: w.written - w.issued}
	w.issued = w.written
	if w.work != nil {
		w.work <- s
	} else if err := w.flush(s); err != nil {
		w.setErr(err)
	}
	return w.failed()
}

// stop ends write-behind (the worker, if any) and returns the first range
// sync error. The caller fsyncs afterwards; calling stop again is harmless.
func (w *writeBehind) stop() error {
	if w.work != nil {
		close(w.work)
		<-w.done
		w.work = nil
	}
	return w.failed()
}

func (w *writeBehind) run() {
	defer close(w.done)
	for s := range w.work {
		if w.failed() != nil {
			continue // drain: the Pending fails anyway
		}
		if err := w.flush(s); err != nil {
			w.setErr(err)
		}
	}
}

// flush starts writeback of s, then waits for the range before it and drops
// that one from the page cache.
func (w *writeBehind) flush(s span) error {
	if w.off {
		return nil
	}
	err := w.rangeSync(s.off, s.n, false)
	if err == nil && w.prev.n > 0 {
		if err = w.rangeSync(w.prev.off, w.prev.n, true); err == nil && w.dropCache != nil {
			w.dropCache(w.prev.off, w.prev.n)
		}
	}
	if errors.Is(err, errRangeSyncUnsupported) {
		w.off = true
		return nil
	}
	w.prev = s
	return err
}

func (w *writeBehind) setErr(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}
