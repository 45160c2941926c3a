// Package events fans the durable event log (the events table, written by
// the store in the transaction of each change) out to live subscribers,
// the SSE clients of GET /api/v1/events, and prunes old events.
//
// Every hub replica tails the table itself (Broker), so a client connected
// to any replica sees every replica's events. Ids are handed out when a row
// is inserted but become visible when its transaction commits, so on
// PostgreSQL id 11 can be seen before 10. The broker therefore delivers in
// id order only: it holds events back behind a missing id until that id
// shows up or GapWait has passed (then the id belonged to a rolled-back
// transaction and is skipped). The id up to which everything was delivered
// or given up is the watermark; replays never go past it.
package events

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/xvault/xvault/hubd/internal/store"
)

// Defaults of the Broker's fields.
const (
	DefaultPoll    = 250 * time.Millisecond
	DefaultGapWait = 3 * time.Second
	DefaultBuffer  = 1024
	maxGapIDs      = 10000 // a larger jump in ids is not waited for
)

// Filter selects the events a subscriber receives.
type Filter struct {
	TenantID string   // "" = every tenant and platform-wide events (platform admins)
	Types    []string // empty = all types
}

// Match reports whether e passes the filter.
func (f Filter) Match(e *store.Event) bool {
	if f.TenantID != "" && (e.TenantID == nil || *e.TenantID != f.TenantID) {
		return false
	}
	return len(f.Types) == 0 || slices.Contains(f.Types, e.Type)
}

// Subscription is one live subscriber. C delivers its events in id order;
// it is closed when the subscriber fell Buffer events behind (Dropped then
// reports true) or was closed.
type Subscription struct {
	C <-chan store.Event
	// Start is the watermark when it subscribed: C delivers only ids above
	// it; what lies at or below it is in the table (replay).
	Start int64

	c       chan store.Event
	filter  Filter
	broker  *Broker
	dropped bool // under broker.mu
	closed  bool // under broker.mu
}

// Dropped reports whether the subscription ended because it fell behind.
func (s *Subscription) Dropped() bool {
	s.broker.mu.Lock()
	defer s.broker.mu.Unlock()
	return s.dropped
}

// Close ends the subscription.
func (s *Subscription) Close() {
	b := s.broker
	b.mu.Lock()
	defer b.mu.Unlock()
	b.remove(s)
}

// Broker tails the events table and fans new events out to subscribers. It
// runs only while someone is subscribed: the first Subscribe starts the
// tail at the newest event, the last Close lets it stop. Set the fields
// before the first Subscribe.
type Broker struct {
	DB      *store.DB
	Log     *slog.Logger     // default: discard
	Now     func() time.Time // default time.Now
	Poll    time.Duration    // how often the table is read; default DefaultPoll
	GapWait time.Duration    // how long a missing id is waited for; default DefaultGapWait
	Buffer  int              // per-subscriber buffer; default DefaultBuffer

	startMu sync.Mutex // serialises starting the tail
	mu      sync.Mutex
	subs    map[*Subscription]struct{}
	running bool
	wake    chan struct{}
	// The tail's state (under mu): everything up to watermark was delivered
	// or given up; held are events above a gap, missing the gap's ids with
	// the time each was first found missing.
	watermark int64
	held      map[int64]store.Event
	missing   map[int64]time.Time
}

// Subscribe registers a subscriber; ctx bounds only the start of the tail.
func (b *Broker) Subscribe(ctx context.Context, f Filter) (*Subscription, error) {
	b.startMu.Lock()
	defer b.startMu.Unlock()
	b.mu.Lock()
	running := b.running
	b.mu.Unlock()
	var newest int64
	if !running {
		var err error
		if _, newest, err = store.EventBounds(ctx, b.DB); err != nil {
			return nil, fmt.Errorf("start event tail: %w", err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.subs == nil {
		b.subs = make(map[*Subscription]struct{})
		b.wake = make(chan struct{}, 1)
	}
	if !b.running {
		b.running = true
		b.watermark, b.held, b.missing = newest, map[int64]store.Event{}, map[int64]time.Time{}
		go b.run()
	}
	c := make(chan store.Event, b.buffer())
	s := &Subscription{C: c, c: c, Start: b.watermark, filter: f, broker: b}
	b.subs[s] = struct{}{}
	return s, nil
}

// Subscribers is the number of live subscribers.
func (b *Broker) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// Watermark is the id up to which events were delivered (0 when the tail
// is not running).
func (b *Broker) Watermark() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.watermark
}

// Notify makes the tail read the table now instead of at its next poll
// (call it after committing a change that recorded events).
func (b *Broker) Notify() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.running {
		select {
		case b.wake <- struct{}{}:
		default:
		}
	}
}

func (b *Broker) buffer() int {
	if b.Buffer > 0 {
		return b.Buffer
	}
	return DefaultBuffer
}

func (b *Broker) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// remove unregisters s and closes its channel (under mu).
func (b *Broker) remove(s *Subscription) {
	if s.closed {
		return
	}
	s.closed = true
	delete(b.subs, s)
	close(s.c)
}

func (b *Broker) run() {
	log := b.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	poll := b.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		b.mu.Lock()
		if len(b.subs) == 0 {
			b.running = false
			b.mu.Unlock()
			return
		}
		wake := b.wake
		b.mu.Unlock()
		if err := b.Tail(context.Background()); err != nil {
			log.Warn("event tail", "err", err)
		}
		select {
		case <-t.C:
		case <-wake:
		}
	}
}

// Tail reads the events committed since the last read and delivers those
// that are now in order. The running tail calls it every Poll; tests call
// it to step the tail.
func (b *Broker) Tail(ctx context.Context) error {
	b.mu.Lock()
	after := b.watermark
	b.mu.Unlock()
	for {
		rows, err := store.EventsAfter(ctx, b.DB, store.EventFilter{AfterID: after, Limit: 500})
		if err != nil {
			return fmt.Errorf("read events after %d: %w", after, err)
		}
		b.mu.Lock()
		b.absorb(rows)
		b.mu.Unlock()
		if len(rows) < 500 {
			return nil
		}
		after = rows[len(rows)-1].ID
	}
}

// absorb takes rows read after the watermark (id order), records the gaps
// they reveal, and delivers every event no gap holds back (under mu).
func (b *Broker) absorb(rows []store.Event) {
	now := b.now()
	top := b.watermark
	for id := range b.held {
		top = max(top, id)
	}
	for _, e := range rows {
		if e.ID <= b.watermark {
			continue
		}
		if _, ok := b.held[e.ID]; ok {
			continue
		}
		delete(b.missing, e.ID)
		if e.ID > top+1 && e.ID-top-1 <= maxGapIDs {
			for id := top + 1; id < e.ID; id++ {
				b.missing[id] = now
			}
		}
		top = max(top, e.ID)
		b.held[e.ID] = e
	}
	gapWait := b.GapWait
	if gapWait <= 0 {
		gapWait = DefaultGapWait
	}
	for id, since := range b.missing {
		if now.Sub(since) >= gapWait {
			delete(b.missing, id) // a rolled-back transaction's id: never coming
		}
	}
	b.release()
}

// release delivers held events in id order up to the first missing id.
// (A missing id always lies below some held event: a gap is only found by
// reading an id above it.)
func (b *Broker) release() {
	firstMissing := int64(-1)
	for m := range b.missing {
		if firstMissing < 0 || m < firstMissing {
			firstMissing = m
		}
	}
	ids := make([]int64, 0, len(b.held))
	for id := range b.held {
		if firstMissing < 0 || id < firstMissing {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		e := b.held[id]
		delete(b.held, id)
		b.watermark = id
		b.deliver(&e)
	}
}

// deliver hands e to every matching subscriber without ever blocking: one
// whose buffer is full is dropped (its stream ends with a reset).
func (b *Broker) deliver(e *store.Event) {
	for s := range b.subs {
		if !s.filter.Match(e) {
			continue
		}
		select {
		case s.c <- *e:
		default:
			s.dropped = true
			b.remove(s)
		}
	}
}
