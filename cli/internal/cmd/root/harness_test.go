package root_test

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

	"github.com/xvault/xvault/cli/internal/cmd/root"
	"github.com/xvault/xvault/cli/internal/cmdutil"
)

// fakeHub is an httptest hub with canned answers per route pattern.
type fakeHub struct {
	*httptest.Server
	mux  *http.ServeMux
	mu   sync.Mutex
	reqs []seen
}

type seen struct {
	Method, Path, RawQuery, Auth string
	Body                         []byte
}

func newFakeHub(t *testing.T) *fakeHub {
	t.Helper()
	h := &fakeHub{mux: http.NewServeMux()}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "not_found", "message": "not found"}})
	})
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.reqs = append(h.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), b})
		h.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(b))
		h.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(h.Close)
	return h
}

// reply makes pattern answer status with body (marshalled unless a string).
func (h *fakeHub) reply(pattern string, status int, body any) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, status, body) })
}

func (h *fakeHub) last() seen {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reqs[len(h.reqs)-1]
}

func (h *fakeHub) requests() []seen {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]seen(nil), h.reqs...)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if s, ok := body.(string); ok {
		_, _ = io.WriteString(w, s)
		return
	}
	_ = json.NewEncoder(w).Encode(body)
}

// result of one xv run.
type result struct {
	Code           int
	Stdout, Stderr string
}

// xv runs the app in-process with env (XDG_CONFIG_HOME defaults to a temp
// dir) and stdin.
func xv(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	return xvCtx(t, context.Background(), env, stdin, args...)
}

// xvCtx is xv with a context (cancel it to play Ctrl-C).
func xvCtx(t *testing.T, parent context.Context, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["XDG_CONFIG_HOME"]; !ok {
		env["XDG_CONFIG_HOME"] = t.TempDir()
	}
	var out, errOut bytes.Buffer
	f := &cmdutil.Factory{
		IO:      &cmdutil.IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut},
		Getenv:  func(k string) string { return env[k] },
		Now:     func() time.Time { return fixedNow },
		Version: "test",
	}
	ctx, cancel := context.WithTimeout(parent, 20*time.Second)
	defer cancel()
	code := root.Run(ctx, f, append([]string{"xv"}, args...))
	return result{code, out.String(), errOut.String()}
}

var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// hubEnv points xv at h with a token.
func hubEnv(h *fakeHub, extra ...string) map[string]string {
	env := map[string]string{"XV_HUB_URL": h.URL, "XV_TOKEN": "tok-secret"}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}
