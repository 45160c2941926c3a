package events

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/store/storetest"
	"github.com/xvault/xvault/sdk"
)

func tenantEvent(tenant, typ string) *store.Event {
	return &store.Event{TenantID: &tenant, Type: typ, ObjectID: "o"}
}

func add(t *testing.T, db bun.IDB, e *store.Event) int64 {
	t.Helper()
	require.NoError(t, store.AddEvent(context.Background(), db, e, map[string]string{"k": "v"}))
	return e.ID
}

// drain returns what is buffered on s without waiting.
func drain(s *Subscription) []int64 {
	var ids []int64
	for {
		select {
		case e, ok := <-s.C:
			if !ok {
				return ids
			}
			ids = append(ids, e.ID)
		default:
			return ids
		}
	}
}

// testBroker is a broker whose tail only moves when the test calls Tail.
func testBroker(db *store.DB, now *time.Time) *Broker {
	return &Broker{DB: db, Poll: time.Hour, Now: func() time.Time { return *now }}
}

func TestBrokerFansOutByTenantAndType(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			db := storetest.Open(t, d)
			now := time.Now()
			b := testBroker(db, &now)
			before := add(t, db, tenantEvent("a", sdk.EventJobCreated)) // before anyone subscribed: not live
			all, err := b.Subscribe(ctx, Filter{})
			require.NoError(t, err)
			defer all.Close()
			require.Equal(t, before, all.Start)
			onlyA, err := b.Subscribe(ctx, Filter{TenantID: "a", Types: []string{sdk.EventJobUpdated}})
			require.NoError(t, err)
			defer onlyA.Close()

			a1 := add(t, db, tenantEvent("a", sdk.EventJobUpdated))
			b1 := add(t, db, tenantEvent("b", sdk.EventJobUpdated))
			a2 := add(t, db, tenantEvent("a", sdk.EventJobCreated))
			platform := add(t, db, &store.Event{Type: sdk.EventAgentOnline, ObjectID: "ag"})
			require.NoError(t, b.Tail(ctx))
			require.Equal(t, []int64{a1, b1, a2, platform}, drain(all))
			require.Equal(t, []int64{a1}, drain(onlyA))
			require.Equal(t, platform, b.Watermark())
		})
	}
}

// TestBrokerDropsSlowSubscriber: a full buffer drops that subscriber only.
func TestBrokerDropsSlowSubscriber(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.DialectSQLite)
	now := time.Now()
	b := testBroker(db, &now)
	b.Buffer = 3
	slow, err := b.Subscribe(ctx, Filter{})
	require.NoError(t, err)
	b.Buffer = 100
	fast, err := b.Subscribe(ctx, Filter{})
	require.NoError(t, err)
	defer fast.Close()
	var ids []int64
	for range 10 {
		ids = append(ids, add(t, db, tenantEvent("a", sdk.EventJobProgress)))
	}
	done := make(chan struct{})
	go func() { _ = b.Tail(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the tail waited for a slow subscriber")
	}
	require.Equal(t, ids, drain(fast))
	require.Equal(t, ids[:3], drain(slow), "what fit, then the channel is closed")
	require.True(t, slow.Dropped())
	require.False(t, fast.Dropped())
	require.Equal(t, 1, b.Subscribers())
	slow.Close() // closing a dropped subscription is harmless
}

// TestBrokerWaitsForGaps: rows read with a missing id below them are held
// until it commits, or skipped after GapWait (a rolled-back id).
func TestBrokerWaitsForGaps(t *testing.T) {
	now := time.Now()
	b := &Broker{Now: func() time.Time { return now }, GapWait: 3 * time.Second}
	b.subs, b.held, b.missing = map[*Subscription]struct{}{}, map[int64]store.Event{}, map[int64]time.Time{}
	b.watermark = 9
	c := make(chan store.Event, 100)
	s := &Subscription{C: c, c: c, broker: b}
	b.subs[s] = struct{}{}
	ev := func(id int64) store.Event { return store.Event{ID: id, Type: sdk.EventJobUpdated} }

	b.absorb([]store.Event{ev(11), ev(13)}) // 10 and 12 still in flight
	require.Empty(t, drain(s))
	require.EqualValues(t, 9, b.watermark)
	b.absorb([]store.Event{ev(10), ev(11), ev(13)}) // 10 committed
	require.Equal(t, []int64{10, 11}, drain(s))
	require.EqualValues(t, 11, b.watermark)
	now = now.Add(2 * time.Second)
	b.absorb([]store.Event{ev(13), ev(14)})
	require.Empty(t, drain(s), "12 is still waited for")
	now = now.Add(2 * time.Second)
	b.absorb([]store.Event{ev(13), ev(14)})
	require.Equal(t, []int64{13, 14}, drain(s), "12 was given up after GapWait")
	require.EqualValues(t, 14, b.watermark)
	b.absorb([]store.Event{ev(12)}) // far too late: below the watermark, not sent
	require.Empty(t, drain(s))
}

// TestBrokerOutOfOrderCommits: on PostgreSQL a later id can commit first;
// the tail must not skip the earlier one.
func TestBrokerOutOfOrderCommits(t *testing.T) {
	var pg bool
	for _, d := range storetest.Dialects(t) {
		pg = pg || d == store.DialectPostgres
	}
	if !pg {
		t.Skip("needs PostgreSQL (SQLite commits one writer at a time, in id order)")
	}
	ctx := context.Background()
	db := storetest.Open(t, store.DialectPostgres)
	now := time.Now()
	b := testBroker(db, &now)
	sub, err := b.Subscribe(ctx, Filter{})
	require.NoError(t, err)
	defer sub.Close()

	slow, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	first := add(t, slow, tenantEvent("a", sdk.EventJobCreated)) // id taken, not committed
	second := add(t, db, tenantEvent("a", sdk.EventJobUpdated))  // committed at once
	require.Greater(t, second, first)
	require.NoError(t, b.Tail(ctx))
	require.Empty(t, drain(sub), "the later id waits for the earlier one")
	require.NoError(t, slow.Commit())
	require.NoError(t, b.Tail(ctx))
	require.Equal(t, []int64{first, second}, drain(sub))

	// A rolled-back id is skipped once GapWait has passed.
	rb, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	add(t, rb, tenantEvent("a", sdk.EventJobCreated))
	require.NoError(t, rb.Rollback())
	third := add(t, db, tenantEvent("a", sdk.EventJobUpdated))
	require.NoError(t, b.Tail(ctx))
	require.Empty(t, drain(sub))
	now = now.Add(DefaultGapWait)
	require.NoError(t, b.Tail(ctx))
	require.Equal(t, []int64{third}, drain(sub))
}

// TestBrokerRunsWhileSubscribed: the tail starts with the first subscriber,
// polls by itself, and stops after the last one left.
func TestBrokerRunsWhileSubscribed(t *testing.T) {
	ctx := context.Background()
	db := storetest.Open(t, store.DialectSQLite)
	b := &Broker{DB: db, Poll: 10 * time.Millisecond}
	s, err := b.Subscribe(ctx, Filter{})
	require.NoError(t, err)
	id := add(t, db, tenantEvent("a", sdk.EventJobCreated))
	select {
	case e := <-s.C:
		require.Equal(t, id, e.ID)
	case <-time.After(5 * time.Second):
		t.Fatal("the running tail did not deliver")
	}
	s.Close()
	require.Eventually(t, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return !b.running
	}, 5*time.Second, 5*time.Millisecond)
	again, err := b.Subscribe(ctx, Filter{})
	require.NoError(t, err)
	defer again.Close()
	require.Equal(t, id, again.Start)
}

func TestPrunerKeepsWindow(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			db := storetest.Open(t, d)
			t0 := time.Now().Add(-3 * time.Hour)
			var ids []int64
			for i := range 6 {
				e := tenantEvent("a", sdk.EventJobCreated)
				e.CreatedAt = t0.Add(time.Duration(i) * 30 * time.Minute) // t0 … t0+2h30
				ids = append(ids, add(t, db, e))
			}
			// An hour before now is t0+1h50: four events are older, and only
			// the newest one is needed to make KeepLast.
			p := &Pruner{DB: db, KeepLast: 1, Now: func() time.Time { return t0.Add(2*time.Hour + 50*time.Minute) }}
			n, err := p.RunOnce(ctx)
			require.NoError(t, err)
			require.EqualValues(t, 4, n)
			oldest, newest, err := store.EventBounds(ctx, db)
			require.NoError(t, err)
			require.Equal(t, ids[4], oldest, "younger than an hour: kept though beyond KeepLast")
			require.Equal(t, ids[5], newest)

			// The newest KeepLast stay however old they are.
			p.Now = func() time.Time { return t0.Add(100 * time.Hour) }
			n, err = p.RunOnce(ctx)
			require.NoError(t, err)
			require.EqualValues(t, 1, n)
			oldest, _, err = store.EventBounds(ctx, db)
			require.NoError(t, err)
			require.Equal(t, ids[5], oldest)
		})
	}
}
