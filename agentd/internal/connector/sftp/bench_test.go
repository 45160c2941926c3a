package sftp

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/sshd"
)

// BenchmarkPull pulls a local tree through the real sshd over loopback:
// 10,000 files of 20 KiB (≈200 MiB), and one 200 MiB file.
//
//	go test -run XXX -bench Pull -benchtime 3x ./agentd/internal/connector/sftp
func BenchmarkPull(b *testing.B) {
	s := sshd.Start(b, sshd.Options{})
	small := b.TempDir()
	for i := range 10000 {
		writeRandom(b, filepath.Join(small, fmt.Sprintf("d%02d/f%05d", i%100, i)), 20<<10)
	}
	large := b.TempDir()
	writeRandom(b, filepath.Join(large, "big.bin"), 200<<20)

	for _, inFlight := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("10k_files_20KiB/in_flight=%d", inFlight), func(b *testing.B) {
			benchPull(b, s, small, inFlight)
		})
	}
	b.Run("1_file_200MiB", func(b *testing.B) { benchPull(b, s, large, 16) })
}

func benchPull(b *testing.B, s *sshd.Server, root string, inFlight int) {
	c := keyConnector(b, s, root)
	c.opts.FilesInFlight = inFlight
	var files, total int64
	start := time.Now()
	for b.Loop() {
		sink := &discardSink{}
		require.NoError(b, c.Pull(b.Context(), sink))
		files += sink.files
		total += sink.bytes
	}
	secs := time.Since(start).Seconds()
	b.ReportMetric(float64(total)/secs/1e6, "MB/s")
	b.ReportMetric(float64(files)/secs, "files/s")
}

func writeRandom(b *testing.B, name string, size int) {
	b.Helper()
	data := make([]byte, size)
	_, _ = rand.Read(data)
	require.NoError(b, os.MkdirAll(filepath.Dir(name), 0o755))
	require.NoError(b, os.WriteFile(name, data, 0o644))
}
