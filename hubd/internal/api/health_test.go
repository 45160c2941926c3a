package api

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/health"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// fakeClock is a settable clock for the API and the health monitor.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// withClock makes the API run on a fake clock starting now, and returns a
// health monitor on the same clock.
func (e *testEnv) withClock() (*fakeClock, *health.Monitor) {
	clk := &fakeClock{now: time.Now().UTC()}
	e.srv.cfg.Now = clk.Now
	return clk, &health.Monitor{DB: e.db, Now: clk.Now, OfflineAfter: e.srv.cfg.AgentOfflineAfter}
}

// eventsOf lists the events of a type (all tenants), oldest first.
func (e *testEnv) eventsOf(typ string) []store.Event {
	e.t.Helper()
	evs, err := store.EventsAfter(context.Background(), e.db, store.EventFilter{Types: []string{typ}})
	require.NoError(e.t, err)
	return evs
}

func (e *testEnv) heartbeat(ag *agentFixture, req sdk.HeartbeatRequest) sdk.HeartbeatResponse {
	e.t.Helper()
	var resp sdk.HeartbeatResponse
	e.call("POST", "/api/v1/agent/heartbeat", ag.Token, req, 200, &resp)
	return resp
}

// backup runs one backup of a's source on ag to the given end.
func (e *testEnv) backup(a *tenantFixture, ag *agentFixture, status sdk.JobStatus) {
	e.t.Helper()
	cj := e.claimOne(a, ag)
	req := sdk.CompleteRequest{LeaseEpoch: cj.LeaseEpoch, Status: status}
	if status == sdk.JobCompleted {
		req.Snapshot = &sdk.SnapshotReport{SHA256: strings.Repeat("0", 64), LocalPath: "p",
			StartedAt: time.Now(), FinishedAt: time.Now()}
	} else {
		req.ErrorMessage, req.Permanent = "connection refused", true
	}
	e.call("POST", "/api/v1/agent/jobs/"+cj.ID+"/complete", ag.Token, req, 200, nil)
}

func TestAgentDrain(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ag := e.enrollAgent("a1")
		resp := e.heartbeat(ag, sdk.HeartbeatRequest{Version: "1.2.3", StorageFreeBytes: new(int64(40 << 30)),
			StorageTotalBytes: new(int64(100 << 30))})
		require.False(t, resp.Draining)
		running := e.claimOne(a, ag) // a job it holds when drained

		var got sdk.Agent
		e.call("POST", "/api/v1/agents/"+ag.ID+"/drain", e.admin, nil, 200, &got)
		require.True(t, got.Draining)
		require.Equal(t, sdk.AgentDraining, got.Status)
		require.Equal(t, "1.2.3", got.Version)
		require.Equal(t, int64(40<<30), *got.StorageFreeBytes)
		require.Equal(t, int64(100<<30), *got.StorageTotalBytes)
		require.Equal(t, 1, got.RunningJobs)
		e.call("POST", "/api/v1/agents/"+ag.ID+"/drain", e.admin, nil, 200, &got) // idempotent

		evs := e.eventsOf(sdk.EventAgentDraining)
		require.Len(t, evs, 1, "a second drain changes no status")
		require.Nil(t, evs[0].TenantID)
		var data sdk.Agent
		require.NoError(t, json.Unmarshal(evs[0].Data, &data))
		require.Equal(t, ag.ID, data.ID)
		require.True(t, data.Draining)
		var audit sdk.Page[sdk.AuditEvent]
		e.call("GET", "/api/v1/audit?action=agent.drain", e.admin, nil, 200, &audit)
		require.Len(t, audit.Items, 2)
		require.Equal(t, ag.ID, audit.Items[0].ObjectID)

		// The running job finishes; no new one is handed out.
		e.call("POST", "/api/v1/agent/jobs/"+running.ID+"/complete", ag.Token, sdk.CompleteRequest{
			LeaseEpoch: running.LeaseEpoch, Status: sdk.JobCompleted, Snapshot: &sdk.SnapshotReport{
				SHA256: strings.Repeat("0", 64), LocalPath: "p", StartedAt: time.Now(), FinishedAt: time.Now()}}, 200, nil)
		var job sdk.Job
		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, &job)
		var cr sdk.ClaimResponse
		e.call("POST", "/api/v1/agent/jobs/claim", ag.Token, sdk.ClaimRequest{WaitSeconds: 1}, 200, &cr)
		require.Nil(t, cr.Job, "a drained agent claims nothing")
		e.call("GET", "/api/v1/jobs/"+job.ID, a.Owner, nil, 200, &job)
		require.Equal(t, sdk.JobQueued, job.Status)
		require.True(t, e.heartbeat(ag, sdk.HeartbeatRequest{}).Draining, "the heartbeat tells the agent")

		e.call("POST", "/api/v1/agents/"+ag.ID+"/undrain", e.admin, nil, 200, &got)
		require.False(t, got.Draining)
		require.Equal(t, sdk.AgentOnline, got.Status)
		require.Len(t, e.eventsOf(sdk.EventAgentOnline), 1, "undrain: back online")
		e.call("POST", "/api/v1/agent/jobs/claim", ag.Token, sdk.ClaimRequest{WaitSeconds: 1}, 200, &cr)
		require.NotNil(t, cr.Job)
		require.Equal(t, job.ID, cr.Job.ID)

		// Platform admins only; unknown agents are not found.
		e.apiErr("POST", "/api/v1/agents/"+ag.ID+"/drain", a.Owner, nil, 403)
		e.apiErr("POST", "/api/v1/agents/nope/drain", e.admin, nil, 404)
		e.apiErr("POST", "/api/v1/agents/nope/undrain", e.admin, nil, 404)
	})
}

func TestHeartbeatStorageFigures(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		ag := e.enrollAgent("a1")
		for _, req := range []sdk.HeartbeatRequest{
			{StorageFreeBytes: new(int64(-1))},
			{StorageTotalBytes: new(int64(-1))},
			{StorageFreeBytes: new(int64(11)), StorageTotalBytes: new(int64(10))},
		} {
			e.apiErr("POST", "/api/v1/agent/heartbeat", ag.Token, req, 400)
		}
		e.heartbeat(ag, sdk.HeartbeatRequest{StorageFreeBytes: new(int64(5)), StorageTotalBytes: new(int64(10))})
		e.heartbeat(ag, sdk.HeartbeatRequest{}) // figures not sent: the last ones stay
		var got sdk.Agent
		e.call("GET", "/api/v1/agents/"+ag.ID, e.admin, nil, 200, &got)
		require.Equal(t, int64(5), *got.StorageFreeBytes)
		require.Equal(t, int64(10), *got.StorageTotalBytes)
	})
}

func TestAgentOnlineOffline(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		clk, mon := e.withClock()
		ctx := context.Background()
		ag := e.enrollAgent("a1")
		e.heartbeat(ag, sdk.HeartbeatRequest{})
		res, err := mon.RunOnce(ctx)
		require.NoError(t, err)
		require.Empty(t, res.Offline)

		clk.Add(2 * time.Minute) // silent past AgentOfflineAfter
		res, err = mon.RunOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, []string{ag.ID}, res.Offline)
		res, err = mon.RunOnce(ctx)
		require.NoError(t, err)
		require.Empty(t, res.Offline, "recorded once")
		off := e.eventsOf(sdk.EventAgentOffline)
		require.Len(t, off, 1)
		require.Nil(t, off[0].TenantID)
		var data sdk.Agent
		require.NoError(t, json.Unmarshal(off[0].Data, &data))
		require.Equal(t, sdk.AgentOffline, data.Status)

		e.heartbeat(ag, sdk.HeartbeatRequest{}) // back after silence
		on := e.eventsOf(sdk.EventAgentOnline)
		require.Len(t, on, 1)
		require.NoError(t, json.Unmarshal(on[0].Data, &data))
		require.Equal(t, sdk.AgentOnline, data.Status)
		e.heartbeat(ag, sdk.HeartbeatRequest{})
		require.Len(t, e.eventsOf(sdk.EventAgentOnline), 1, "no change, no event")

		// An agent shutting down says draining: that is a change too.
		e.heartbeat(ag, sdk.HeartbeatRequest{Status: sdk.AgentDraining})
		require.Len(t, e.eventsOf(sdk.EventAgentDraining), 1)
	})
}

// statusOf returns the caller's status.
func (e *testEnv) statusOf(token string) sdk.Status {
	e.t.Helper()
	var st sdk.Status
	e.call("GET", "/api/v1/status", token, nil, 200, &st)
	return st
}

func problemCodes(h sdk.SourceHealth) []string {
	var out []string
	for _, p := range h.Problems {
		out = append(out, sdk.ProblemCode(p))
	}
	return out
}

func unhealthy(st sdk.Status, sourceID string) *sdk.SourceHealth {
	for i := range st.Health.UnhealthySources {
		if st.Health.UnhealthySources[i].SourceID == sourceID {
			return &st.Health.UnhealthySources[i]
		}
	}
	return nil
}

func TestStatusHealth(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		clk, _ := e.withClock()
		a, b := e.newTenant("acme"), e.newTenant("bravo")

		// No agent at all: the hub says nothing can run.
		st := e.statusOf(a.Owner)
		require.False(t, st.Health.Healthy)
		require.Len(t, st.Health.Problems, 1)
		require.Equal(t, sdk.HealthNoAgent, sdk.ProblemCode(st.Health.Problems[0]))
		h := unhealthy(st, a.Source)
		require.NotNil(t, h)
		require.Equal(t, []string{sdk.HealthNeverBackedUp}, problemCodes(*h))
		require.Equal(t, "web", h.SourceName)
		require.Equal(t, a.ID, h.TenantID)
		require.Len(t, st.Health.UnhealthySources, 1, "only the caller's tenant")
		require.Empty(t, st.Agents.Items, "tenants see agent counts only")

		ag := e.enrollAgent("a1")
		e.heartbeat(ag, sdk.HeartbeatRequest{Version: "9.9", StorageFreeBytes: new(int64(1)), StorageTotalBytes: new(int64(2))})
		e.backup(a, ag, sdk.JobCompleted)
		st = e.statusOf(a.Owner)
		require.True(t, st.Health.Healthy, "%+v", st.Health)
		require.Equal(t, 1, st.Health.Sources)
		require.Equal(t, sdk.AgentsSummary{Total: 1, Online: 1}, st.Agents)

		// The admin sees every tenant's sources and the agents in full.
		adm := e.statusOf(e.admin)
		require.Equal(t, 2, adm.Health.Sources)
		require.NotNil(t, unhealthy(adm, b.Source))
		require.Nil(t, unhealthy(adm, a.Source))
		require.Len(t, adm.Agents.Items, 1)
		require.Equal(t, "9.9", adm.Agents.Items[0].Version)

		// Overdue: hourly schedule, default alert after 2×1h+1h = 3h.
		var sch sdk.Schedule
		e.call("POST", "/api/v1/schedules", a.Owner, sdk.CreateScheduleRequest{SourceID: a.Source, IntervalMinutes: 60}, 201, &sch)
		clk.Add(3*time.Hour - time.Minute)
		e.heartbeat(ag, sdk.HeartbeatRequest{})
		require.True(t, e.statusOf(a.Owner).Health.Healthy)
		clk.Add(2 * time.Minute)
		e.heartbeat(ag, sdk.HeartbeatRequest{})
		st = e.statusOf(a.Owner)
		h = unhealthy(st, a.Source)
		require.NotNil(t, h)
		require.Equal(t, []string{sdk.HealthOverdue}, problemCodes(*h))
		require.Equal(t, "3h", h.AlertAfter)
		require.NotNil(t, h.OverdueSince)
		require.Contains(t, h.Problems[0], "alert after 3h")

		// alert_after on the schedule moves the threshold.
		e.call("PUT", "/api/v1/schedules/"+sch.ID, a.Owner, sdk.UpdateScheduleRequest{AlertAfter: new("36h")}, 200, &sch)
		require.Equal(t, "1d12h", sch.AlertAfter)
		require.True(t, e.statusOf(a.Owner).Health.Healthy)
		e.apiErr("PUT", "/api/v1/schedules/"+sch.ID, a.Owner, sdk.UpdateScheduleRequest{AlertAfter: new("1m")}, 400)
		e.apiErr("PUT", "/api/v1/schedules/"+sch.ID, a.Owner, sdk.UpdateScheduleRequest{AlertAfter: new("soon")}, 400)
		var back sdk.Schedule
		e.call("PUT", "/api/v1/schedules/"+sch.ID, a.Owner, sdk.UpdateScheduleRequest{AlertAfter: new("")}, 200, &back)
		require.Empty(t, back.AlertAfter, `"" is back to the default`)
		require.False(t, e.statusOf(a.Owner).Health.Healthy)

		// Three failures in a row: failing, with the last error.
		e.backup(a, ag, sdk.JobCompleted)
		for range 2 {
			clk.Add(time.Second)
			e.backup(a, ag, sdk.JobFailed)
		}
		st = e.statusOf(a.Owner)
		require.True(t, st.Health.Healthy, "two failures are not yet failing: %+v", st.Health)
		clk.Add(time.Second)
		e.backup(a, ag, sdk.JobFailed)
		h = unhealthy(e.statusOf(a.Owner), a.Source)
		require.NotNil(t, h)
		require.Equal(t, []string{sdk.HealthFailing}, problemCodes(*h))
		require.Equal(t, 3, h.ConsecutiveFailures)
		require.Equal(t, "connection refused", h.LastError)
		require.Contains(t, h.Problems[0], "connection refused")
		clk.Add(time.Second)
		e.backup(a, ag, sdk.JobCompleted)
		require.True(t, e.statusOf(a.Owner).Health.Healthy, "a success ends the streak")

		// The agent holding its snapshots goes silent.
		clk.Add(2 * time.Minute)
		st = e.statusOf(a.Owner)
		h = unhealthy(st, a.Source)
		require.NotNil(t, h)
		require.Equal(t, []string{sdk.HealthAgentOffline}, problemCodes(*h))
		require.Equal(t, []string{ag.ID}, h.OfflineAgents)
		require.Equal(t, sdk.AgentsSummary{Total: 1, Offline: 1}, st.Agents)
		require.Contains(t, st.Health.Problems[0], sdk.HealthNoAgent)

		// A disabled source is not watched.
		e.call("PATCH", "/api/v1/sources/"+b.Source, b.Owner, map[string]string{"status": "disabled"}, 200, nil)
		require.Equal(t, 0, e.statusOf(b.Owner).Health.Sources)
	})
}

func TestSourceOverdueRaisedOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		clk, mon := e.withClock()
		ctx := context.Background()
		a, b := e.newTenant("acme"), e.newTenant("bravo")
		ag := e.enrollAgent("a1")
		e.heartbeat(ag, sdk.HeartbeatRequest{})
		e.backup(a, ag, sdk.JobCompleted)
		e.call("POST", "/api/v1/schedules", a.Owner, sdk.CreateScheduleRequest{SourceID: a.Source, IntervalMinutes: 60,
			AlertAfter: "2h"}, 201, nil)
		sweep := func() []sdk.SourceHealth {
			t.Helper()
			e.heartbeat(ag, sdk.HeartbeatRequest{})
			res, err := mon.RunOnce(ctx)
			require.NoError(t, err)
			return res.Overdue
		}
		require.Empty(t, sweep())
		clk.Add(2*time.Hour + time.Minute)
		got := sweep()
		require.Len(t, got, 1)
		require.Equal(t, a.Source, got[0].SourceID)
		for range 3 {
			clk.Add(10 * time.Minute)
			require.Empty(t, sweep(), "raised once per overdue period, not on every sweep")
		}
		evs := e.eventsOf(sdk.EventSourceOverdue)
		require.Len(t, evs, 1)
		require.Equal(t, a.ID, *evs[0].TenantID)
		require.Equal(t, a.Source, evs[0].ObjectID)
		var data sdk.SourceHealth
		require.NoError(t, json.Unmarshal(evs[0].Data, &data))
		require.Equal(t, a.Source, data.SourceID)
		require.True(t, data.HasProblem(sdk.HealthOverdue))

		// Still overdue a whole alert_after later: raised again, once.
		clk.Add(2 * time.Hour)
		require.Len(t, sweep(), 1)
		require.Empty(t, sweep())

		// A snapshot ends the period; the next one raises anew.
		e.backup(a, ag, sdk.JobCompleted)
		require.Empty(t, sweep())
		clk.Add(2*time.Hour + time.Minute)
		require.Len(t, sweep(), 1)
		require.Len(t, e.eventsOf(sdk.EventSourceOverdue), 3)

		// B's daily schedule, never backed up: default alert after 2×24h+1h
		// from the schedule's creation.
		e.call("POST", "/api/v1/schedules", b.Owner, sdk.CreateScheduleRequest{SourceID: b.Source, Cron: "0 3 * * *"}, 201, nil)
		clk.Add(48 * time.Hour)
		for _, h := range sweep() {
			require.NotEqual(t, b.Source, h.SourceID)
		}
		clk.Add(time.Hour + time.Minute)
		found := false
		for _, h := range sweep() {
			found = found || h.SourceID == b.Source
		}
		require.True(t, found, "never backed up, and its schedule is 49h old")
	})
}

func TestScheduleRuns(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, b := e.newTenant("acme"), e.newTenant("bravo")
		var sch sdk.Schedule
		e.call("POST", "/api/v1/schedules", a.Owner, sdk.CreateScheduleRequest{SourceID: a.Source, IntervalMinutes: 60,
			AlertAfter: "36h"}, 201, &sch)
		require.Equal(t, "1d12h", sch.AlertAfter)
		e.apiErr("POST", "/api/v1/schedules", a.Owner, sdk.CreateScheduleRequest{SourceID: a.Source, IntervalMinutes: 60,
			AlertAfter: "400d"}, 400)
		ctx := context.Background()
		t0 := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Hour)
		var job sdk.Job
		e.call("POST", "/api/v1/jobs", a.Owner, sdk.CreateJobRequest{SourceID: a.Source}, 201, &job)
		for i, r := range []store.ScheduleRun{
			{Outcome: store.SlotQueued, JobID: &job.ID},
			{Outcome: store.SlotSkippedActive, JobID: &job.ID},
			{Outcome: store.SlotSkippedDisabled},
		} {
			r.TenantID, r.ScheduleID = a.ID, sch.ID
			r.Slot = t0.Add(time.Duration(i) * time.Hour)
			r.CreatedAt = r.Slot
			ok, err := store.ClaimSlot(ctx, e.db, &r)
			require.NoError(t, err)
			require.True(t, ok)
		}
		var runs sdk.Page[sdk.ScheduleRun]
		e.call("GET", "/api/v1/schedules/"+sch.ID+"/runs?limit=2", a.Member, nil, 200, &runs)
		require.Len(t, runs.Items, 2)
		require.NotEmpty(t, runs.NextCursor)
		require.Equal(t, sdk.SlotSkippedDisabled, runs.Items[0].Outcome)
		require.False(t, runs.Items[0].Fired)
		require.Equal(t, "the source is disabled", runs.Items[0].Reason)
		require.Equal(t, sdk.SlotSkippedActive, runs.Items[1].Outcome)
		require.Contains(t, runs.Items[1].Reason, job.ID)
		next := runs.NextCursor
		runs = sdk.Page[sdk.ScheduleRun]{} // decoding into used items would keep their fields
		e.call("GET", "/api/v1/schedules/"+sch.ID+"/runs?cursor="+next, a.Member, nil, 200, &runs)
		require.Len(t, runs.Items, 1)
		require.True(t, runs.Items[0].Fired)
		require.Equal(t, job.ID, runs.Items[0].JobID)
		require.Empty(t, runs.Items[0].Reason)
		require.Equal(t, t0, runs.Items[0].Slot)

		e.apiErr("GET", "/api/v1/schedules/"+sch.ID+"/runs", b.Owner, nil, 404)
		e.apiErr("GET", "/api/v1/schedules/nope/runs", a.Owner, nil, 404)
		e.apiErr("GET", "/api/v1/schedules/"+sch.ID+"/runs?limit=0", a.Owner, nil, 400)
	})
}
