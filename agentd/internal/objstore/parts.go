package objstore

import (
	"context"
	"sync"
)

// S3 multipart limits.
const (
	maxParts    = 10000
	maxPartSize = 5 << 30
	// partsPerStep is how many parts share one size before it doubles.
	partsPerStep = 1000
)

// partSize returns the size of part n (1-based) of an upload whose first
// parts are base bytes: the size doubles every 1000 parts, capped at the
// S3 maximum of 5 GiB. The artifact's size is not known in advance (it is
// compressed and encrypted on the fly), so the parts grow with it. With
// the default base of 16 MiB:
//
//	parts        part size   object size reached at the last part
//	1-1000       16 MiB      15.6 GiB
//	1001-2000    32 MiB      46.9 GiB
//	2001-3000    64 MiB      109 GiB
//	3001-4000    128 MiB     234 GiB
//	4001-5000    256 MiB     484 GiB
//	5001-6000    512 MiB     984 GiB
//	6001-7000    1 GiB       1.9 TiB
//	7001-8000    2 GiB       3.9 TiB
//	8001-9000    4 GiB       7.8 TiB   (5 TB is reached near part 8200)
//	9001-10000   5 GiB       12.7 TiB
//
// It returns 0 past part 10,000.
func partSize(base int64, n int) int64 {
	if n < 1 || n > maxParts {
		return 0
	}
	step := (n - 1) / partsPerStep
	size := base
	for range step {
		size *= 2
		if size >= maxPartSize {
			return maxPartSize
		}
	}
	return size
}

// memGate bounds the part buffers one upload holds: a new buffer is handed
// out while the bytes held stay within budget (Buffers × PartSize), and
// always when fewer than two are held, so that filling one part overlaps
// uploading the previous one. Peak buffer memory of an upload is therefore
// max(Buffers × PartSize, 2 × current part size): 64 MiB with the defaults
// up to 15.6 GiB of artifact, 64 MiB (2 × 32 MiB) up to 46.9 GiB, then
// 2 × the part size of the table above. The same bound holds for the
// memory the upload maps, free buffers included (see partBuffers).
type memGate struct {
	mu        sync.Mutex
	cond      *sync.Cond
	budget    int64
	minCount  int
	used      int64
	count     int
	peakBytes int64
}

func newMemGate(budget int64, buffers int) *memGate {
	g := &memGate{budget: budget, minCount: min(2, buffers)}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// acquire waits until a buffer of size may be held, or ctx ends.
func (g *memGate) acquire(ctx context.Context, size int64) error {
	stop := context.AfterFunc(ctx, func() {
		g.mu.Lock()
		g.cond.Broadcast()
		g.mu.Unlock()
	})
	defer stop()
	g.mu.Lock()
	defer g.mu.Unlock()
	for g.count >= g.minCount && g.used+size > g.budget {
		if err := context.Cause(ctx); err != nil {
			return err
		}
		g.cond.Wait()
	}
	g.used += size
	g.count++
	g.peakBytes = max(g.peakBytes, g.used)
	return nil
}

func (g *memGate) release(size int64) {
	g.mu.Lock()
	g.used -= size
	g.count--
	g.cond.Broadcast()
	g.mu.Unlock()
}

func (g *memGate) peak() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.peakBytes
}
