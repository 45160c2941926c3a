package objstore

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/internal/testutil/s3server"
)

// TestMain fails the package when a test left part buffers mapped. Tests
// that drop an Upload unfinished rely on its cleanup, which runs after a
// GC: give it a few.
func TestMain(m *testing.M) {
	code := m.Run()
	for i := 0; i < 100 && liveMappings.Load() != 0; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := liveMappings.Load(); code == 0 && n != 0 {
		fmt.Fprintf(os.Stderr, "objstore tests: %d part buffers still mapped after all uploads ended\n", n)
		code = 1
	}
	os.Exit(code)
}

// TestPartBuffers: buffers are reused within a size class, a new class
// unmaps the free ones and older-size buffers given back, close unmaps the
// rest and what comes back later.
func TestPartBuffers(t *testing.T) {
	t.Parallel()
	p := &partBuffers{}
	var held [][]byte
	for range 3 {
		b, err := p.get(mib)
		require.NoError(t, err)
		require.Len(t, b, mib)
		held = append(held, b)
	}
	for _, b := range held {
		p.put(b)
	}
	require.Equal(t, 3, p.live(), "given back buffers stay mapped for reuse")
	a, err := p.get(mib)
	require.NoError(t, err)
	b, err := p.get(mib)
	require.NoError(t, err)
	require.Equal(t, 3, p.mappedEver(), "reused, not mapped again")
	a[0], b[mib-1] = 1, 2 // writable

	c, err := p.get(2 * mib)
	require.NoError(t, err)
	require.Len(t, c, 2*mib)
	require.Equal(t, 3, p.live(), "the free 1 MiB buffer is unmapped: a, b and c are left")
	p.put(a)
	require.Equal(t, 2, p.live(), "a buffer of the old size is unmapped when given back")
	p.put(c)
	require.Equal(t, 2, p.live(), "a buffer of the current size is kept")

	p.close()
	require.Equal(t, 1, p.live(), "close unmaps the free ones, not the one still held")
	p.put(b)
	require.Zero(t, p.live(), "given back after close: unmapped at once")
	p.close()
	_, err = p.get(mib)
	require.Error(t, err, "no buffers after close")
	require.Zero(t, p.live())
}

// TestPartBody: reads and seeks like a bytes.Reader until revoked, then
// fails every call.
func TestPartBody(t *testing.T) {
	t.Parallel()
	r := newPartBody([]byte("0123456789"))
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, "0123456789", string(got))
	pos, err := r.Seek(-3, io.SeekEnd)
	require.NoError(t, err)
	require.EqualValues(t, 7, pos)
	got, err = io.ReadAll(r)
	require.NoError(t, err)
	require.Equal(t, "789", string(got))
	_, err = r.Seek(-1, io.SeekStart)
	require.Error(t, err)
	_, err = r.Seek(2, io.SeekStart)
	require.NoError(t, err)

	r.revoke()
	_, err = r.Read(make([]byte, 4))
	require.ErrorIs(t, err, errPartBodyRevoked)
	_, err = r.Seek(0, io.SeekStart)
	require.ErrorIs(t, err, errPartBodyRevoked)
	_, isWriterTo := any(r).(io.WriterTo)
	_, isReaderAt := any(r).(io.ReaderAt)
	require.False(t, isWriterTo || isReaderAt, "the buffer must not leave the lock")
}

// TestUploadReusesBuffers: 21 parts of 5 MiB through 4 buffers complete
// with the right sha256 (returned and read back), and the upload mapped no
// more buffers than it may hold, and unmapped them all when it completed.
func TestUploadReusesBuffers(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	s := newTestStore(t, testConfig(srv), smallParts())
	ctx := context.Background()
	u, err := s.Begin(ctx, "reuse/backup.tar.zst.age")
	require.NoError(t, err)
	defer func() { _ = u.Abort(ctx) }()
	const n = 100*mib + 777
	want := writeRandom(t, u, 5, n)
	require.Positive(t, u.bufs.live())
	size, sum, err := u.Complete(ctx)
	require.NoError(t, err)
	require.EqualValues(t, n, size)
	require.Equal(t, want, sum)
	require.Zero(t, u.bufs.live(), "all buffers unmapped after Complete")
	require.LessOrEqual(t, u.bufs.mappedEver(), 4, "21 parts went through at most 4 buffers")

	r, err := s.Open(ctx, "reuse/backup.tar.zst.age")
	require.NoError(t, err)
	got, gotSum := sha256Of(t, r)
	require.NoError(t, r.Close())
	require.EqualValues(t, n, got)
	require.Equal(t, want, gotSum)
}

// TestUploadAbortReleasesBuffers: Abort, and the end of Begin's context,
// with three parts held in flight and a fourth being filled, unmap all
// four buffers.
func TestUploadAbortReleasesBuffers(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"abort", "cancel"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			srv := s3server.Start(t)
			tune := smallParts()
			tune.Transport = newPartBarrier(t, 100) // never opens: parts wait for their context
			s := newTestStore(t, testConfig(srv), tune)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			u, err := s.Begin(ctx, "abort/"+how)
			require.NoError(t, err)
			writeRandom(t, u, 6, 3*5*mib+mib)
			require.Equal(t, 4, u.bufs.live())

			if how == "abort" {
				require.NoError(t, u.Abort(context.Background()))
			} else {
				cancel()
			}
			<-u.Done()
			require.Zero(t, u.bufs.live())
			require.Empty(t, listUploads(t, s, ""))
		})
	}
}

// TestUploadServerKilledReleasesBuffers: the server dies with parts in
// flight; the failed upload has unmapped every buffer when the error is
// returned.
func TestUploadServerKilledReleasesBuffers(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	s := newTestStore(t, testConfig(srv), smallParts())
	ctx := context.Background()
	u, err := s.Begin(ctx, "killed/buffers")
	require.NoError(t, err)
	writeRandom(t, u, 7, 12*mib)
	srv.Kill()
	chunk := make([]byte, mib)
	for i := 0; err == nil && i < 200; i++ {
		_, err = u.Write(chunk)
	}
	if err == nil {
		_, _, err = u.Complete(ctx)
	}
	require.ErrorIs(t, err, ErrTransient)
	<-u.Done()
	require.Zero(t, u.bufs.live())
}

// lateBodyReader answers one part's PUT with AccessDenied without reading
// its body and keeps the body, as net/http's transport may keep writing a
// body after the response came back.
type lateBodyReader struct {
	base   http.RoundTripper
	part   string
	bodies chan io.ReadCloser
}

func (l *lateBodyReader) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPut || !strings.Contains(req.URL.RawQuery, l.part) {
		return l.base.RoundTrip(req)
	}
	l.bodies <- req.Body
	const denied = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`
	return &http.Response{
		StatusCode: http.StatusForbidden, Status: "403 Forbidden",
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/xml"}},
		Body:          io.NopCloser(strings.NewReader(denied)),
		ContentLength: int64(len(denied)), Request: req,
	}, nil
}

// TestUploadLateBodyRead: a body read after its part failed and the upload
// ended fails cleanly instead of touching the unmapped buffer (which
// would crash the test binary).
func TestUploadLateBodyRead(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	base, err := minio.DefaultTransport(false)
	require.NoError(t, err)
	late := &lateBodyReader{base: base, part: "partNumber=2&", bodies: make(chan io.ReadCloser, 8)}
	tune := smallParts()
	tune.Transport = late
	s := newTestStore(t, testConfig(srv), tune)
	ctx := context.Background()
	u, err := s.Begin(ctx, "late/body")
	require.NoError(t, err)
	chunk := make([]byte, mib)
	for i := 0; err == nil && i < 200; i++ {
		_, err = u.Write(chunk)
	}
	if err == nil {
		_, _, err = u.Complete(ctx)
	}
	require.ErrorIs(t, err, ErrAccessDenied)
	<-u.Done()
	require.Zero(t, u.bufs.live())
	require.Empty(t, listUploads(t, s, ""))

	require.NotEmpty(t, late.bodies)
	body := <-late.bodies
	_, err = body.Read(make([]byte, 64<<10))
	require.ErrorIs(t, err, errPartBodyRevoked)
}

// TestUploadDroppedUnmapped: an Upload dropped without Complete or Abort
// (a caller's bug) does not keep its buffers mapped for good: its cleanup
// unmaps them once it is garbage, the one being filled too.
func TestUploadDroppedUnmapped(t *testing.T) {
	t.Parallel()
	srv := s3server.Start(t)
	s := newTestStore(t, testConfig(srv), smallParts())
	u, err := s.Begin(context.Background(), "dropped/backup")
	require.NoError(t, err)
	writeRandom(t, u, 8, 6*mib) // one part sent, one buffer being filled
	bufs := u.bufs
	require.Equal(t, 2, bufs.live())
	u = nil // drop the only reference
	for i := 0; i < 500 && bufs.live() != 0; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	require.Zero(t, bufs.live(), "the cleanup unmapped every buffer")
}
