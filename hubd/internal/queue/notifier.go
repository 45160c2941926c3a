package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"
	"github.com/uptrace/bun/driver/pgdriver"

	"github.com/xvault/xvault/hubd/internal/store"
)

// Channel is the PostgreSQL NOTIFY channel carrying "jobs changed" between
// hub replicas.
const Channel = "xv_jobs"

// Notifier wakes long-polling claimers when a job becomes runnable. Every
// Notify wakes every current subscriber (a broadcast: each generation is a
// channel that Notify closes). On PostgreSQL, Notify also sends NOTIFY
// xv_jobs and Listen turns the other replicas' notifications into local
// wake-ups. The zero value is not usable; use NewNotifier.
type Notifier struct {
	db  *store.DB // nil: in-process only
	log *slog.Logger

	mu   sync.Mutex
	wake chan struct{}
}

// NewNotifier returns a notifier. db may be nil (tests, in-process only);
// a SQLite db is in-process only too.
func NewNotifier(db *store.DB, log *slog.Logger) *Notifier {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if db != nil && !db.IsPostgres() {
		db = nil
	}
	return &Notifier{db: db, log: log, wake: make(chan struct{})}
}

// Subscribe returns a channel closed by the next Notify (or a notification
// from another replica), and a function to release it. Subscribe before
// looking at the queue, then wait, so a job enqueued in between is not
// missed.
func (n *Notifier) Subscribe() (wake <-chan struct{}, release func()) {
	return n.Wait(), func() {}
}

// Wait returns the channel closed by the next wake-up.
func (n *Notifier) Wait() <-chan struct{} {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.wake
}

// WakeLocal wakes this process's waiters only.
func (n *Notifier) WakeLocal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	close(n.wake)
	n.wake = make(chan struct{})
}

// Notify wakes the waiters of this process and, on PostgreSQL, of every
// replica. Call it after the transaction that made a job runnable
// committed. A failed NOTIFY is logged, not returned: claimers re-check the
// queue periodically anyway.
func (n *Notifier) Notify(ctx context.Context) {
	n.WakeLocal()
	if n.db == nil {
		return
	}
	if err := NotifyTx(ctx, n.db); err != nil {
		n.log.WarnContext(ctx, "notify other hub replicas", "err", err)
	}
}

// NotifyTx sends NOTIFY xv_jobs through db (on PostgreSQL; a no-op
// elsewhere). Inside a transaction PostgreSQL delivers it at commit, so use
// it within the tx that enqueues, then call WakeLocal after the commit.
func NotifyTx(ctx context.Context, db bun.IDB) error {
	if db.Dialect().Name() != dialect.PG {
		return nil
	}
	if _, err := db.ExecContext(ctx, "NOTIFY "+Channel); err != nil {
		return fmt.Errorf("notify %s: %w", Channel, err)
	}
	return nil
}

// Listen relays other replicas' NOTIFY xv_jobs into local wake-ups until ctx
// ends. On SQLite (or without a db) it just waits for ctx. The listener
// reconnects by itself after connection loss; notifications sent while it
// was down are lost (claimers re-check periodically).
func (n *Notifier) Listen(ctx context.Context) error {
	if n.db == nil {
		<-ctx.Done()
		return nil
	}
	ln := pgdriver.NewListener(n.db.DB)
	defer ln.Close()
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() }) // unblock a pending receive
	defer stop()
	if err := ln.Listen(ctx, Channel); err != nil {
		return fmt.Errorf("listen %s: %w", Channel, err)
	}
	n.WakeLocal() // anything enqueued before we listened
	for ctx.Err() == nil {
		_, _, err := ln.ReceiveTimeout(ctx, 5*time.Second)
		switch {
		case err == nil:
			n.WakeLocal()
		case ctx.Err() != nil:
		case isTimeout(err):
		default:
			n.log.WarnContext(ctx, "receive job notifications", "err", err)
			sleep(ctx, time.Second)
		}
	}
	return nil
}

func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
