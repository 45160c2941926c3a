package monitor

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"sync"

	"github.com/xvault/xvault/sdk"
)

// Hub is what the monitor reads and does through the hub's REST API;
// *sdk.Client satisfies it.
type Hub interface {
	Status(ctx context.Context) (*sdk.Status, error)
	ListTenants(ctx context.Context, opts sdk.ListOptions) (*sdk.Page[sdk.Tenant], error)
	ListJobs(ctx context.Context, opts sdk.JobListOptions) (*sdk.Page[sdk.Job], error)
	ListAgents(ctx context.Context, opts sdk.ListOptions) (*sdk.Page[sdk.Agent], error)
	ListSources(ctx context.Context, opts sdk.SourceListOptions) (*sdk.Page[sdk.Source], error)
	ListSnapshots(ctx context.Context, opts sdk.SnapshotListOptions) (*sdk.Page[sdk.Snapshot], error)
	GetJob(ctx context.Context, id string) (*sdk.Job, error)
	CancelJob(ctx context.Context, id string) (*sdk.Job, error)
	CreateJob(ctx context.Context, req sdk.CreateJobRequest) (*sdk.Job, bool, error)
}

// EventSource is the live event stream (sdk.Client.Events): it reconnects
// by itself, yields transport errors without ending, and ends on ctx done
// or a 401/403/404.
type EventSource interface {
	Events(ctx context.Context, opts sdk.EventsOptions) iter.Seq2[sdk.Event, error]
}

// The SDK client is what the command passes.
var (
	_ Hub         = (*sdk.Client)(nil)
	_ EventSource = (*sdk.Client)(nil)
	_ Drainer     = (*sdk.Client)(nil)
)

// Drainer drains and undrains agents (platform admins).
type Drainer interface {
	DrainAgent(ctx context.Context, id string) (*sdk.Agent, error)
	UndrainAgent(ctx context.Context, id string) (*sdk.Agent, error)
}

// How much the initial load (and every reload) fetches.
const (
	jobsLimit       = 200 // newest jobs, plus every active one
	snapshotsLimit  = 200 // newest snapshots
	sourcePages     = 10  // at most this many pages of 200 sources
	lastSnapLookups = 200 // sources whose last snapshot is looked up one by one
	loadParallel    = 8
)

// loaded is one full reload of what the panes show.
type loaded struct {
	jobs      []sdk.Job
	agents    []sdk.Agent
	sources   []sdk.Source
	snapshots []sdk.Snapshot
	// lastSnap is each source's newest snapshot where the newest page of
	// snapshots did not have one.
	lastSnap  map[string]sdk.Snapshot
	agentsErr string // "agents: platform admins only"
	// health is the hub's word on the sources that need attention (GET
	// /api/v1/status); nil when this hub does not say.
	health map[string]sdk.SourceHealth
}

// load fetches everything. tenants lists the hubs to read tenant objects
// through: one (a tenant's token or a named tenant) or one per tenant (a
// platform admin watching all tenants).
func load(ctx context.Context, h Hub, perTenant func(id string) Hub) (*loaded, error) {
	out := &loaded{lastSnap: map[string]sdk.Snapshot{}}
	hubs := []Hub{h}
	if perTenant != nil {
		hubs = nil
		for t, err := range sdk.All(ctx, func(ctx context.Context, cursor string) (*sdk.Page[sdk.Tenant], error) {
			return h.ListTenants(ctx, sdk.ListOptions{Limit: 500, Cursor: cursor})
		}) {
			if err != nil {
				return nil, fmt.Errorf("list tenants: %w", err)
			}
			hubs = append(hubs, perTenant(t.ID))
		}
	}
	st, err := h.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	if st.Health.Sources > 0 || st.Health.UnhealthySources != nil {
		out.health = map[string]sdk.SourceHealth{}
		for _, sh := range st.Health.UnhealthySources {
			out.health[sh.SourceID] = sh
		}
	}
	agents, err := h.ListAgents(ctx, sdk.ListOptions{Limit: 500})
	switch {
	case errors.Is(err, sdk.ErrPermissionDenied):
		out.agentsErr = "agents: platform admins only"
	case err != nil:
		return nil, fmt.Errorf("list agents: %w", err)
	default:
		out.agents = agents.Items
	}

	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, loadParallel)
	var wg sync.WaitGroup
	for _, th := range hubs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			part, err := loadTenant(ctx, th)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			out.jobs = append(out.jobs, part.jobs...)
			out.sources = append(out.sources, part.sources...)
			out.snapshots = append(out.snapshots, part.snapshots...)
			for k, v := range part.lastSnap {
				out.lastSnap[k] = v
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// loadTenant reads one tenant's jobs, sources and snapshots.
func loadTenant(ctx context.Context, h Hub) (*loaded, error) {
	out := &loaded{lastSnap: map[string]sdk.Snapshot{}}
	seen := map[string]bool{}
	for _, st := range []sdk.JobStatus{"", sdk.JobRunning, sdk.JobFinalizing, sdk.JobQueued} {
		limit := jobsLimit
		if st != "" {
			limit = 100
		}
		page, err := h.ListJobs(ctx, sdk.JobListOptions{ListOptions: sdk.ListOptions{Limit: limit}, Status: st})
		if err != nil {
			return nil, fmt.Errorf("list jobs: %w", err)
		}
		for _, j := range page.Items {
			if !seen[j.ID] {
				seen[j.ID] = true
				out.jobs = append(out.jobs, j)
			}
		}
	}
	cursor := ""
	for range sourcePages {
		page, err := h.ListSources(ctx, sdk.SourceListOptions{ListOptions: sdk.ListOptions{Limit: 200, Cursor: cursor}})
		if err != nil {
			return nil, fmt.Errorf("list sources: %w", err)
		}
		out.sources = append(out.sources, page.Items...)
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	snaps, err := h.ListSnapshots(ctx, sdk.SnapshotListOptions{ListOptions: sdk.ListOptions{Limit: snapshotsLimit}})
	if err != nil {
		return nil, fmt.Errorf("list snapshots: %w", err)
	}
	out.snapshots = snaps.Items
	has := map[string]bool{}
	for _, s := range snaps.Items {
		has[s.SourceID] = true
	}
	lookups := 0
	for _, src := range out.sources {
		if has[src.ID] || lookups >= lastSnapLookups {
			continue
		}
		lookups++
		page, err := h.ListSnapshots(ctx, sdk.SnapshotListOptions{ListOptions: sdk.ListOptions{Limit: 1}, SourceID: src.ID})
		if err != nil {
			return nil, fmt.Errorf("list snapshots of source %s: %w", src.ID, err)
		}
		if len(page.Items) > 0 {
			out.lastSnap[src.ID] = page.Items[0]
		}
	}
	return out, nil
}
