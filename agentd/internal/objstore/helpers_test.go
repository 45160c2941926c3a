package objstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/s3server"
)

const mib = 1 << 20

// testConfig is the Config of the server's bucket, path-style.
func testConfig(srv *s3server.Server) Config {
	return Config{
		Endpoint: srv.Endpoint, Bucket: srv.Bucket, Region: srv.Region, PathStyle: true,
		AccessKeyID: srv.AccessKey, SecretAccessKey: srv.SecretKey,
	}
}

func newTestStore(t testing.TB, cfg Config, tune Tuning) *Store {
	t.Helper()
	s, err := New(cfg, tune)
	require.NoError(t, err)
	return s
}

// smallParts: 5 MiB parts (the S3 minimum), 4 buffers, few retries.
func smallParts() Tuning { return Tuning{PartSize: 5 * mib, Buffers: 4, MaxRetries: 2} }

// randomStream is a deterministic pseudo-random byte source.
type randomStream struct{ r *rand.ChaCha8 }

func newRandom(seed byte) *randomStream {
	var s [32]byte
	s[0] = seed
	return &randomStream{r: rand.NewChaCha8(s)}
}

func (r *randomStream) Read(p []byte) (int, error) { return r.r.Read(p) }

// writeRandom writes n pseudo-random bytes to w in chunks of varying size
// and returns their hex sha256.
func writeRandom(t testing.TB, w io.Writer, seed byte, n int64) string {
	t.Helper()
	h := sha256.New()
	src := io.LimitReader(newRandom(seed), n)
	buf := make([]byte, 3*mib+17)
	sizes := rand.New(rand.NewPCG(uint64(seed), 1))
	for {
		chunk := buf[:1+sizes.IntN(len(buf)-1)]
		k, err := io.ReadFull(src, chunk)
		if k > 0 {
			h.Write(chunk[:k])
			_, werr := w.Write(chunk[:k])
			require.NoError(t, werr)
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return hex.EncodeToString(h.Sum(nil))
		}
		require.NoError(t, err)
	}
}

func sha256Of(t testing.TB, r io.Reader) (int64, string) {
	t.Helper()
	h := sha256.New()
	n, err := io.Copy(h, r)
	require.NoError(t, err)
	return n, hex.EncodeToString(h.Sum(nil))
}

// partBarrier is a transport that holds every part PUT until want of them
// are in flight together, then lets all through: a test that gets past it
// has proven that want parts were uploading at once.
type partBarrier struct {
	base    http.RoundTripper
	want    int
	mu      sync.Mutex
	waiting int
	open    chan struct{}
}

func newPartBarrier(t testing.TB, want int) *partBarrier {
	base, err := minio.DefaultTransport(false)
	require.NoError(t, err)
	return &partBarrier{base: base, want: want, open: make(chan struct{})}
}

func (b *partBarrier) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && strings.Contains(req.URL.RawQuery, "partNumber=") {
		b.mu.Lock()
		b.waiting++
		if b.waiting == b.want {
			close(b.open)
		}
		b.mu.Unlock()
		select {
		case <-b.open:
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
	return b.base.RoundTrip(req)
}

func listUploads(t testing.TB, s *Store, prefix string) []UploadInfo {
	t.Helper()
	ups, err := s.ListUploads(context.Background(), prefix)
	require.NoError(t, err)
	return ups
}
