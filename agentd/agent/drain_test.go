package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

func TestStorageSpace(t *testing.T) {
	t.Parallel()
	free, total, err := storageSpace(t.TempDir())
	require.NoError(t, err)
	require.Positive(t, total)
	require.GreaterOrEqual(t, free, int64(0))
	require.LessOrEqual(t, free, total)
	_, _, err = storageSpace(filepath.Join(t.TempDir(), "missing"))
	require.ErrorContains(t, err, "statfs")
}

// TestDrainedAgentClaimsNothing: a heartbeat answered draining stops the
// claim loop claiming; one answered not draining starts it again. The
// heartbeat carries the storage figures.
func TestDrainedAgentClaimsNothing(t *testing.T) {
	t.Parallel()
	var draining atomic.Bool
	var claims atomic.Int32
	var mu sync.Mutex
	var beat sdk.HeartbeatRequest
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/agent/heartbeat", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		_ = json.NewDecoder(r.Body).Decode(&beat)
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(sdk.HeartbeatResponse{ServerTime: time.Now(), Draining: draining.Load()})
	})
	mux.HandleFunc("POST /api/v1/agent/jobs/claim", func(w http.ResponseWriter, r *http.Request) {
		claims.Add(1)
		time.Sleep(5 * time.Millisecond)
		_ = json.NewEncoder(w).Encode(sdk.ClaimResponse{})
	})
	hub := httptest.NewServer(mux)
	defer hub.Close()
	a := &Agent{cfg: Config{StorageDir: t.TempDir(), HeartbeatInterval: 10 * time.Millisecond, ClaimWait: time.Second,
		Concurrency: 1}, log: slog.New(slog.DiscardHandler), hub: sdk.New(hub.URL, "agent-token"),
		running: map[string]context.CancelFunc{}}

	loop := func() int32 {
		claims.Store(0)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		var jobs sync.WaitGroup
		a.claimLoop(ctx, ctx, make(chan struct{}, 1), &jobs)
		jobs.Wait()
		return claims.Load()
	}
	draining.Store(true)
	a.heartbeat(context.Background(), sdk.AgentOnline)
	require.Zero(t, loop(), "drained: no claims")
	mu.Lock()
	require.NotNil(t, beat.StorageFreeBytes)
	require.NotNil(t, beat.StorageTotalBytes)
	require.LessOrEqual(t, *beat.StorageFreeBytes, *beat.StorageTotalBytes)
	mu.Unlock()

	draining.Store(false)
	a.heartbeat(context.Background(), sdk.AgentOnline)
	require.Positive(t, loop(), "undrained: claims again")
}
