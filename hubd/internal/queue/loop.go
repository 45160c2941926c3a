package queue

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Loop runs Tick every Interval in the background: the shared shape of the
// hub's maintenance loops (lease rescuer, later scheduler and retention).
// Start launches it, Stop ends it and waits for a running tick to return.
// A tick's error is logged and the loop goes on.
type Loop struct {
	Name     string        // for logs, e.g. "rescuer"
	Interval time.Duration // default 5 s
	Log      *slog.Logger  // default: discard
	Tick     func(ctx context.Context) error

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Start launches the loop (ticking once right away). Starting a started
// loop does nothing. The loop ends with ctx or Stop.
func (l *Loop) Start(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cancel != nil {
		return
	}
	ctx, l.cancel = context.WithCancel(ctx)
	l.done = make(chan struct{})
	go l.run(ctx, l.done)
}

// Stop ends the loop and waits for it. Safe to call more than once.
func (l *Loop) Stop() {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.cancel, l.done = nil, nil
	l.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (l *Loop) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	interval := l.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	log := l.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("loop", l.Name)
	log.DebugContext(ctx, "loop started", "interval", interval)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := l.Tick(ctx); err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "loop tick failed", "err", err)
		}
		select {
		case <-ctx.Done():
			log.DebugContext(ctx, "loop stopped")
			return
		case <-t.C:
		}
	}
}
