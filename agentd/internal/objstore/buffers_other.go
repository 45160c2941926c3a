//go:build !linux

package objstore

import (
	"fmt"
	"math"
)

// mapBuffer allocates a buffer on the Go heap: only Linux maps part
// buffers outside it (buffers_linux.go).
func mapBuffer(size int64) ([]byte, error) {
	if size <= 0 || size > math.MaxInt {
		return nil, fmt.Errorf("invalid buffer size %d", size)
	}
	return make([]byte, size), nil
}

// unmapBuffer leaves b to the GC.
func unmapBuffer([]byte) error { return nil }
