package events

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/xvault/xvault/hubd/internal/queue"
	"github.com/xvault/xvault/hubd/internal/store"
)

// The durable window clients can resume from (docs/api.md "Events").
const (
	DefaultKeepFor  = time.Hour
	DefaultKeepLast = 10000
)

// Pruner deletes old events every Interval: an event goes once it is older
// than KeepFor and not among the newest KeepLast. Set the fields, then
// Start/Stop; Now may be replaced by tests.
type Pruner struct {
	DB       *store.DB
	Log      *slog.Logger     // default: discard
	Now      func() time.Time // default time.Now
	KeepFor  time.Duration    // default DefaultKeepFor
	KeepLast int64            // default DefaultKeepLast
	Interval time.Duration    // default 1 min

	loop queue.Loop
}

// Start prunes in the background until ctx ends or Stop.
func (p *Pruner) Start(ctx context.Context) {
	p.loop.Name, p.loop.Log, p.loop.Interval = "event pruner", p.Log, p.Interval
	if p.loop.Interval <= 0 {
		p.loop.Interval = time.Minute
	}
	p.loop.Tick = func(ctx context.Context) error { _, err := p.RunOnce(ctx); return err }
	p.loop.Start(ctx)
}

// Stop ends the background pruning and waits for a running one.
func (p *Pruner) Stop() { p.loop.Stop() }

// RunOnce prunes once and returns how many events it deleted.
func (p *Pruner) RunOnce(ctx context.Context) (int64, error) {
	now, keepFor, keepLast := time.Now, p.KeepFor, p.KeepLast
	if p.Now != nil {
		now = p.Now
	}
	if keepFor <= 0 {
		keepFor = DefaultKeepFor
	}
	if keepLast <= 0 {
		keepLast = DefaultKeepLast
	}
	// The KeepLast-th newest id (ids have gaps, so not newest-KeepLast).
	var ids []int64
	err := p.DB.NewSelect().Model((*store.Event)(nil)).Column("id").
		Order("id DESC").Offset(keepLast-1).Limit(1).Scan(ctx, &ids)
	if err != nil {
		return 0, fmt.Errorf("prune events: find the newest %d: %w", keepLast, err)
	}
	if len(ids) == 0 {
		return 0, nil // fewer than KeepLast events
	}
	res, err := p.DB.NewDelete().Model((*store.Event)(nil)).
		Where("id < ?", ids[0]).
		Where("created_at < ?", now().UTC().Add(-keepFor)).
		Exec(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
