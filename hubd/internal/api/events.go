package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xvault/xvault/hubd/internal/events"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// The event stream's timings (docs/api.md "Events").
const (
	eventsHeartbeat    = 15 * time.Second
	eventsWriteTimeout = 10 * time.Second // per write: a stalled client is cut off, not waited for
	maxEventTypes      = 32
)

// streamableEventTypes are the types ?types= may name.
var streamableEventTypes = []string{
	sdk.EventJobCreated, sdk.EventJobUpdated, sdk.EventJobProgress, sdk.EventJobFailed,
	sdk.EventSnapshotCreated, sdk.EventSnapshotDeleted, sdk.EventSnapshotVerified,
	sdk.EventAgentOnline, sdk.EventAgentOffline, sdk.EventAgentDraining, sdk.EventSourceOverdue,
}

// GET /api/v1/events[?types=a,b][&since=ID]: Server-Sent Events. Each event
// is "id: N", "event: TYPE" and "data: " the JSON sdk.Event. Last-Event-ID
// (or since) replays what came after it from the durable log, or sends a
// reset when that is no longer kept; without either the stream starts now.
func (s *Server) streamEvents(ctx context.Context, c *call) (int, any, error) {
	types, err := eventTypesParam(c.r.URL.Query().Get("types"))
	if err != nil {
		return 0, nil, err
	}
	since, resume, err := eventCursor(c.r)
	if err != nil {
		return 0, nil, err
	}
	filter := events.Filter{TenantID: c.tenantID, Types: types}
	sub, err := s.events.Subscribe(ctx, filter)
	if err != nil {
		return 0, nil, wrapf(err, "subscribe to events")
	}
	defer sub.Close()

	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	c.w.WriteHeader(http.StatusOK)
	out := &sseWriter{w: c.w, rc: http.NewResponseController(c.w)}
	// A fresh stream starts with a bare "id:" (no data, so no event): a
	// client that reconnects before the first event still resumes here.
	hello := ": connected\n\n"
	if !resume {
		hello = fmt.Sprintf("id: %d\n: connected\n\n", sub.Start)
	}
	if err := out.frame(hello); err != nil {
		return 0, nil, nil
	}
	last := sub.Start
	if resume {
		if last, err = s.replayEvents(ctx, out, since, sub.Start, filter); err != nil {
			s.endStream(ctx, c, err)
			return 0, nil, nil
		}
	}
	s.endStream(ctx, c, s.followEvents(ctx, out, sub, last))
	return 0, nil, nil
}

// followEvents writes live events above last until the client goes, the
// hub shuts down, or the subscription is dropped for falling behind.
func (s *Server) followEvents(ctx context.Context, out *sseWriter, sub *events.Subscription, last int64) error {
	ping := time.NewTicker(eventsHeartbeat)
	defer ping.Stop()
	for {
		select {
		case e, ok := <-sub.C:
			if !ok {
				if sub.Dropped() {
					return out.reset(s.events.Watermark(), s.now())
				}
				return nil
			}
			if e.ID <= last {
				continue
			}
			if err := out.event(&e); err != nil {
				return err
			}
			last = e.ID
		case <-ping.C:
			if err := out.comment("ping"); err != nil {
				return err
			}
		case <-ctx.Done():
			return nil
		case <-s.stopping:
			return nil
		}
	}
}

// replayEvents writes the kept events after since up to upTo (where the
// live subscription starts), or a reset when some of them were pruned. It
// returns the id the live part continues after.
func (s *Server) replayEvents(ctx context.Context, out *sseWriter, since, upTo int64, f events.Filter) (int64, error) {
	if since >= upTo {
		return since, nil // nothing missed (or an id from the future: wait for it)
	}
	oldest, _, err := store.EventBounds(ctx, s.db)
	if err != nil {
		return 0, err
	}
	if oldest == 0 || since < oldest-1 {
		return upTo, out.reset(upTo, s.now())
	}
	for after := since; after < upTo; {
		rows, err := store.EventsAfter(ctx, s.db, store.EventFilter{AfterID: after, TenantID: f.TenantID, Types: f.Types, Limit: 500})
		if err != nil {
			return 0, err
		}
		for i := range rows {
			if rows[i].ID > upTo {
				return upTo, nil
			}
			if err := out.event(&rows[i]); err != nil {
				return 0, err
			}
		}
		if len(rows) < 500 {
			break
		}
		after = rows[len(rows)-1].ID
	}
	return upTo, nil
}

// endStream logs why a stream ended early (the client leaving is not news).
func (s *Server) endStream(ctx context.Context, c *call, err error) {
	if err == nil || errors.Is(err, context.Canceled) || ctx.Err() != nil {
		return
	}
	s.log.InfoContext(ctx, "event stream ended", "tenant_id", c.tenantID, "err", err)
}

// eventCursor is the id to resume after: Last-Event-ID, else ?since=.
func eventCursor(r *http.Request) (since int64, resume bool, err error) {
	raw, field := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if raw == "" {
		raw, field = r.URL.Query().Get("since"), "since"
	}
	if raw == "" {
		return 0, false, nil
	}
	since, err = strconv.ParseInt(raw, 10, 64)
	if err != nil || since < 0 {
		return 0, false, fieldError(field, "must be an event id (a non-negative integer)")
	}
	return since, true, nil
}

// eventTypesParam parses ?types=a,b (empty: all types).
func eventTypesParam(raw string) ([]string, error) {
	if raw == "" {
		return nil, nil
	}
	parts := strings.Split(raw, ",")
	if len(parts) > maxEventTypes {
		return nil, fieldError("types", fmt.Sprintf("names at most %d types", maxEventTypes))
	}
	var out []string
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if !slices.Contains(streamableEventTypes, p) {
			return nil, fieldError("types", "must be a comma-separated list of "+strings.Join(streamableEventTypes, ", "))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// sseWriter writes Server-Sent Events frames, each flushed at once under
// its own write deadline.
type sseWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (w *sseWriter) event(e *store.Event) error {
	data, err := json.Marshal(eventOut(e))
	if err != nil {
		return fmt.Errorf("encode event %d: %w", e.ID, err)
	}
	return w.frame(fmt.Sprintf("id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, data))
}

// reset tells the client to reload everything; the stream (or its next
// connection, via Last-Event-ID) continues after id.
func (w *sseWriter) reset(id int64, now time.Time) error {
	data, err := json.Marshal(sdk.Event{ID: id, Type: sdk.EventReset, Time: now, Data: json.RawMessage(`{}`)})
	if err != nil {
		return err
	}
	return w.frame(fmt.Sprintf("id: %d\nevent: %s\ndata: %s\n\n", id, sdk.EventReset, data))
}

func (w *sseWriter) comment(text string) error { return w.frame(": " + text + "\n\n") }

func (w *sseWriter) frame(s string) error {
	if err := w.rc.SetWriteDeadline(time.Now().Add(eventsWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := io.WriteString(w.w, s); err != nil {
		return err
	}
	return w.rc.Flush()
}

func eventOut(e *store.Event) sdk.Event {
	return sdk.Event{ID: e.ID, Type: e.Type, TenantID: deref(e.TenantID), Time: e.CreatedAt, Data: rawOrNil(e.Data)}
}
