package schedule

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
)

func TestParseVerifyEvery(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"1h": 60, "7d": 7 * 1440, "2w": 14 * 1440, "1d12h": 36 * 60, "90m": 90,
		"365d": 365 * 1440, "52w1d": 365 * 1440, " 12h ": 720} {
		got, err := ParseVerifyEvery(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "59m", "0h", "366d", "53w", "7", "d", "7days", "1.5d", "-1d", "7D", "1y", "1h 30m"} {
		_, err := ParseVerifyEvery(in)
		require.Error(t, err, in)
	}
	require.Equal(t, "7d", FormatVerifyEvery(ptrInt(7*1440)))
	require.Equal(t, "14d", FormatVerifyEvery(ptrInt(14*1440)), "weeks are shown as days")
	require.Equal(t, "1h30m", FormatVerifyEvery(ptrInt(90)))
	require.Empty(t, FormatVerifyEvery(nil))
}

func ptrInt(n int) *int { return &n }

func TestCheckVerify(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode, every string
		minutes     int
		fields      validate.Fields
	}{
		{"", "", 0, validate.Fields{}},
		{"latest", "7d", 7 * 1440, validate.Fields{}},
		{"sample", "12h", 720, validate.Fields{}},
		{"sample", "", 0, validate.Fields{"verify_every": `is required with verify (a period such as "7d")`}},
		{"", "7d", 0, validate.Fields{"verify": `is required with verify_every ("latest" or "sample")`}},
		{"newest", "7d", 7 * 1440, validate.Fields{"verify": `must be "latest" or "sample"`}},
		{"newest", "30m", 0, validate.Fields{"verify": `must be "latest" or "sample"`, "verify_every": "must be between 1h and 365d"}},
		{"latest", "soon", 0, validate.Fields{"verify_every": `must be a duration such as "7d", "36h", "2w" or "1d12h" (units w, d, h, m)`}},
		{"latest", "400d", 0, validate.Fields{"verify_every": "must be between 1h and 365d"}},
	} {
		f := validate.Fields{}
		got := CheckVerify(f, tc.mode, tc.every)
		require.Equal(t, tc.fields, f, "%q %q", tc.mode, tc.every)
		if len(f) == 0 {
			require.Equal(t, tc.minutes, got, "%q %q", tc.mode, tc.every)
		}
	}
}

func TestSampleSize(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	for _, tc := range []struct {
		n              int
		period, window time.Duration
		want           int
	}{
		{0, day, 30 * day, 0},
		{1, day, 30 * day, 1},
		{30, day, 30 * day, 1},
		{31, day, 30 * day, 2},     // ceil(31/30)
		{90, 7 * day, 90 * day, 7}, // ceil(90*7/90)
		{10, 7 * day, 2 * day, 10}, // window shorter than a period: all of them
		{10, 7 * day, 0, 10},
		{5, time.Hour, 365 * day, 1}, // max(1, …)
		{1_000_000, 365 * day, 366 * day, 997_268},
	} {
		require.Equal(t, tc.want, SampleSize(tc.n, tc.period, tc.window), "%+v", tc)
	}
}

func snap(id, created string, verified string) store.Snapshot {
	s := store.Snapshot{ID: id, Status: "completed", CreatedAt: at(created)}
	if verified != "" {
		v := at(verified)
		s.VerifiedAt = &v
	}
	return s
}

func ids(ss []store.Snapshot) []string {
	out := []string{}
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

func TestPickLatest(t *testing.T) {
	t.Parallel()
	prev := at("2026-11-13T00:00:00Z")
	deleting := snap("deleting", "2026-11-21T00:00:00Z", "")
	deleting.Status = "deleting"
	failed := snap("failed", "2026-11-21T01:00:00Z", "")
	failed.Status = "failed"
	for _, tc := range []struct {
		name  string
		snaps []store.Snapshot
		want  []string
	}{
		{"none", nil, []string{}},
		{"never verified", []store.Snapshot{snap("a", "2026-11-19T00:00:00Z", ""), snap("b", "2026-11-20T00:00:00Z", "")}, []string{"b"}},
		{"verified before the previous drill", []store.Snapshot{snap("b", "2026-11-01T00:00:00Z", "2026-11-12T23:59:59Z")}, []string{"b"}},
		{"verified since the previous drill", []store.Snapshot{snap("b", "2026-11-01T00:00:00Z", "2026-11-13T00:00:00Z"),
			snap("a", "2026-10-01T00:00:00Z", "")}, []string{}},
		{"deleting and failed are never picked", []store.Snapshot{deleting, failed, snap("a", "2026-11-20T00:00:00Z", "")}, []string{"a"}},
		{"only deleting", []store.Snapshot{deleting}, []string{}},
		{"equal times: the larger id, as retention orders them", []store.Snapshot{snap("x", "2026-11-20T00:00:00Z", ""),
			snap("y", "2026-11-20T00:00:00Z", "")}, []string{"y"}},
	} {
		require.Equal(t, tc.want, ids(PickLatest(tc.snaps, prev)), tc.name)
	}
}

func TestPickSampleOrder(t *testing.T) {
	t.Parallel()
	now := at("2026-11-21T00:00:00Z")
	deleting := snap("deleting", "2026-11-01T00:00:00Z", "")
	deleting.Status = "deleting"
	ss := []store.Snapshot{
		snap("new", "2026-11-20T00:00:00Z", ""),
		snap("old", "2026-10-22T00:00:00Z", ""), // 30 days old: the window
		snap("v-late", "2026-11-02T00:00:00Z", "2026-11-20T00:00:00Z"),
		snap("v-early-b", "2026-11-05T00:00:00Z", "2026-11-10T00:00:00Z"),
		snap("v-early-a", "2026-11-04T00:00:00Z", "2026-11-10T00:00:00Z"),
		deleting,
	}
	// N=5 completed, window 30d: a 7d period verifies ceil(5*7/30) = 2, a
	// 20d one ceil(100/30) = 4, a 40d one (longer than the window) all 5.
	require.Equal(t, []string{"old", "new"}, ids(PickSample(ss, now, 7*24*time.Hour)), "never verified first, oldest first")
	require.Equal(t, []string{"old", "new", "v-early-a", "v-early-b"}, ids(PickSample(ss, now, 20*24*time.Hour)),
		"then least recently verified; equal verify times by creation")
	require.Equal(t, []string{"old", "new", "v-early-a", "v-early-b", "v-late"}, ids(PickSample(ss, now, 40*24*time.Hour)))
	require.Empty(t, PickSample([]store.Snapshot{deleting}, now, time.Hour))
}

// Rotation in steady state: backups every spacing, retention removing
// snapshots older than keep, a sample drill every period. Every snapshot
// is verified before retention removes it, and no snapshot is verified a
// second time while another one still waits for its first.
func TestPickSampleRotationCoversAll(t *testing.T) {
	t.Parallel()
	h := time.Hour
	for _, tc := range []struct{ spacing, keep, period time.Duration }{
		{24 * h, 30 * 24 * h, 7 * 24 * h}, {h, 7 * 24 * h, 24 * h}, {6 * h, 90 * 24 * h, 30 * 24 * h},
		{24 * h, 365 * 24 * h, 7 * 24 * h}, {7 * 24 * h, 28 * 24 * h, 24 * h},
	} {
		t.Run(fmt.Sprint(tc.spacing, tc.keep, tc.period), func(t *testing.T) {
			start := at("2026-01-01T00:00:00Z")
			now := start
			var live []store.Snapshot
			nextBackup, nextDrill, n := now, now.Add(tc.keep), 0 // drills start once the window is full
			removed := 0
			for end := start.Add(3 * tc.keep); now.Before(end); now = now.Add(h) {
				if !now.Before(nextBackup) {
					live = append(live, snap(fmt.Sprintf("s%05d", n), now.Format(time.RFC3339), ""))
					n, nextBackup = n+1, nextBackup.Add(tc.spacing)
				}
				for len(live) > 0 && now.Sub(live[0].CreatedAt) > tc.keep {
					if live[0].CreatedAt.After(start.Add(tc.keep)) { // born after drills began
						require.NotNil(t, live[0].VerifiedAt, "%s removed by retention unverified", live[0].ID)
					}
					live, removed = live[1:], removed+1
				}
				if now.Before(nextDrill) {
					continue
				}
				picks := PickSample(live, now, tc.period)
				require.NotEmpty(t, picks)
				unverified := 0
				for _, s := range live {
					if s.VerifiedAt == nil {
						unverified++
					}
				}
				for _, p := range picks {
					for i := range live {
						if live[i].ID != p.ID {
							continue
						}
						require.False(t, live[i].VerifiedAt != nil && unverified > 0,
							"%s verified again while %d wait for their first", p.ID, unverified)
						if live[i].VerifiedAt == nil {
							unverified--
						}
						v := now.Add(time.Minute)
						live[i].VerifiedAt = &v
					}
				}
				nextDrill = nextDrill.Add(tc.period)
			}
			require.Positive(t, removed)
		})
	}
}
