package objstore

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPartBuffersOutsideHeap: on Linux, 64 MiB of written part buffers do
// not grow the Go heap, and closing the set gives the memory back (RSS
// drops). Not parallel: parallel tests do not run meanwhile, so the heap
// and RSS move only with this test.
func TestPartBuffersOutsideHeap(t *testing.T) {
	const size, count = 16 * mib, 4
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := &partBuffers{}
	var held [][]byte
	for range count {
		b, err := p.get(size)
		require.NoError(t, err)
		for i := range b {
			b[i] = byte(i)
		}
		held = append(held, b)
	}
	runtime.ReadMemStats(&after)
	require.Less(t, int64(after.HeapAlloc)-int64(before.HeapAlloc), int64(size), "the buffers are not Go heap")
	rssHeld := rssBytes(t)

	for _, b := range held {
		p.put(b)
	}
	p.close()
	require.Zero(t, p.live())
	rssFreed := rssBytes(t)
	require.Greater(t, rssHeld-rssFreed, int64(count*size*3/4), "unmapping gives the memory back: RSS %d -> %d", rssHeld, rssFreed)
}

// rssBytes reads VmRSS from /proc/self/status.
func rssBytes(t *testing.T) int64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	require.NoError(t, err)
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
