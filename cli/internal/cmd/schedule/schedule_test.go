package schedule_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/cli/internal/cmd/root"
	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

// hub answers every schedule route with sch and records the bodies it got.
type hub struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
}

func newHub(t *testing.T, sch sdk.Schedule) *hub {
	h := &hub{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.bodies = append(h.bodies, r.Method+" "+r.URL.Path+" "+strings.TrimSpace(string(b)))
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		var out any = sch
		if r.Method == http.MethodGet && r.URL.Path == "/api/v1/schedules" {
			out = sdk.Page[sdk.Schedule]{Items: []sdk.Schedule{sch}}
		}
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hub) sent() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.bodies...)
}

func xv(t *testing.T, h *hub, args ...string) (int, string, string) {
	t.Helper()
	env := map[string]string{"XV_HUB_URL": h.URL, "XV_TOKEN": "tok", "XDG_CONFIG_HOME": t.TempDir()}
	var out, errOut bytes.Buffer
	f := &cmdutil.Factory{IO: &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Getenv: func(k string) string { return env[k] }, Now: time.Now, Version: "test"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := root.Run(ctx, f, append([]string{"xv"}, args...))
	return code, out.String(), errOut.String()
}

var drillSchedule = sdk.Schedule{ID: "sch_1", TenantID: "t", SourceID: "src_1", IntervalMinutes: 60, Timezone: "UTC",
	Enabled: true, Verify: sdk.VerifyDrillSample, VerifyEvery: "7d",
	NextVerifyAt: ptr(time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)), CreatedAt: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}

func ptr[T any](v T) *T { return &v }

func TestScheduleVerifyFlags(t *testing.T) {
	t.Parallel()
	h := newHub(t, drillSchedule)
	code, out, errOut := xv(t, h, "schedule", "create", "--source", "src_1", "--every", "1h", "--verify", "sample", "--verify-every", "7d")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "sample every 7d")
	require.Contains(t, out, "Next verify")

	code, _, errOut = xv(t, h, "schedule", "update", "sch_1", "--verify", "off")
	require.Equal(t, 0, code, errOut)
	code, _, errOut = xv(t, h, "schedule", "update", "sch_1", "--verify-every", "1d12h")
	require.Equal(t, 0, code, errOut)
	code, _, errOut = xv(t, h, "schedule", "update", "sch_1", "--verify", "latest", "--verify-every", "2w")
	require.Equal(t, 0, code, errOut)

	sent := h.sent()
	require.Len(t, sent, 4)
	require.Equal(t, `POST /api/v1/schedules {"source_id":"src_1","interval_minutes":60,"enabled":true,"verify":"sample","verify_every":"7d"}`, sent[0])
	require.Equal(t, `PUT /api/v1/schedules/sch_1 {"verify":""}`, sent[1], "off turns drills off")
	require.Equal(t, `PUT /api/v1/schedules/sch_1 {"verify_every":"1d12h"}`, sent[2])
	require.Equal(t, `PUT /api/v1/schedules/sch_1 {"verify":"latest","verify_every":"2w"}`, sent[3])

	code, out, errOut = xv(t, h, "schedule", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "VERIFY")
	require.Contains(t, out, "NEXT VERIFY")
	require.Contains(t, out, "sample every 7d")

	code, out, errOut = xv(t, h, "schedule", "show", "sch_1", "-o", "json")
	require.Equal(t, 0, code, errOut)
	var got sdk.Schedule
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Equal(t, "7d", got.VerifyEvery)
}

func TestScheduleVerifyFlagsUsage(t *testing.T) {
	t.Parallel()
	h := newHub(t, drillSchedule)
	for _, args := range [][]string{
		{"schedule", "create", "--source", "src_1", "--every", "1h", "--verify", "latest"},
		{"schedule", "create", "--source", "src_1", "--every", "1h", "--verify-every", "7d"},
		{"schedule", "create", "--source", "src_1", "--every", "1h", "--verify", "off", "--verify-every", "7d"},
	} {
		code, _, errOut := xv(t, h, args...)
		require.Equal(t, 2, code, "%v: %s", args, errOut)
		require.Contains(t, errOut, "--verify")
	}
	require.Empty(t, h.sent(), "nothing reaches the hub")
}
