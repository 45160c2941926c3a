package objstore

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/s3server"
)

// benchSize is what one benchmark iteration writes: 1 GiB.
const benchSize = 1 << 30

// BenchmarkUpload1GiB writes 1 GiB of pseudo-random data in 1 MiB writes
// (what archive.Writer does) to versitygw on loopback through Upload with
// the default tuning, and to a local file (write, fsync) for comparison.
// It reports MB/s, the peak part-buffer memory of the upload and the
// process's peak RSS (VmHWM, reset before each run).
//
//	go test -run '^$' -bench Upload1GiB -benchtime 1x ./agentd/internal/objstore/
func BenchmarkUpload1GiB(b *testing.B) {
	block := make([]byte, 16*mib)
	_, _ = newRandom(9).Read(block)
	b.Run("s3", func(b *testing.B) {
		srv := s3server.Start(b)
		s := newTestStore(b, testConfig(srv), Tuning{})
		ctx := context.Background()
		resetPeakRSS(b)
		b.SetBytes(benchSize)
		b.ResetTimer()
		var peakBuf int64
		for i := range b.N {
			u, err := s.Begin(ctx, "bench/"+strconv.Itoa(i))
			require.NoError(b, err)
			writeBlocks(b, u, block)
			size, _, err := u.Complete(ctx)
			require.NoError(b, err)
			require.EqualValues(b, benchSize, size)
			peakBuf = max(peakBuf, u.PeakBufferBytes())
		}
		b.StopTimer()
		b.ReportMetric(float64(peakBuf)/mib, "peak-buffers-MiB")
		b.ReportMetric(peakRSSMiB(b), "peak-RSS-MiB")
	})
	b.Run("local", func(b *testing.B) {
		dir := b.TempDir()
		resetPeakRSS(b)
		b.SetBytes(benchSize)
		b.ResetTimer()
		for i := range b.N {
			f, err := os.Create(filepath.Join(dir, "bench-"+strconv.Itoa(i)))
			require.NoError(b, err)
			writeBlocks(b, f, block)
			require.NoError(b, f.Sync())
			require.NoError(b, f.Close())
		}
		b.StopTimer()
		b.ReportMetric(peakRSSMiB(b), "peak-RSS-MiB")
	})
}

type writer interface{ Write([]byte) (int, error) }

func writeBlocks(b *testing.B, w writer, block []byte) {
	for off := 0; off < benchSize; off += mib {
		piece := block[off%len(block):][:mib]
		_, err := w.Write(piece)
		require.NoError(b, err)
	}
}

// resetPeakRSS resets VmHWM (Linux: write 5 to /proc/self/clear_refs).
func resetPeakRSS(b *testing.B) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset peak RSS: %v", err)
	}
}

// peakRSSMiB reads VmHWM from /proc/self/status.
func peakRSSMiB(b *testing.B) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Logf("no /proc/self/status: %v", err)
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}
