package objstore

import (
	"fmt"
	"math"

	"golang.org/x/sys/unix"
)

// mapBuffer maps size bytes of anonymous private memory, outside the Go
// heap: the GC neither counts nor scans it, and munmap gives it back to
// the kernel at once. Pages cost RSS only once written.
func mapBuffer(size int64) ([]byte, error) {
	if size <= 0 || size > math.MaxInt {
		return nil, fmt.Errorf("invalid buffer size %d", size)
	}
	return unix.Mmap(-1, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
}

// unmapBuffer unmaps a buffer of mapBuffer; b must not be used afterwards.
func unmapBuffer(b []byte) error { return unix.Munmap(b) }
