package monitor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

func TestGoldenJobs(t *testing.T) {
	for _, size := range []struct {
		name string
		w, h int
	}{{"jobs_80x24", 80, 24}, {"jobs_120x40", 120, 40}} {
		t.Run(size.name, func(t *testing.T) {
			m := start(t, fleet(sdk.RoleOwner), size.w, size.h)
			view := m.View()
			requireSize(t, view, size.w, size.h)
			golden(t, size.name, view)
		})
	}
}

func TestWiderTerminalShowsMoreColumns(t *testing.T) {
	narrow := start(t, fleet(sdk.RoleOwner), 80, 24).View()
	wide := start(t, fleet(sdk.RoleOwner), 120, 40).View()
	for _, col := range []string{"FILES", "WRITTEN", "AGENT", "TYPE"} {
		require.NotContains(t, strings.Split(narrow, "\n")[2], col)
		require.Contains(t, strings.Split(wide, "\n")[2], col)
	}
	for _, col := range []string{"ID", "SOURCE", "STATUS", "%", "RATE", "ETA", "AGE"} {
		require.Contains(t, strings.Split(narrow, "\n")[2], col)
	}
}

func TestTooSmall(t *testing.T) {
	m := start(t, fleet(sdk.RoleOwner), 120, 40)
	m.Update(tea.WindowSizeMsg{Width: 79, Height: 30})
	require.Equal(t, "xv monitor needs a terminal of at least 80×24 (this one is 79×30): make it bigger, or press q to quit.", m.View())
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 23})
	require.Contains(t, m.View(), "at least 80×24 (this one is 100×23)")
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	requireSize(t, m.View(), 80, 24)
}

func TestNavigation(t *testing.T) {
	m := start(t, fleet(sdk.RoleOwner), 80, 24)
	require.Equal(t, []string{"1a000000", "1a000000", "1a000000"}, rowIDs(m))
	p := m.panes[paneJobs]
	require.Equal(t, "1a000000-0000-4000-8000-000000000001", p.selected, "newest first")
	press(m, "j")
	require.Equal(t, "1a000000-0000-4000-8000-000000000002", p.selected)
	press(m, "G")
	require.Equal(t, "1a000000-0000-4000-8000-000000000003", p.selected)
	press(m, "j")
	require.Equal(t, 2, p.cursor, "stops at the bottom")
	press(m, "g")
	require.Equal(t, 0, p.cursor)
	press(m, "k")
	require.Equal(t, 0, p.cursor, "stops at the top")

	// The selection follows its job when a newer one arrives on top.
	press(m, "j")
	m.Update(event(t, sdk.EventJobCreated, sdk.Job{ID: "1a000000-0000-4000-8000-000000000004", TenantID: tenantA, SourceID: srcLost,
		Type: sdk.JobBackup, Status: sdk.JobQueued, CreatedAt: t0}, t0))
	require.Equal(t, "1a000000-0000-4000-8000-000000000002", p.selected)
	require.Equal(t, 2, p.cursor)

	// Tabs, details, sort.
	press(m, "enter")
	require.Contains(t, m.View(), "mysqldump: Got error: 1045")
	require.NotContains(t, m.View(), "── details", "zoomed: the detail pane fills the body")
	press(m, "esc")
	require.Contains(t, m.View(), "── details")
	press(m, "3")
	require.Equal(t, paneSources, m.tab)
	require.Contains(t, m.View(), "[3 Sources 3]")
	press(m, "s")
	require.Equal(t, "health", m.panes[paneSources].sortName())
	require.Equal(t, "legacy-ftp", m.rowsOf(paneSources)[0].cells[0], "unhealthy first")
	press(m, "4")
	golden(t, "snapshots_80x24", m.View())
	press(m, "2")
	require.Contains(t, m.View(), "agents: platform admins only")
}

func TestFilter(t *testing.T) {
	m := start(t, fleet(sdk.RoleOwner), 80, 24)
	press(m, "/")
	require.True(t, m.editing)
	typeText(m, "status:failed")
	require.Contains(t, m.View(), "/status:failed")
	press(m, "enter")
	require.False(t, m.editing)
	require.Len(t, m.rowsOf(paneJobs), 1)
	require.Equal(t, "1a000000-0000-4000-8000-000000000002", m.panes[paneJobs].selected)
	require.Contains(t, m.View(), "/status:failed · f all")

	// A bad key is said, and editing goes on.
	press(m, "/")
	m.input.SetValue("")
	typeText(m, "colour:red")
	press(m, "enter")
	require.True(t, m.editing)
	require.Contains(t, m.message, `unknown filter key "colour"`)
	press(m, "esc")
	require.False(t, m.editing)
	require.Len(t, m.rowsOf(paneJobs), 1, "the old filter stays")

	press(m, "esc")
	require.Len(t, m.rowsOf(paneJobs), 3, "esc clears the filter")

	press(m, "/")
	typeText(m, "source:web1")
	press(m, "enter")
	require.Len(t, m.rowsOf(paneJobs), 2)
	press(m, "esc", "/")
	typeText(m, "access denied")
	press(m, "enter")
	require.Len(t, m.rowsOf(paneJobs), 0, "free text matches the cells, not the error")
	require.Contains(t, m.View(), "nothing to show (esc clears the filter)")
	press(m, "esc", "/")
	typeText(m, "shop")
	press(m, "enter")
	require.Len(t, m.rowsOf(paneJobs), 1)
}

func TestParseFilter(t *testing.T) {
	for _, tc := range []struct {
		in      string
		terms   map[string][]string
		words   []string
		wantErr string
	}{
		{in: "", terms: map[string][]string{}},
		{in: "status:failed status:canceled web", terms: map[string][]string{"status": {"failed", "canceled"}}, words: []string{"web"}},
		{in: "Source:WEB1", terms: map[string][]string{"source": {"web1"}}},
		{in: "status:", wantErr: "filter status: needs a value"},
		{in: "foo:bar", wantErr: `unknown filter key "foo"`},
	} {
		f, err := parseFilter(tc.in)
		if tc.wantErr != "" {
			require.ErrorContains(t, err, tc.wantErr, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.terms, f.terms, tc.in)
		require.Equal(t, tc.words, f.words, tc.in)
	}
}

func TestModeCycle(t *testing.T) {
	m := start(t, fleet(sdk.RoleOwner), 80, 24)
	press(m, "f")
	require.Equal(t, modeActive, m.panes[paneJobs].mode)
	require.Len(t, m.rowsOf(paneJobs), 1)
	press(m, "f")
	require.Equal(t, modeFailed, m.panes[paneJobs].mode)
	require.Equal(t, "1a000000-0000-4000-8000-000000000002", m.rowsOf(paneJobs)[0].id)
	press(m, "3")
	press(m, "f", "f")
	var names []string
	for _, r := range m.rowsOf(paneSources) {
		names = append(names, r.cells[0])
	}
	require.Equal(t, []string{"legacy-ftp"}, names, "never backed up")
	press(m, "1", "f")
	require.Len(t, m.rowsOf(paneJobs), 3)
}

func TestCancelConfirm(t *testing.T) {
	h := fleet(sdk.RoleAdmin)
	m := start(t, h, 80, 24)
	running := "1a000000-0000-4000-8000-000000000001"

	require.Nil(t, press(m, "c"))
	require.Contains(t, m.View(), "Cancel backup job "+running+" of web1? [y/N]")
	golden(t, "cancel_confirm_80x24", m.View())
	require.Nil(t, press(m, "n"))
	require.Nil(t, m.confirm)

	press(m, "c")
	require.Nil(t, press(m, "enter"), "enter is No")
	press(m, "c")
	require.Nil(t, press(m, "x"), "anything but y is No")
	require.Empty(t, h.canceled)

	press(m, "c")
	cmd := press(m, "y")
	require.NotNil(t, cmd)
	m.Update(cmd())
	require.Equal(t, []string{running}, h.canceled)
	require.Equal(t, "cancel requested for job 1a000000", m.message)
	require.True(t, m.data.jobs[running].job.CancelRequested)
	require.Contains(t, m.View(), "cancel requested")

	// Nothing to cancel on a finished job.
	press(m, "j")
	require.Nil(t, press(m, "c"))
	require.Nil(t, m.confirm)
	require.Equal(t, "job 1a000000 is failed: nothing to cancel", m.message)
}

func TestRerunConfirm(t *testing.T) {
	h := fleet(sdk.RoleOwner)
	m := start(t, h, 80, 24)
	press(m, "j", "r")
	require.Contains(t, m.View(), "Start a backup of source shop-db ("+srcDB+")? [y/N]")
	cmd := press(m, "y")
	m.Update(cmd())
	require.Equal(t, []sdk.CreateJobRequest{{SourceID: srcDB, Type: sdk.JobBackup}}, h.created)
	require.Equal(t, "backup of shop-db queued as job 99999999", m.message)
	require.Len(t, m.rowsOf(paneJobs), 4)

	// From the sources tab too.
	press(m, "3", "G", "r")
	require.Contains(t, m.View(), "Start a backup of source web1")
}

func TestReadOnly(t *testing.T) {
	for name, tc := range map[string]struct {
		role     sdk.Role
		readonly bool
	}{"member": {sdk.RoleMember, false}, "owner --readonly": {sdk.RoleOwner, true}} {
		t.Run(name, func(t *testing.T) {
			h := fleet(tc.role)
			m := start(t, h, 80, 24, func(c *Config) { c.ReadOnly = tc.readonly })
			v := m.View()
			require.Contains(t, strings.Split(v, "\n")[0], "· RO")
			require.NotContains(t, v, "c cancel")
			require.NotContains(t, v, "r re-run")
			require.Nil(t, press(m, "c"))
			require.Nil(t, press(m, "r"))
			require.Nil(t, m.confirm)
			press(m, "?")
			require.NotContains(t, m.View(), "cancel")
			require.NotContains(t, m.View(), "drain")
			require.Empty(t, h.canceled)
			require.Empty(t, h.created)
			if tc.role == sdk.RoleMember {
				golden(t, "readonly_80x24", m.View())
			}
		})
	}
	m := start(t, fleet(sdk.RoleOwner), 80, 24)
	require.Contains(t, strings.Split(m.View(), "\n")[0], "· RW")
	require.Contains(t, m.View(), "c cancel • r re-run")
}

func TestDisconnectReconnect(t *testing.T) {
	m := start(t, fleet(sdk.RoleOwner), 80, 24)
	require.Contains(t, m.View(), "● live")

	down := &sdk.TransportError{Op: "events", Hub: "http://hub.example:8080", Err: errors.New("connection refused")}
	_, cmd := m.Update(streamErrMsg{down})
	require.NotNil(t, cmd, "a retry is scheduled and the stream read goes on")
	require.Equal(t, linkDown, m.link)
	require.Contains(t, m.View(), "◌ reconnecting (0s)")
	require.Contains(t, m.View(), "details (stale)")
	clock(m, 8*time.Second)
	m.Update(tickMsg(m.now()))
	require.Contains(t, m.View(), "◌ reconnecting (8s)")
	golden(t, "reconnecting_80x24", m.View())

	// The retry reload fails too: still down, backing off, never exiting.
	_, cmd = m.Update(retryMsg{})
	require.NotNil(t, cmd)
	m.cfg.Hub.(*fakeHub).listErr = down
	_, cmd = m.Update(cmd())
	require.NotNil(t, cmd, "next retry")
	require.Equal(t, 2, m.retries)
	require.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 30 * time.Second},
		[]time.Duration{m.backoff(0), m.backoff(1), m.backoff(2), m.backoff(9)})

	clock(m, 60*time.Second)
	m.Update(tickMsg(m.now()))
	require.Contains(t, m.View(), "✕ offline · stale since 12:03:04")
	golden(t, "offline_80x24", m.View())
	// Data stays on screen while offline.
	require.Contains(t, m.View(), "web1")

	// Back: the next reload succeeds.
	m.cfg.Hub.(*fakeHub).listErr = nil
	_, cmd = m.Update(retryMsg{})
	m.Update(cmd())
	require.Equal(t, linkLive, m.link)
	require.Contains(t, m.View(), "● live")
	require.NotContains(t, m.View(), "(stale)")
	require.Empty(t, m.message)

	// An event alone also says the link is back.
	m.Update(streamErrMsg{down})
	require.Equal(t, linkDown, m.link)
	m.Update(event(t, sdk.EventJobProgress, m.data.jobs["1a000000-0000-4000-8000-000000000001"].job, m.now()))
	require.Equal(t, linkLive, m.link)
}

func TestUnauthorizedIsAMessage(t *testing.T) {
	h := fleet(sdk.RoleOwner)
	h.statusErr = sdk.Errorf(sdk.CodeUnauthenticated, "invalid token")
	m := start(t, h, 80, 24)
	v := m.View()
	require.Contains(t, v, "✕ token rejected")
	require.Contains(t, v, "the hub rejected the token (401)")
	require.Contains(t, strings.Split(v, "\n")[0], "· RO")
	require.NotNil(t, press(m, "q"), "q still quits")
}

func TestEventsUpdateRowsAndRate(t *testing.T) {
	m := start(t, fleet(sdk.RoleOwner), 120, 40)
	id := "1a000000-0000-4000-8000-000000000001"
	j := m.data.jobs[id].job
	for i, read := range []int64{600, 700, 800} {
		j.Progress = &sdk.Progress{FilesDone: int64(1300 + i), BytesRead: read << 20, BytesWritten: 300 << 20, CurrentPath: "/var/www/x"}
		clock(m, 2*time.Second)
		m.Update(event(t, sdk.EventJobProgress, j, m.now()))
	}
	js := m.data.jobs[id]
	// First sample: no previous one, no rate; then 50 MiB/s twice.
	require.InDelta(t, 50<<20, js.rate, 1)
	r := m.rowsOf(paneJobs)[0]
	require.Equal(t, "78", r.cells[4], "800 MiB of the last snapshot's 1 GiB")
	require.Equal(t, "50.0MiB/s", r.cells[8])
	require.Equal(t, "4s", r.cells[9], "224 MiB left at 50 MiB/s")

	j.Status, j.FinishedAt = sdk.JobCompleted, at(time.Minute)
	m.Update(event(t, sdk.EventJobUpdated, j, m.now()))
	r = m.rowsOf(paneJobs)[0]
	require.Equal(t, []string{"100", "–", "–"}, []string{r.cells[4], r.cells[8], r.cells[9]})
	require.Contains(t, m.View(), "11:58:04 queued → 11:59:04 running → 12:03:10 completed")

	// A new snapshot: a snapshot row, and the source is healthy.
	m.Update(event(t, sdk.EventSnapshotCreated, sdk.Snapshot{ID: "5a000000-0000-4000-8000-000000000003", TenantID: tenantA,
		SourceID: srcLost, Status: sdk.SnapshotCompleted, CreatedAt: m.now()}, m.now()))
	require.Len(t, m.rowsOf(paneSnapshots), 3)
	press(m, "3", "f", "f")
	require.Empty(t, m.rowsOf(paneSources))

	// source.overdue marks it; bad data is said, not fatal.
	m.Update(event(t, sdk.EventSourceOverdue, map[string]any{"source_id": srcWeb, "problems": []string{"overdue: no snapshot in 49h"}}, m.now()))
	require.Equal(t, "web1", m.rowsOf(paneSources)[0].cells[0])
	m.Update(eventMsg{sdk.Event{ID: 9, Type: sdk.EventJobUpdated, Data: []byte(`{"id":`)}})
	require.Contains(t, m.message, "event job.updated")
}

func TestResetReloadsKeepingEventsOfTheReload(t *testing.T) {
	h := fleet(sdk.RoleOwner)
	m := start(t, h, 80, 24)
	_, cmd := m.Update(eventMsg{sdk.Event{ID: 50, Type: sdk.EventReset}})
	require.NotNil(t, cmd)
	require.True(t, m.loading)
	// An event while the reload runs survives the reload's older answer.
	h.jobs = append(h.jobs[:0:0], h.jobs...)
	running := h.jobs[0]
	running.Status = sdk.JobFinalizing
	m.Update(event(t, sdk.EventJobUpdated, running, t0))
	for msg := range batchMsgs(cmd) {
		if l, ok := msg.(loadedMsg); ok {
			m.Update(l)
		}
	}
	require.False(t, m.loading)
	require.Equal(t, sdk.JobFinalizing, m.data.jobs[running.ID].job.Status)
}

// batchMsgs runs the load commands of a (batched) command; timers are not
// run.
func batchMsgs(cmd tea.Cmd) func(func(tea.Msg) bool) {
	return func(yield func(tea.Msg) bool) {
		msg := cmd()
		if b, ok := msg.(tea.BatchMsg); ok {
			for _, c := range b {
				if c != nil && !yield(c()) {
					return
				}
			}
			return
		}
		yield(msg)
	}
}

func TestPlatformAdminWatchesAllTenants(t *testing.T) {
	a, b := fleet(sdk.RoleOwner), fleet(sdk.RoleOwner)
	b.tenant = tenantB
	b.jobs = []sdk.Job{{ID: "2b000000-0000-4000-8000-000000000001", TenantID: tenantB, SourceID: srcWeb, Type: sdk.JobBackup,
		Status: sdk.JobQueued, CreatedAt: t0.Add(-time.Minute)}}
	b.sources, b.snapshots = nil, nil
	platform := &fakeHub{
		status:  &sdk.Status{Caller: sdk.Caller{Kind: sdk.TokenPlatformAdmin}},
		tenants: []sdk.Tenant{{ID: tenantA}, {ID: tenantB}},
		agents: []sdk.Agent{{ID: agent1, Name: "agent-1", Status: sdk.AgentOnline, Version: "0.11.0",
			LastSeenAt: at(-3 * time.Second), StorageBasePath: "/var/lib/xvault", Capabilities: []string{"sftp", "mysql"}}},
		listErr: nil,
	}
	// Tenant objects are not listed without a tenant.
	platform.jobs = nil
	m := start(t, platform, 120, 40, func(c *Config) {
		c.ForTenant = func(id string) Hub { return map[string]*fakeHub{tenantA: a, tenantB: b}[id] }
	})
	require.True(t, m.all)
	require.Contains(t, strings.Split(m.View(), "\n")[0], "tenant all · RW")
	require.Len(t, m.rowsOf(paneJobs), 4)
	require.Contains(t, strings.Split(m.View(), "\n")[2], "TENANT")
	golden(t, "all_tenants_120x40", m.View())

	// Acting on tenant B's job goes through tenant B.
	m.panes[paneJobs].selected = "2b000000-0000-4000-8000-000000000001"
	m.syncPanes()
	press(m, "c")
	m.Update(press(m, "y")())
	require.Equal(t, []string{"2b000000-0000-4000-8000-000000000001"}, b.canceled)
	require.Empty(t, a.canceled)

	press(m, "2")
	require.Contains(t, m.View(), "agent-1")
	require.Contains(t, m.View(), "● online")
	golden(t, "agents_120x40", m.View())
}

func TestDrainNeedsADrainer(t *testing.T) {
	platform := &fakeHub{status: &sdk.Status{Caller: sdk.Caller{Kind: sdk.TokenPlatformAdmin}},
		agents: []sdk.Agent{{ID: agent1, Name: "agent-1", Status: sdk.AgentOnline}}}
	dr := &fakeDrainer{}
	m := start(t, platform, 80, 24, func(c *Config) { c.Tenant = tenantA; c.Drain = dr })
	press(m, "2")
	require.Contains(t, m.View(), "drain/undrain")
	press(m, "d")
	require.Contains(t, m.View(), "Drain agent agent-1 ("+agent1+")? [y/N]")
	m.Update(press(m, "y")())
	require.Equal(t, []string{"drain " + agent1}, dr.calls)

	m = start(t, platform, 80, 24, func(c *Config) { c.Tenant = tenantA })
	press(m, "2")
	require.NotContains(t, m.View(), "drain")
	require.Nil(t, press(m, "d"))
	require.Nil(t, m.confirm)
}

type fakeDrainer struct{ calls []string }

func (d *fakeDrainer) DrainAgent(_ context.Context, id string) (*sdk.Agent, error) {
	d.calls = append(d.calls, "drain "+id)
	return &sdk.Agent{ID: id, Status: sdk.AgentDraining}, nil
}

func (d *fakeDrainer) UndrainAgent(_ context.Context, id string) (*sdk.Agent, error) {
	d.calls = append(d.calls, "undrain "+id)
	return &sdk.Agent{ID: id, Status: sdk.AgentOnline}, nil
}

func TestStreamEndFallsBackToPolling(t *testing.T) {
	m := start(t, fleet(sdk.RoleOwner), 80, 24)
	_, cmd := m.Update(streamEndMsg{sdk.Errorf(sdk.CodeNotFound, "not found")})
	require.NotNil(t, cmd)
	require.True(t, m.polling)
	require.Contains(t, m.View(), "● live (polling)")
	_, cmd = m.Update(pollMsg{})
	require.True(t, m.loading)
	require.NotNil(t, cmd)

	m = start(t, fleet(sdk.RoleOwner), 80, 24)
	m.Update(streamEndMsg{sdk.Errorf(sdk.CodeUnauthenticated, "expired")})
	require.Equal(t, linkAuth, m.link)
	_, cmd = m.Update(pollMsg{})
	require.False(t, m.loading, "a rejected token is not retried")
	_ = cmd
}

func TestLoadReadsTheFleet(t *testing.T) {
	h := fleet(sdk.RoleOwner)
	l, err := load(context.Background(), h, nil)
	require.NoError(t, err)
	require.Len(t, l.jobs, 3, "the active jobs are listed once")
	require.Equal(t, "agents: platform admins only", l.agentsErr)
	require.Empty(t, l.lastSnap, "every source with a snapshot was on the first page")

	h.listErr = errors.New("boom")
	_, err = load(context.Background(), h, nil)
	require.ErrorContains(t, err, "list jobs: boom")
}

func TestHubHealthWins(t *testing.T) {
	h := fleet(sdk.RoleOwner)
	h.status.Health = sdk.HealthSummary{Sources: 3, UnhealthySources: []sdk.SourceHealth{
		{SourceID: srcWeb, Problems: []string{"overdue: no completed snapshot for 2d1h (alert after 1d1h)"}},
		{SourceID: srcLost, Problems: []string{"never_backed_up: no completed snapshot yet"}},
	}}
	m := start(t, h, 120, 40)
	press(m, "3")
	health := map[string]string{}
	for _, r := range m.rowsOf(paneSources) {
		health[r.cells[0]] = r.cells[3] + " | " + r.cells[6]
	}
	require.Equal(t, map[string]string{
		"web1":       "! overdue | overdue: no completed snapshot for 2d1h (alert after 1d1h)",
		"shop-db":    "✓ ok | ",
		"legacy-ftp": "○ never | never_backed_up: no completed snapshot yet",
	}, health)
	golden(t, "sources_120x40", m.View())

	// A completed snapshot ends "never backed up" without waiting for a reload.
	m.Update(event(t, sdk.EventSnapshotCreated, sdk.Snapshot{ID: "5a000000-0000-4000-8000-000000000007", TenantID: tenantA,
		SourceID: srcLost, Status: sdk.SnapshotCompleted, CreatedAt: t0}, t0))
	press(m, "f", "f")
	require.Len(t, m.rowsOf(paneSources), 1)

	// A minute later, a full reload refreshes what events do not carry.
	clock(m, time.Minute)
	_, cmd := m.Update(tickMsg(m.now()))
	require.NotNil(t, cmd)
	require.True(t, m.loading)
}
