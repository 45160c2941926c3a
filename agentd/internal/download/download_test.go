package download

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

const tokA = "xvd_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

func publish(t *testing.T, a *Area, id, token string, body []byte, expires time.Time) {
	t.Helper()
	p, err := a.Begin(id, FileName(id, "zip"))
	require.NoError(t, err)
	_, err = p.Write(body)
	require.NoError(t, err)
	_, err = p.Publish(Meta{TenantID: "t1", TokenSHA256: TokenHash(token), ExpiresAt: expires})
	require.NoError(t, err)
}

type reports struct {
	mu  sync.Mutex
	got []sdk.DownloadReport
}

func (r *reports) add(_ string, rep sdk.DownloadReport) {
	r.mu.Lock()
	r.got = append(r.got, rep)
	r.mu.Unlock()
}

func TestServeDownloads(t *testing.T) {
	a, err := Open(t.TempDir())
	require.NoError(t, err)
	body := bytes.Repeat([]byte("0123456789"), 1000)
	now := time.Now()
	publish(t, a, "r1", tokA, body, now.Add(time.Hour))
	tokB := "xvd_" + strings.Repeat("B", 43)
	publish(t, a, "r2", tokB, []byte("old"), now.Add(-time.Minute))
	rep := &reports{}
	srv := &Server{Area: a, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now, Report: rep.add}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	get := func(path, rng string) (*http.Response, []byte) {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		if rng != "" {
			req.Header.Set("Range", rng)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	resp, b := get("/download/"+tokA, "")
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, body, b)
	require.Equal(t, "10000", resp.Header.Get("Content-Length"))
	require.Equal(t, `attachment; filename=restore-r1.zip`, resp.Header.Get("Content-Disposition"))
	resp, b = get("/download/"+tokA, "bytes=9990-")
	require.Equal(t, 206, resp.StatusCode)
	require.Equal(t, body[9990:], b)
	resp, _ = get("/download/"+tokB, "")
	require.Equal(t, http.StatusGone, resp.StatusCode)
	resp, _ = get("/download/xvd_"+strings.Repeat("C", 43), "")
	require.Equal(t, 404, resp.StatusCode)
	resp, _ = get("/download/r1", "")
	require.Equal(t, 404, resp.StatusCode, "a restore id is not a token")
	require.Eventually(t, func() bool { rep.mu.Lock(); defer rep.mu.Unlock(); return len(rep.got) == 2 },
		5*time.Second, 10*time.Millisecond)
	require.EqualValues(t, 10, rep.got[0].Bytes+rep.got[1].Bytes-10000)

	// No raw token on disk.
	require.NoError(t, filepath.Walk(a.Root(), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			require.NotContains(t, string(b), tokA)
		}
		return err
	}))

	// Cleanup: the expired file goes, its meta stays (410), then goes too.
	removed, err := a.Cleanup(now)
	require.NoError(t, err)
	require.Len(t, removed, 1)
	resp, _ = get("/download/"+tokB, "")
	require.Equal(t, http.StatusGone, resp.StatusCode)
	_, err = a.Cleanup(now.Add(TombstoneFor + time.Hour))
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(a.Root(), "r2"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestAbortAndUnfinishedLeaveNothing(t *testing.T) {
	a, err := Open(t.TempDir())
	require.NoError(t, err)
	p, err := a.Begin("r1", FileName("r1", "zip"))
	require.NoError(t, err)
	_, _ = p.Write([]byte("partial"))
	removed, err := a.Cleanup(time.Now())
	require.NoError(t, err)
	require.Empty(t, removed, "a restore being written is left alone")
	p.Abort()
	_, err = os.Stat(filepath.Join(a.Root(), "r1"))
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = a.Begin("../x", "f.zip")
	require.Error(t, err)
	require.NoError(t, os.Mkdir(filepath.Join(a.Root(), "leftover"), 0o700))
	removed, err = a.Cleanup(time.Now())
	require.NoError(t, err)
	require.Len(t, removed, 1)
}
