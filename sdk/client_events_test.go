package sdk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseSSE(t *testing.T) {
	in := ": a comment\n" +
		"retry: 2500\n\n" +
		"id: 7\r\nevent: job.updated\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n" +
		"data:no-space\nunknown: x\n\n" +
		"id\n\n" + // an empty id resets it
		"\n\n" + // blank lines alone dispatch nothing
		"id: 9\ndata: last" // no final blank line: not dispatched
	var got []sseFrame
	require.NoError(t, parseSSE(strings.NewReader(in), func(f sseFrame) bool { got = append(got, f); return true }))
	require.Equal(t, []sseFrame{
		{retry: 2500 * time.Millisecond},
		{id: "7", hasID: true, event: "job.updated", data: "{\"a\":\n1}"},
		{data: "no-space"},
		{id: "", hasID: true},
	}, got)

	n := 0
	require.NoError(t, parseSSE(strings.NewReader("data: 1\n\ndata: 2\n\n"), func(sseFrame) bool { n++; return false }))
	require.Equal(t, 1, n, "false stops the parse")
	err := parseSSE(strings.NewReader("data: "+strings.Repeat("x", maxEventLine+1)+"\n\n"), func(sseFrame) bool { return true })
	require.Error(t, err, "an endless line is refused, not buffered")
}

func FuzzParseSSE(f *testing.F) {
	f.Add("id: 1\nevent: x\ndata: {}\n\n")
	f.Add(": c\nretry: 10\ndata: a\ndata: b\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		_ = parseSSE(strings.NewReader(s), func(fr sseFrame) bool {
			if strings.Contains(fr.id, "\x00") {
				t.Fatalf("id with NUL accepted: %q", fr.id)
			}
			return true
		})
	})
}

// scriptedHub answers the n-th events request with script[n] and records
// the Last-Event-ID each request carried.
type scriptedHub struct {
	mu     sync.Mutex
	lastID []string
	script []func(w http.ResponseWriter)
}

func (h *scriptedHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	n := len(h.lastID)
	h.lastID = append(h.lastID, r.Header.Get("Last-Event-ID"))
	h.mu.Unlock()
	if r.URL.Path != "/api/v1/events" || r.Header.Get("Authorization") != "Bearer tok" ||
		r.URL.Query().Get("types") != "job.created,reset" && r.URL.Query().Get("types") != "" {
		http.Error(w, "bad request", 400)
		return
	}
	if n >= len(h.script) {
		<-r.Context().Done()
		return
	}
	h.script[n](w)
}

func (h *scriptedHub) requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.lastID...)
}

func sse(w http.ResponseWriter, frames ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, f := range frames {
		fmt.Fprint(w, f)
	}
	w.(http.Flusher).Flush()
}

func eventFrame(id int64, typ string) string {
	return fmt.Sprintf("id: %d\nevent: %s\ndata: {\"id\":%d,\"type\":%q,\"tenant_id\":\"t\",\"time\":\"2026-01-01T00:00:00Z\",\"data\":{\"x\":%d}}\n\n",
		id, typ, id, typ, id)
}

func TestEventsReconnectsWithLastEventID(t *testing.T) {
	hub := &scriptedHub{script: []func(http.ResponseWriter){
		func(w http.ResponseWriter) { sse(w, "id: 4\n: connected\n\n", eventFrame(5, EventJobCreated)) }, // then drops
		func(w http.ResponseWriter) { http.Error(w, `{"error":{"code":"unavailable","message":"busy"}}`, 503) },
		func(w http.ResponseWriter) {
			sse(w, ": connected\n\n", eventFrame(6, EventJobCreated), "id: 9\nevent: reset\ndata: {\"id\":9,\"type\":\"reset\"}\n\n")
		},
	}}
	srv := httptest.NewServer(hub)
	defer srv.Close()
	c := New(srv.URL, "tok")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var evs []Event
	var errs []error
	for ev, err := range c.Events(ctx, EventsOptions{Types: []string{EventJobCreated, EventReset}}) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		evs = append(evs, ev)
		if ev.Type == EventReset {
			break
		}
	}
	require.Len(t, evs, 3)
	require.EqualValues(t, 5, evs[0].ID)
	require.Equal(t, "t", evs[0].TenantID)
	require.JSONEq(t, `{"x":5}`, string(evs[0].Data))
	require.EqualValues(t, 6, evs[1].ID)
	require.Equal(t, EventReset, evs[2].Type)
	require.Len(t, errs, 2, "the drop and the 503 are yielded, not fatal")
	var te *TransportError
	require.ErrorAs(t, errs[0], &te)
	require.ErrorIs(t, errs[1], ErrUnavailable)
	require.Equal(t, []string{"", "5", "5"}, hub.requests())
}

func TestEventsFirstIDResumes(t *testing.T) {
	hub := &scriptedHub{script: []func(http.ResponseWriter){
		func(w http.ResponseWriter) { sse(w, "id: 0\n: connected\n\n") }, // a bare id, then a drop
		func(w http.ResponseWriter) { sse(w, eventFrame(1, EventJobCreated)) },
	}}
	srv := httptest.NewServer(hub)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ev, err := range New(srv.URL, "tok").Events(ctx, EventsOptions{}) {
		if err == nil {
			require.EqualValues(t, 1, ev.ID)
			break
		}
	}
	require.Equal(t, []string{"", "0"}, hub.requests(), "the hub's first id, even 0, is the resume point")
}

func TestEventsEndsOnClientErrors(t *testing.T) {
	for _, status := range []int{401, 403, 404, 400} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(status)
				fmt.Fprint(w, `{"error":{"code":"`+CodeForStatus(status)+`","message":"no"}}`)
			}))
			defer srv.Close()
			var errs []error
			for _, err := range New(srv.URL, "tok").Events(context.Background(), EventsOptions{Since: 3}) {
				errs = append(errs, err)
			}
			require.Len(t, errs, 1)
			var apiErr *Error
			require.True(t, errors.As(errs[0], &apiErr))
			require.Equal(t, status, apiErr.HTTPStatus)
		})
	}
}

func TestEventsEndsWithContext(t *testing.T) {
	hub := &scriptedHub{}
	srv := httptest.NewServer(hub)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		n := 0
		for range New(srv.URL, "tok").Events(ctx, EventsOptions{}) {
			n++
		}
		done <- n
	}()
	require.Eventually(t, func() bool { return len(hub.requests()) == 1 }, 5*time.Second, 5*time.Millisecond)
	cancel()
	select {
	case n := <-done:
		require.Zero(t, n, "a canceled iteration yields nothing more")
	case <-time.After(5 * time.Second):
		t.Fatal("the iteration did not end with its context")
	}
}

func TestEventsBackoff(t *testing.T) {
	for n := 1; n < 12; n++ {
		d := eventsBackoff(n)
		require.GreaterOrEqual(t, d, eventsMinBackoff)
		require.LessOrEqual(t, d, eventsMaxBackoff)
	}
	require.Less(t, eventsBackoff(1), 2*time.Second)
	require.Equal(t, eventsMaxBackoff, eventsBackoff(10))
}
