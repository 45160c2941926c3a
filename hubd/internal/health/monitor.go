package health

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/queue"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// Monitor is the hub's fleet health loop. Every Interval it records the
// agents that went silent as offline (raising agent.offline) and raises
// source.overdue for overdue sources: once when a source becomes overdue,
// then again only after another full alert_after while it stays overdue
// (sources.overdue_raised_at, claimed with a compare-and-set so several
// hub replicas raise it once between them). Set the fields, then
// Start/Stop; tests replace Now and call RunOnce.
type Monitor struct {
	DB           *store.DB
	Log          *slog.Logger     // default: discard
	Now          func() time.Time // default time.Now
	Interval     time.Duration    // default 30 s
	OfflineAfter time.Duration    // default DefaultOfflineAfter; the API's AgentOfflineAfter

	loop queue.Loop
}

// Result is what one sweep did.
type Result struct {
	Offline []string           // agent ids newly recorded offline
	Overdue []sdk.SourceHealth // sources source.overdue was raised for
}

// Start runs sweeps in the background until ctx ends or Stop.
func (m *Monitor) Start(ctx context.Context) {
	interval := m.Interval
	if interval <= 0 {
		interval = 30 * time.Second
	}
	m.loop.Name, m.loop.Interval, m.loop.Log = "health", interval, m.Log
	m.loop.Tick = func(ctx context.Context) error {
		_, err := m.RunOnce(ctx)
		return err
	}
	m.loop.Start(ctx)
}

// Stop ends the background sweeps and waits for a running one.
func (m *Monitor) Stop() { m.loop.Stop() }

func (m *Monitor) now() time.Time {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	return now().UTC().Truncate(time.Microsecond)
}

func (m *Monitor) log() *slog.Logger {
	if m.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return m.Log
}

func (m *Monitor) offlineAfter() time.Duration {
	if m.OfflineAfter <= 0 {
		return DefaultOfflineAfter
	}
	return m.OfflineAfter
}

// RunOnce runs one sweep. A failure to raise one source's event is logged
// and does not stop the others.
func (m *Monitor) RunOnce(ctx context.Context) (Result, error) {
	now := m.now()
	var res Result
	offline, err := m.markOffline(ctx, now)
	if err != nil {
		return res, err
	}
	res.Offline = offline
	rep, err := Check(ctx, m.DB, Params{Now: now, OfflineAfter: m.offlineAfter()})
	if err != nil {
		return res, err
	}
	var errs []error
	for _, h := range rep.Sources {
		if !dueForRaise(h, rep.RaisedAt[h.SourceID], rep.AlertAfter[h.SourceID], now) {
			continue
		}
		raised, err := m.raiseOverdue(ctx, h, rep.RaisedAt[h.SourceID], now)
		if err != nil {
			m.log().Error("raise source.overdue", "tenant_id", h.TenantID, "source_id", h.SourceID, "err", err)
			errs = append(errs, err)
			continue
		}
		if raised {
			m.log().Warn("source overdue", "tenant_id", h.TenantID, "source_id", h.SourceID,
				"overdue_since", h.OverdueSince, "alert_after", h.AlertAfter)
			res.Overdue = append(res.Overdue, h)
		}
	}
	return res, errors.Join(errs...)
}

// dueForRaise: the source is overdue and source.overdue was not raised in
// this overdue period: never, before the deadline it missed (an earlier
// period, before a snapshot moved the deadline on), or a full alert_after ago.
func dueForRaise(h sdk.SourceHealth, raisedAt *time.Time, alert time.Duration, now time.Time) bool {
	if h.OverdueSince == nil {
		return false
	}
	if raisedAt == nil || raisedAt.Before(*h.OverdueSince) {
		return true
	}
	return alert > 0 && now.Sub(*raisedAt) >= alert
}

func (m *Monitor) raiseOverdue(ctx context.Context, h sdk.SourceHealth, prev *time.Time, now time.Time) (bool, error) {
	raised := false
	err := m.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		ok, err := store.MarkOverdueRaised(ctx, tx, h.TenantID, h.SourceID, prev, now)
		if err != nil || !ok {
			return err
		}
		tenant := h.TenantID
		raised = true
		return store.AddEvent(ctx, tx, &store.Event{TenantID: &tenant, Type: sdk.EventSourceOverdue,
			ObjectID: h.SourceID, CreatedAt: now}, h)
	})
	if err != nil {
		return false, fmt.Errorf("source %s: %w", h.SourceID, err)
	}
	return raised, nil
}

// markOffline records status offline for agents silent past OfflineAfter
// and raises agent.offline for each, in one transaction.
func (m *Monitor) markOffline(ctx context.Context, now time.Time) ([]string, error) {
	var ids []string
	err := m.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		ids = nil
		agents, err := store.MarkAgentsOffline(ctx, tx, now.Add(-m.offlineAfter()), now)
		if err != nil || len(agents) == 0 {
			return err
		}
		running, err := store.RunningJobsByAgent(ctx, tx, "")
		if err != nil {
			return err
		}
		for i := range agents {
			a := &agents[i]
			out := AgentOut(a, now, m.offlineAfter(), running[a.ID])
			if err := store.AddEvent(ctx, tx, &store.Event{Type: sdk.EventAgentOffline, ObjectID: a.ID, CreatedAt: now}, out); err != nil {
				return err
			}
			ids = append(ids, a.ID)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("mark agents offline: %w", err)
	}
	for _, id := range ids {
		m.log().Warn("agent offline", "agent_id", id)
	}
	return ids, nil
}
