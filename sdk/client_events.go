package sdk

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Reconnect delays of Client.Events: jittered, doubling from
// eventsMinBackoff up to eventsMaxBackoff.
const (
	eventsMinBackoff = time.Second
	eventsMaxBackoff = 30 * time.Second
	maxEventLine     = 4 << 20 // longest SSE line accepted
)

// Events follows GET /api/v1/events: it yields each event as it happens.
//
// It reconnects by itself, with a jittered backoff of 1–30 s, resuming
// with Last-Event-ID after the last event seen, so nothing is missed while
// the hub keeps the events (at least an hour). A transport error or a 5xx
// is yielded as (Event{}, err) and the iteration goes on (a monitor can
// show "reconnecting"). An Event of type EventReset means events were
// missed (the resume point was no longer kept, or the consumer fell too far
// behind): reload everything, then keep ranging. A 4xx answer (bad token,
// no permission, bad options) is yielded and ends the iteration, as do ctx
// ending and the consumer breaking out of the loop.
//
// opts.Since resumes after that event id; 0 starts from now on. The
// client's http.Client must have no Timeout (it would cut the stream).
func (c *Client) Events(ctx context.Context, opts EventsOptions) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		s := &eventStream{c: c, types: opts.Types, since: opts.Since, resume: opts.Since > 0, yield: yield}
		for failures := 0; ; {
			err := s.connect(ctx)
			if s.stopped || ctx.Err() != nil {
				return
			}
			if s.connected {
				failures = 0
			}
			if !yield(Event{}, err) {
				return
			}
			failures++
			if !sleepCtx(ctx, max(eventsBackoff(failures), s.retry)) {
				return
			}
		}
	}
}

// eventsBackoff is the wait before reconnect number n (n >= 1): 1 s, 2 s,
// 4 s, … up to 30 s, each plus up to half of it at random.
func eventsBackoff(n int) time.Duration {
	d := eventsMinBackoff
	for i := 1; i < n && d < eventsMaxBackoff; i++ {
		d *= 2
	}
	d += rand.N(d/2 + 1)
	return min(d, eventsMaxBackoff)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// eventStream is one Events iteration across its connections.
type eventStream struct {
	c         *Client
	types     []string
	since     int64 // the last event id seen: sent as Last-Event-ID
	resume    bool  // since is set (the hub's first id may be 0)
	retry     time.Duration
	yield     func(Event, error) bool
	stopped   bool // the consumer stopped, or an error ended the iteration
	connected bool // the last connect got a 200
}

// connect runs one connection until it ends and returns why.
func (s *eventStream) connect(ctx context.Context) error {
	s.connected = false
	req, err := s.request(ctx)
	if err != nil {
		s.stop(Event{}, fmt.Errorf("follow events: %w", err))
		return nil
	}
	resp, err := s.c.hc.Do(req)
	if err != nil {
		return s.c.transportError(ctx, "follow events", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		apiErr := decodeError(resp.StatusCode, body)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 &&
			resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
			s.stop(Event{}, fmt.Errorf("follow events: %w", apiErr))
			return nil
		}
		return fmt.Errorf("follow events: %w", apiErr)
	}
	s.connected = true
	err = parseSSE(resp.Body, s.frame)
	if s.stopped {
		return nil
	}
	if err == nil {
		err = errors.New("the hub closed the stream")
	}
	return s.c.transportError(ctx, "follow events", err)
}

func (s *eventStream) stop(e Event, err error) {
	s.stopped = true
	s.yield(e, err)
}

func (s *eventStream) request(ctx context.Context) (*http.Request, error) {
	q := url.Values{}
	if len(s.types) > 0 {
		q.Set("types", strings.Join(s.types, ","))
	}
	if s.c.tenantID != "" {
		q.Set("tenant_id", s.c.tenantID)
	}
	u := s.c.baseURL + "/api/v1/events"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", s.c.userAgent)
	if s.c.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.c.token)
	}
	if s.resume {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(s.since, 10))
	}
	return req, nil
}

// frame handles one dispatched SSE frame; false stops the parse.
func (s *eventStream) frame(f sseFrame) bool {
	if f.retry > 0 {
		s.retry = min(f.retry, eventsMaxBackoff)
	}
	if f.hasID {
		if id, err := strconv.ParseInt(f.id, 10, 64); err == nil && id >= 0 {
			s.since, s.resume = id, true
		}
	}
	if f.data == "" {
		return true // a bare id: or retry: frame
	}
	var e Event
	if err := json.Unmarshal([]byte(f.data), &e); err != nil {
		if !s.yield(Event{}, fmt.Errorf("follow events: decode event %q: %w", f.id, err)) {
			s.stopped = true
			return false
		}
		return true
	}
	if e.Type == "" {
		e.Type = f.event
	}
	if !s.yield(e, nil) {
		s.stopped = true
		return false
	}
	return true
}

// sseFrame is one event of a text/event-stream, as the fields arrived.
type sseFrame struct {
	id    string
	hasID bool
	event string
	data  string
	retry time.Duration
}

// parseSSE reads a text/event-stream (the WHATWG "server-sent events"
// format): fields up to a blank line make a frame; data lines are joined by
// "\n"; lines starting with ':' are comments. It calls fn per frame until
// fn returns false (then nil) or the stream ends (io.EOF is returned as nil).
func parseSSE(r io.Reader, fn func(sseFrame) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxEventLine)
	var f sseFrame
	var data []string
	fields := false
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			if fields {
				f.data = strings.Join(data, "\n")
				if !fn(f) {
					return nil
				}
			}
			f, data, fields = sseFrame{}, nil, false
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "id":
			if !strings.ContainsRune(value, 0) {
				f.id, f.hasID = value, true
			}
		case "event":
			f.event = value
		case "data":
			data = append(data, value)
		case "retry":
			if ms, err := strconv.Atoi(value); err == nil && ms >= 0 {
				f.retry = time.Duration(ms) * time.Millisecond
			}
		default:
			continue // unknown fields are ignored
		}
		fields = true
	}
	return sc.Err()
}
