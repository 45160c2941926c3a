package health

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/retention"
	"github.com/xvault/xvault/hubd/internal/schedule"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// Limits of a schedule's alert_after.
const (
	MinAlertAfter = 5 * time.Minute
	MaxAlertAfter = 365 * 24 * time.Hour
)

// ParseAlertAfter reads a schedule's alert_after in the retention duration
// syntax ("36h", "2d", "1d12h") and returns it in minutes (5m to 365d).
func ParseAlertAfter(s string) (int, error) {
	d, err := retention.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < MinAlertAfter || d > MaxAlertAfter {
		return 0, fmt.Errorf("must be between 5m and 365d")
	}
	return int(d / time.Minute), nil
}

// FormatAlertAfter writes a stored alert_after (minutes) as the API shows
// it ("1d12h"); "" for none.
func FormatAlertAfter(minutes *int) string {
	if minutes == nil || *minutes <= 0 {
		return ""
	}
	return retention.FormatDuration(time.Duration(*minutes) * time.Minute)
}

// Period is the longest gap between the schedule's next slots after now
// (its interval; for a cron spec, the longest of the next 8 gaps, so a
// weekdays-only spec counts its weekend). Zero if it has no next slot.
func Period(sch *store.Schedule, now time.Time) time.Duration {
	iv := 0
	if sch.IntervalMinutes != nil {
		iv = *sch.IntervalMinutes
	}
	spec, f := schedule.Parse(deref(sch.Cron), iv, sch.Timezone, sch.CreatedAt)
	if len(f) > 0 {
		return 0
	}
	if spec.Interval > 0 {
		return spec.Interval
	}
	var longest time.Duration
	t := spec.Next(now)
	for range 8 {
		if t.IsZero() {
			break
		}
		next := spec.Next(t)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(t))
		t = next
	}
	return longest
}

// AlertAfter is how long the schedule's source may go without a completed
// snapshot: the schedule's alert_after, else twice its period plus 1 h.
// Zero when neither is known (a spec with no next slot).
func AlertAfter(sch *store.Schedule, now time.Time) time.Duration {
	if sch.AlertAfterMin != nil && *sch.AlertAfterMin > 0 {
		return time.Duration(*sch.AlertAfterMin) * time.Minute
	}
	p := Period(sch, now)
	if p <= 0 {
		return 0
	}
	return 2*p + time.Hour
}

// Params select the sources to check.
type Params struct {
	TenantID     string // "" = every tenant
	Now          time.Time
	OfflineAfter time.Duration // default DefaultOfflineAfter
}

// Report is the health of every active source, plus the state its
// overdue sweep needs.
type Report struct {
	Sources []sdk.SourceHealth
	// RaisedAt is when source.overdue was last raised per source id.
	RaisedAt map[string]*time.Time
	// AlertAfter is the source's shortest alert_after, by source id.
	AlertAfter map[string]time.Duration
}

// facts are the rows one check reads.
type facts struct {
	sources   []store.HealthSource
	lastSnap  map[string]time.Time
	lastOK    map[string]time.Time
	recent    map[string][]store.BackupOutcome
	holders   []store.SnapshotHolder
	schedules []store.Schedule
	agents    map[string]*store.Agent
}

func load(ctx context.Context, db bun.IDB, tenantID string) (*facts, error) {
	f := &facts{agents: map[string]*store.Agent{}}
	var err error
	if f.sources, err = store.ActiveSources(ctx, db, tenantID); err != nil {
		return nil, err
	}
	if f.lastSnap, err = store.LastSnapshotTimes(ctx, db, tenantID); err != nil {
		return nil, err
	}
	if f.lastOK, err = store.LastSuccessTimes(ctx, db, tenantID); err != nil {
		return nil, err
	}
	if f.recent, err = store.RecentBackups(ctx, db, tenantID, sdk.FailingAfter); err != nil {
		return nil, err
	}
	if f.holders, err = store.SnapshotHolders(ctx, db, tenantID); err != nil {
		return nil, err
	}
	if f.schedules, err = store.EnabledSchedules(ctx, db, tenantID); err != nil {
		return nil, err
	}
	agents, err := store.AllAgents(ctx, db)
	if err != nil {
		return nil, err
	}
	for i := range agents {
		f.agents[agents[i].ID] = &agents[i]
	}
	return f, nil
}

// Check computes the health of every active source of p.TenantID (all
// tenants when ""), healthy ones included, by tenant and name.
func Check(ctx context.Context, db bun.IDB, p Params) (*Report, error) {
	if p.OfflineAfter <= 0 {
		p.OfflineAfter = DefaultOfflineAfter
	}
	now := p.Now.UTC()
	f, err := load(ctx, db, p.TenantID)
	if err != nil {
		return nil, fmt.Errorf("check source health: %w", err)
	}
	schedules := map[string][]*store.Schedule{}
	for i := range f.schedules {
		s := &f.schedules[i]
		schedules[s.SourceID] = append(schedules[s.SourceID], s)
	}
	holders := map[string][]store.SnapshotHolder{}
	for _, h := range f.holders {
		holders[h.SourceID] = append(holders[h.SourceID], h)
	}
	r := &Report{RaisedAt: map[string]*time.Time{}, AlertAfter: map[string]time.Duration{}}
	for _, src := range f.sources {
		h := sdk.SourceHealth{SourceID: src.ID, SourceName: src.Name, TenantID: src.TenantID, Problems: []string{}}
		last, hasSnap := f.lastSnap[src.ID]
		if hasSnap {
			h.LastSnapshotAt = &last
		} else {
			h.Problems = append(h.Problems, sdk.HealthNeverBackedUp+": no completed snapshot yet")
		}
		if ok, found := f.lastOK[src.ID]; found {
			h.LastSuccessAt = &ok
		}
		if alert := checkOverdue(&h, schedules[src.ID], now); alert > 0 {
			r.AlertAfter[src.ID] = alert
		}
		checkFailing(&h, f.recent[src.ID])
		checkHolders(&h, holders[src.ID], f.agents, now, p.OfflineAfter)
		h.Healthy = len(h.Problems) == 0
		r.Sources = append(r.Sources, h)
		r.RaisedAt[src.ID] = src.OverdueRaisedAt
	}
	return r, nil
}

// checkOverdue adds the overdue problem: for each enabled schedule, the
// source must have a completed snapshot within its alert_after of the
// later of the last snapshot (or successful backup) and the schedule's
// creation. It sets
// AlertAfter and OverdueSince (the earliest missed deadline) and returns
// the shortest alert_after (0 without schedules).
func checkOverdue(h *sdk.SourceHealth, schedules []*store.Schedule, now time.Time) time.Duration {
	var shortest time.Duration
	var since time.Time
	var missed time.Duration
	last := latest(h.LastSnapshotAt, h.LastSuccessAt) // the snapshot, or the job that made it
	for _, sch := range schedules {
		alert := AlertAfter(sch, now)
		if alert <= 0 {
			continue
		}
		if shortest == 0 || alert < shortest {
			shortest = alert
		}
		from := sch.CreatedAt
		if last != nil && last.After(from) {
			from = *last
		}
		if deadline := from.Add(alert); now.After(deadline) && (since.IsZero() || deadline.Before(since)) {
			since, missed = deadline, alert
		}
	}
	if shortest > 0 {
		h.AlertAfter = retention.FormatDuration(shortest)
	}
	if since.IsZero() {
		return shortest
	}
	h.OverdueSince = &since
	text := fmt.Sprintf("no completed snapshot since its schedule began %s ago (alert after %s)",
		roughly(now.Sub(since.Add(-missed))), retention.FormatDuration(missed))
	if last != nil && !last.Before(since.Add(-missed)) {
		text = fmt.Sprintf("no completed snapshot for %s (alert after %s)",
			roughly(now.Sub(*last)), retention.FormatDuration(missed))
	}
	h.Problems = append(h.Problems, sdk.HealthOverdue+": "+text)
	return shortest
}

// checkFailing counts the failed backups since the last completed one and
// adds the failing problem when the last FailingAfter all failed.
func checkFailing(h *sdk.SourceHealth, recent []store.BackupOutcome) {
	for _, b := range recent {
		if b.Status != store.JobFailed {
			break
		}
		h.ConsecutiveFailures++
		if h.LastFailureAt == nil {
			at := b.FinishedAt
			h.LastFailureAt = &at
			if b.Error != nil {
				h.LastError = *b.Error
			}
		}
	}
	if h.ConsecutiveFailures >= sdk.FailingAfter {
		text := fmt.Sprintf("the last %d backups failed", sdk.FailingAfter)
		if h.LastError != "" {
			text += " (last error: " + h.LastError + ")"
		}
		h.Problems = append(h.Problems, sdk.HealthFailing+": "+text)
	}
}

// checkHolders adds a problem for each offline agent holding snapshots of
// the source (an agent no longer enrolled counts as offline). Agents are
// named by id only: tenants see this too.
func checkHolders(h *sdk.SourceHealth, holders []store.SnapshotHolder, agents map[string]*store.Agent,
	now time.Time, offlineAfter time.Duration) {
	sort.Slice(holders, func(i, j int) bool { return holders[i].AgentID < holders[j].AgentID })
	for _, hd := range holders {
		a, ok := agents[hd.AgentID]
		if ok && AgentStatus(a, now, offlineAfter) != sdk.AgentOffline {
			continue
		}
		where := "offline agent " + hd.AgentID
		if !ok {
			where = "agent " + hd.AgentID + ", no longer enrolled"
		}
		h.OfflineAgents = append(h.OfflineAgents, hd.AgentID)
		h.Problems = append(h.Problems, fmt.Sprintf("%s: %d snapshot(s) live on %s",
			sdk.HealthAgentOffline, hd.N, where))
	}
}

// Summarize is the fleet health of Status: the unhealthy sources, and
// whether any agent takes jobs while there are sources to back up.
func Summarize(sources []sdk.SourceHealth, agents sdk.AgentsSummary) sdk.HealthSummary {
	out := sdk.HealthSummary{Sources: len(sources), Problems: []string{}, UnhealthySources: []sdk.SourceHealth{}}
	for _, h := range sources {
		if !h.Healthy {
			out.UnhealthySources = append(out.UnhealthySources, h)
		}
	}
	if len(sources) > 0 && agents.Online-agents.Draining <= 0 {
		out.Problems = append(out.Problems, fmt.Sprintf("%s: no agent is online and taking jobs (%d enrolled, %d offline, %d draining)",
			sdk.HealthNoAgent, agents.Total, agents.Offline, agents.Draining))
	}
	out.Healthy = len(out.UnhealthySources) == 0 && len(out.Problems) == 0
	return out
}

// latest is the later of two times (nil when both are).
func latest(a, b *time.Time) *time.Time {
	if a == nil || (b != nil && b.After(*a)) {
		return b
	}
	return a
}

// roughly formats a duration to the minute ("2d1h3m"), "0m" below that.
func roughly(d time.Duration) string {
	d = d.Truncate(time.Minute)
	if d < time.Minute {
		return "0m"
	}
	return retention.FormatDuration(d)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
