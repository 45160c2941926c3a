package hub

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/keys"
	"github.com/xvault/xvault/sdk"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startDev runs the hub in dev mode on dir and returns its URL, the admin
// token it reported, what it printed, and a stop function.
func startDev(t *testing.T, dir string) (url, token string, out *strings.Builder, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan [2]string, 1)
	done := make(chan error, 1)
	out = &strings.Builder{}
	cfg := Config{Dev: true, DataDir: dir, Listen: "127.0.0.1:0", Log: quiet, Stdout: out,
		OnReady: func(ctx context.Context, hubURL, adminToken string) error {
			ready <- [2]string{hubURL, adminToken}
			return nil
		}}
	go func() { done <- Run(ctx, cfg) }()
	select {
	case r := <-ready:
		url, token = r[0], r[1]
	case err := <-done:
		cancel()
		t.Fatalf("hub stopped before it was ready: %v", err)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("hub not ready after 20s")
	}
	return url, token, out, func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Fatal("hub did not shut down")
		}
	}
}

func getStatus(t *testing.T, url, token string) sdk.Status {
	t.Helper()
	req, err := http.NewRequest("GET", url+"/api/v1/status", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var st sdk.Status
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	return st
}

func TestDevModeKeepsItsDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	url, token, out, stop := startDev(t, dir)
	st := getStatus(t, url, token)
	require.Equal(t, sdk.TokenPlatformAdmin, st.Caller.Kind)
	require.Equal(t, "sqlite", st.Database)
	require.Contains(t, out.String(), "export XV_HUB_URL="+url+"\n")
	require.Contains(t, out.String(), "export XV_TOKEN="+token+"\n")
	for _, f := range []string{"admin-token", "kek"} {
		fi, err := os.Stat(filepath.Join(dir, f))
		require.NoError(t, err)
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), f)
	}
	saved, err := os.ReadFile(filepath.Join(dir, "admin-token"))
	require.NoError(t, err)
	require.Equal(t, token, strings.TrimSpace(string(saved)))
	stop()

	url2, token2, out2, stop2 := startDev(t, dir)
	defer stop2()
	require.Equal(t, token, token2, "a restart keeps the admin token")
	require.Contains(t, out2.String(), "export XV_TOKEN="+token+"\n")
	require.Equal(t, st.Caller.TokenID, getStatus(t, url2, token).Caller.TokenID)
}

func TestServeRefusesWithoutKEKOrSchema(t *testing.T) {
	ctx := context.Background()
	dbURL := "sqlite://" + filepath.Join(t.TempDir(), "hub.db")
	err := Run(ctx, Config{DatabaseURL: dbURL, Listen: "127.0.0.1:0", Log: quiet})
	require.ErrorIs(t, err, ErrNoKEK)

	_, err = LoadKeys("", "")
	require.ErrorIs(t, err, ErrNoKEK)
	_, err = LoadKeys("bm90IGEga2V5", "")
	require.ErrorContains(t, err, "decodes to")
	require.NotContains(t, err.Error(), "bm90IGEga2V5", "errors never echo key material")
	ring, err := LoadKeys(" "+b64Key(1)+","+b64Key(2), "")
	require.NoError(t, err)
	require.Len(t, ring.IDs(), 2)

	err = Run(ctx, Config{DatabaseURL: dbURL, Keys: ring, Listen: "127.0.0.1:0", Log: quiet})
	require.ErrorContains(t, err, "hubd migrate up")
}

func b64Key(fill byte) string {
	k := make([]byte, keys.KEKSize)
	for i := range k {
		k[i] = fill
	}
	return encodeStd(k)
}

func encodeStd(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestBeforeShutdownRunsWhileTheAPIAnswers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var hubURL, token string
	answered := make(chan int, 1)
	done := make(chan error, 1)
	cfg := Config{Dev: true, DataDir: t.TempDir(), Listen: "127.0.0.1:0", Log: quiet, Stdout: io.Discard,
		OnReady: func(_ context.Context, u, tok string) error { hubURL, token = u, tok; cancel(); return nil },
		BeforeShutdown: func(context.Context) {
			req, _ := http.NewRequest("GET", hubURL+"/api/v1/status", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answered <- 0
				return
			}
			resp.Body.Close()
			answered <- resp.StatusCode
		}}
	go func() { done <- Run(ctx, cfg) }()
	require.NoError(t, <-done)
	require.Equal(t, http.StatusOK, <-answered)
}
