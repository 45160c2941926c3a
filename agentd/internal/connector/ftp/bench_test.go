package ftp

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/internal/testutil/vsftpd"
	"github.com/xvault/xvault/sdk/archive"
)

// discardSink reads every body and keeps nothing.
type discardSink struct{ files int }

func (*discardSink) Describe(archive.Descriptor) error { return nil }
func (s *discardSink) Put(e connector.Entry, body io.Reader) error {
	s.files++
	_, err := io.Copy(io.Discard, body)
	return err
}
func (*discardSink) PutObject(string, int64, time.Time, io.Reader) error { return nil }
func (*discardSink) Note(string, any)                                    {}
func (*discardSink) Warn(string, error)                                  {}
func (*discardSink) Progress(string)                                     {}

// BenchmarkPull measures a pull from vsftpd on loopback: one 256 MiB file
// (throughput) and 500 files of 4 KiB (per-file cost: MDTM, a data
// connection, RETR), over plain FTP and explicit TLS.
func BenchmarkPull(b *testing.B) {
	for _, mode := range []string{vsftpd.TLSNone, vsftpd.TLSExplicit} {
		s := vsftpd.Start(b, vsftpd.Options{TLS: mode})
		writeFile(b, s.Root, "big/big.bin", randomBytes(256<<20), 0o644)
		for i := range 500 {
			writeFile(b, s.Root, fmt.Sprintf("small/f%03d", i), randomBytes(4<<10), 0o644)
		}
		name := "plain"
		if mode != vsftpd.TLSNone {
			name = "tls-" + mode
		}
		b.Run(name+"/256MiB", func(b *testing.B) {
			b.SetBytes(256 << 20)
			for b.Loop() {
				if err := newConnector(b, s, false, "/big").Pull(b.Context(), &discardSink{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/500x4KiB", func(b *testing.B) {
			for b.Loop() {
				if err := newConnector(b, s, false, "/small").Pull(b.Context(), &discardSink{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(500*b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}
