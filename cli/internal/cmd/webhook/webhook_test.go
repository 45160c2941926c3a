package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/cli/internal/cmd/root"
	"github.com/xvault/xvault/cli/internal/cmdutil"
)

func run(t *testing.T, hub string, args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	env := map[string]string{"XV_HUB_URL": hub, "XV_TOKEN": "tok", "XDG_CONFIG_HOME": t.TempDir()}
	f := &cmdutil.Factory{IO: &cmdutil.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut},
		Getenv: func(k string) string { return env[k] }, Now: time.Now, Version: "test"}
	code := root.Run(context.Background(), f, append([]string{"xv"}, args...))
	return code, out.String(), errOut.String()
}

func TestWebhookCommands(t *testing.T) {
	var gotBody []byte
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/webhooks", func(w http.ResponseWriter, r *http.Request) {
		gotBody, _ = io.ReadAll(r.Body)
		w.WriteHeader(201)
		_, _ = io.WriteString(w, `{"id":"wh1","tenant_id":"t1","url":"https://h.example/x","events":["job.failed","source.overdue"],
			"created_at":"2026-03-01T12:00:00Z","updated_at":"2026-03-01T12:00:00Z","secret":"whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}`)
	})
	mux.HandleFunc("GET /api/v1/webhooks/{id}/deliveries", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"items":[{"id":"d1","webhook_id":"wh1","event_type":"job.failed","status":"pending",
			"attempts":2,"status_code":500,"error":"HTTP 500: boom","next_attempt_at":"2026-03-01T12:05:00Z","created_at":"2026-03-01T12:00:00Z"}]}`)
	})
	mux.HandleFunc("POST /api/v1/webhooks/{id}/test", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(202)
		_, _ = io.WriteString(w, `{"id":"d2","webhook_id":"wh1","event_type":"webhook.test","status":"pending","attempts":0,"created_at":"2026-03-01T12:00:00Z"}`)
	})
	hub := httptest.NewServer(mux)
	defer hub.Close()

	code, out, errOut := run(t, hub.URL, "webhook", "create", "--url", "https://h.example/x", "--event", "job.failed",
		"--event", "source.overdue")
	require.Equal(t, 0, code, errOut)
	require.JSONEq(t, `{"url":"https://h.example/x","events":["job.failed","source.overdue"]}`, string(gotBody))
	require.Contains(t, out, "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0")
	require.Contains(t, errOut, "not shown again")

	code, out, _ = run(t, hub.URL, "webhook", "create", "--url", "https://h.example/x", "--event", "job.failed", "-o", "json")
	require.Equal(t, 0, code)
	var created map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &created))
	require.Equal(t, "wh1", created["id"])
	require.NotEmpty(t, created["secret"])

	code, _, errOut = run(t, hub.URL, "webhook", "create", "--url", "https://h.example/x", "--event", "reset")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "job.failed")
	code, _, _ = run(t, hub.URL, "webhook", "create", "--url", "https://h.example/x")
	require.Equal(t, 2, code, "no --event")

	code, out, errOut = run(t, hub.URL, "webhook", "deliveries", "wh1")
	require.Equal(t, 0, code, errOut)
	for _, want := range []string{"d1", "job.failed", "pending", "500", "HTTP 500: boom", "NEXT RETRY"} {
		require.Contains(t, out, want)
	}
	code, out, _ = run(t, hub.URL, "webhook", "test", "wh1")
	require.Equal(t, 0, code)
	require.Contains(t, out, "d2")
	code, _, _ = run(t, hub.URL, "webhook", "show", "nope")
	require.Equal(t, 3, code, "not found")
}
