package objstore

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
)

// partBuffers are the part buffers of one upload. On Linux each buffer is
// an anonymous private mapping outside the Go heap (buffers_linux.go): as
// Go heap, the 64 MiB of buffers of a default upload let the heap grow to
// about twice its live size before the GC ran (docs/performance.md, "S3
// storage"), ~100 MiB of RSS for ~55 MB of buffers. A mapping costs its
// size and no more, and is gone from RSS when unmapped.
//
// A buffer given back goes on a free list and the next part reuses it, so
// an upload maps at most as many buffers as it ever held at once (memGate
// bounds that); the list keeps one size class, the current part size (it
// changes every 1000 parts): taking a buffer of a new size unmaps the
// free ones, and a buffer of an older size is unmapped when given back.
// So the memory mapped never exceeds memGate's peak. close unmaps the free
// list when the upload ends; a buffer given back after close is unmapped
// at once. An Upload dropped without Complete or Abort would keep its
// mappings for good (the GC does not free them), so Begin registers
// abandon as its cleanup.
//
// A buffer must not be given back while a request may still read it: see
// partBody.
type partBuffers struct {
	mu     sync.Mutex
	size   int64 // size class of free
	free   [][]byte
	mapped [][]byte // every buffer mapped now, held or free
	maps   int      // buffers ever mapped
	closed bool
}

// liveMappings counts the part buffers mapped by all uploads, for tests.
var liveMappings atomic.Int64

// get returns a buffer of size bytes, reused from the free list when one
// of that size is there.
func (p *partBuffers) get(size int64) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("part buffers already released")
	}
	if size != p.size {
		p.dropFreeLocked()
		p.size = size
	}
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		return b, nil
	}
	b, err := mapBuffer(size)
	if err != nil {
		return nil, fmt.Errorf("allocate a %d-byte part buffer: %w", size, err)
	}
	p.mapped = append(p.mapped, b)
	p.maps++
	liveMappings.Add(1)
	return b, nil
}

// put gives a buffer back: onto the free list, or unmapped when the upload
// has ended or the part size has moved on.
func (p *partBuffers) put(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || int64(len(b)) != p.size {
		p.unmapLocked(b)
		return
	}
	p.free = append(p.free, b)
}

// close unmaps the free buffers; buffers given back later are unmapped at
// once. It may be called more than once.
func (p *partBuffers) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.dropFreeLocked()
}

// abandon unmaps every buffer, held ones too. It is the cleanup of an
// Upload that became unreachable unfinished: then no part is in flight
// (its goroutine would keep the Upload alive) and nothing can use the
// buffer being filled.
func (p *partBuffers) abandon() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.free = nil
	for len(p.mapped) > 0 {
		p.unmapLocked(p.mapped[len(p.mapped)-1])
	}
}

// live returns how many buffers of the upload are mapped, held or free.
func (p *partBuffers) live() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.mapped)
}

// mappedEver returns how many buffers the upload has mapped in all.
func (p *partBuffers) mappedEver() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maps
}

func (p *partBuffers) dropFreeLocked() {
	for i, b := range p.free {
		p.unmapLocked(b)
		p.free[i] = nil
	}
	p.free = p.free[:0]
}

func (p *partBuffers) unmapLocked(b []byte) {
	// An unmap fails only for a slice that is not a whole mapping of ours,
	// a bug that must not go unnoticed: the memory would leak, or worse.
	i := slices.IndexFunc(p.mapped, func(m []byte) bool { return &m[0] == &b[0] })
	if i < 0 {
		panic("objstore: unmap of a part buffer that is not mapped")
	}
	if err := unmapBuffer(b); err != nil {
		panic(fmt.Sprintf("objstore: unmap part buffer: %v", err))
	}
	p.mapped = slices.Delete(p.mapped, i, i+1)
	liveMappings.Add(-1)
}

var errPartBodyRevoked = errors.New("part body read after its request ended")

// partBody is the request body of one part: a reader over the bytes of its
// buffer that can be revoked. The buffer cannot be reused or unmapped when
// PutObjectPart returns, because the request may not be done with it:
// net/http's transport writes a body from its own goroutine, which may
// still be reading after RoundTrip returned (the server answered before
// reading the whole part, or the request was canceled), and minio-go
// wraps the body in io.NopCloser, so no Close tells when the transport is
// done. revoke waits for a Read in progress and makes every later Read
// fail, so once it returns nothing reads the buffer any more.
//
// partBody implements io.Seeker because minio-go retries only a seekable
// body (it seeks to 0 before each attempt). It must not implement
// io.WriterTo or io.ReaderAt: both would hand the buffer itself to code
// that runs outside the lock.
type partBody struct {
	mu  sync.Mutex
	b   []byte // nil once revoked
	off int64
}

func newPartBody(b []byte) *partBody { return &partBody{b: b} }

func (r *partBody) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.b == nil {
		return 0, errPartBodyRevoked
	}
	if r.off >= int64(len(r.b)) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += int64(n)
	return n, nil
}

func (r *partBody) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.b == nil {
		return 0, errPartBodyRevoked
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = int64(len(r.b)) + offset
	default:
		return 0, fmt.Errorf("seek part body: invalid whence %d", whence)
	}
	if abs < 0 {
		return 0, fmt.Errorf("seek part body: negative position %d", abs)
	}
	r.off = abs
	return abs, nil
}

// revoke ends every use of the buffer; see partBody.
func (r *partBody) revoke() {
	r.mu.Lock()
	r.b = nil
	r.mu.Unlock()
}
