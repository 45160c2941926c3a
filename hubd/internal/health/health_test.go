package health

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

func TestAlertAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC) // a Wednesday
	created := now.Add(-30 * 24 * time.Hour)
	for _, tt := range []struct {
		name     string
		cron     string
		interval int
		tz       string
		alertMin *int
		want     time.Duration
	}{
		{name: "hourly interval", interval: 60, want: 3 * time.Hour},
		{name: "every 15 minutes", interval: 15, want: 90 * time.Minute},
		{name: "daily cron", cron: "30 2 * * *", want: 49 * time.Hour},
		{name: "weekdays count their weekend", cron: "0 3 * * 1-5", want: 2*72*time.Hour + time.Hour},
		{name: "weekly", cron: "0 4 * * 0", want: 2*7*24*time.Hour + time.Hour},
		{name: "daily in a zone", cron: "0 1 * * *", tz: "Europe/Berlin", want: 49 * time.Hour},
		{name: "set on the schedule", interval: 60, alertMin: new(36 * 60), want: 36 * time.Hour},
		{name: "bad spec: unknown", cron: "nonsense", want: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sch := &store.Schedule{Timezone: tt.tz, CreatedAt: created, AlertAfterMin: tt.alertMin}
			if sch.Timezone == "" {
				sch.Timezone = "UTC"
			}
			if tt.cron != "" {
				sch.Cron = &tt.cron
			}
			if tt.interval != 0 {
				sch.IntervalMinutes = &tt.interval
			}
			require.Equal(t, tt.want, AlertAfter(sch, now))
		})
	}
}

func TestParseAlertAfter(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"36h": 36 * 60, "2d": 2 * 24 * 60, "1d12h": 36 * 60, "5m": 5, "365d": 365 * 24 * 60} {
		got, err := ParseAlertAfter(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "4m", "366d", "soon", "-1h", "1h-", "36"} {
		_, err := ParseAlertAfter(in)
		require.Error(t, err, in)
	}
	require.Equal(t, "1d12h", FormatAlertAfter(new(36*60)))
	require.Empty(t, FormatAlertAfter(nil))
}

func TestAgentStatusAndTransitions(t *testing.T) {
	t.Parallel()
	now := time.Now()
	recent, old := now.Add(-10*time.Second), now.Add(-2*time.Minute)
	for _, tt := range []struct {
		seen     *time.Time
		status   string
		draining bool
		want     sdk.AgentStatus
	}{
		{seen: nil, status: "online", want: sdk.AgentOffline},
		{seen: &old, status: "online", draining: true, want: sdk.AgentOffline},
		{seen: &recent, status: "online", want: sdk.AgentOnline},
		{seen: &recent, status: "offline", want: sdk.AgentOnline}, // seen since the sweep
		{seen: &recent, status: "draining", want: sdk.AgentDraining},
		{seen: &recent, status: "online", draining: true, want: sdk.AgentDraining},
	} {
		a := &store.Agent{LastSeenAt: tt.seen, Status: tt.status, Draining: tt.draining}
		require.Equal(t, tt.want, AgentStatus(a, now, DefaultOfflineAfter), "%+v", tt)
	}
	require.Empty(t, TransitionEvent(sdk.AgentOnline, sdk.AgentOnline))
	require.Equal(t, sdk.EventAgentOnline, TransitionEvent(sdk.AgentOffline, sdk.AgentOnline))
	require.Equal(t, sdk.EventAgentOnline, TransitionEvent(sdk.AgentDraining, sdk.AgentOnline))
	require.Equal(t, sdk.EventAgentOffline, TransitionEvent(sdk.AgentDraining, sdk.AgentOffline))
	require.Equal(t, sdk.EventAgentDraining, TransitionEvent(sdk.AgentOnline, sdk.AgentDraining))
}

func TestDueForRaise(t *testing.T) {
	t.Parallel()
	now := time.Now()
	since := now.Add(-time.Hour)
	overdue := sdk.SourceHealth{OverdueSince: &since}
	before, after := since.Add(-time.Minute), since.Add(time.Minute)
	longAgo := now.Add(-3 * time.Hour)
	require.False(t, dueForRaise(sdk.SourceHealth{}, nil, 2*time.Hour, now), "not overdue")
	require.True(t, dueForRaise(overdue, nil, 2*time.Hour, now), "never raised")
	require.True(t, dueForRaise(overdue, &before, 2*time.Hour, now), "raised in an earlier period")
	require.False(t, dueForRaise(overdue, &after, 2*time.Hour, now), "raised in this period")
	require.True(t, dueForRaise(sdk.SourceHealth{OverdueSince: &longAgo}, &after, 2*time.Hour, now.Add(2*time.Hour)),
		"still overdue a whole alert_after later")
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	ok := sdk.SourceHealth{SourceID: "a", Healthy: true, Problems: []string{}}
	bad := sdk.SourceHealth{SourceID: "b", Problems: []string{"failing: the last 3 backups failed"}}
	s := Summarize([]sdk.SourceHealth{ok}, sdk.AgentsSummary{Total: 1, Online: 1})
	require.True(t, s.Healthy)
	require.Empty(t, s.UnhealthySources)
	s = Summarize([]sdk.SourceHealth{ok, bad}, sdk.AgentsSummary{Total: 1, Online: 1})
	require.False(t, s.Healthy)
	require.Equal(t, []sdk.SourceHealth{bad}, s.UnhealthySources)
	s = Summarize([]sdk.SourceHealth{ok}, sdk.AgentsSummary{Total: 2, Online: 1, Draining: 1, Offline: 1})
	require.False(t, s.Healthy, "the only live agent is draining")
	require.Equal(t, sdk.HealthNoAgent, sdk.ProblemCode(s.Problems[0]))
	require.True(t, Summarize(nil, sdk.AgentsSummary{}).Healthy, "nothing to back up, nothing to run it on")
}
