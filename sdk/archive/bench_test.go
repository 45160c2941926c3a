package archive

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// benchData is 32 MiB, four times the zstd window so that repeats are not
// found: alternating 1 MiB blocks of random bytes and of log-like text.
func benchData() []byte {
	const size, block = 32 << 20, 1 << 20
	data := make([]byte, 0, size)
	for i := 0; len(data) < size; i++ {
		if i%2 == 0 {
			data = append(data, randomBytes(uint64(i), block)...)
			continue
		}
		var text bytes.Buffer
		for j := 0; text.Len() < block; j++ {
			fmt.Fprintf(&text, "%04d-%08d 2024-05-06T07:08:09Z INFO request path=/api/v1/items/%d status=200\n", i, j, j%977)
		}
		data = append(data, text.Bytes()[:block]...)
	}
	return data
}

// BenchmarkWriter writes 256 MiB of mixed data (1 MiB files) per iteration
// and reports throughput and the peak heap in use above the test data, which
// stays flat whatever the data size (zstd window 8 MiB, 1 MiB output buffer).
func BenchmarkWriter(b *testing.B) {
	const total, fileSize = 256 << 20, 1 << 20
	data := benchData()
	rcpt := identity(b).Recipient()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := sampleHeap()
	b.SetBytes(total)
	b.ReportAllocs()
	for b.Loop() {
		w, err := NewWriter(io.Discard, rcpt, Options{})
		if err != nil {
			b.Fatal(err)
		}
		for i := range total / fileSize {
			off := (i * (fileSize + 4096)) % (len(data) - fileSize)
			hdr := &tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("dir/file-%04d", i), Mode: 0o644,
				Size: fileSize, ModTime: time.Unix(1700000000, 0)}
			if err := w.Add(hdr, bytes.NewReader(data[off:off+fileSize])); err != nil {
				b.Fatal(err)
			}
		}
		res, err := w.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.StoredBytes)/float64(res.PlainBytes), "stored/plain")
	}
	peak := max(stop(), base.HeapInuse)
	b.ReportMetric(float64(peak-base.HeapInuse)/(1<<20), "peak-heap-MiB")
}

// sampleHeap polls the heap in use until the returned func is called, which
// returns the peak seen.
func sampleHeap() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); return peak.Load() }
}
