package retention

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// snaps makes completed snapshots named by their RFC 3339 times.
func snaps(times ...string) []Snapshot {
	out := make([]Snapshot, len(times))
	for i, s := range times {
		out[i] = Snapshot{ID: s, CreatedAt: ts(s)}
	}
	return out
}

// kept runs Evaluate and returns id → reasons of kept snapshots, and the
// deleted ids with their reasons.
func run(in Input) (keep map[string][]string, del map[string][]string) {
	keep, del = map[string][]string{}, map[string][]string{}
	for _, d := range Evaluate(in) {
		if d.Keep {
			keep[d.ID] = d.Reasons
		} else {
			del[d.ID] = d.Reasons
		}
	}
	return keep, del
}

func keys(m map[string][]string) []string {
	out := []string{}
	for k := range m {
		out = append(out, k)
	}
	return sortStrings(out)
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

var berlin = mustLoc("Europe/Berlin")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// daily returns one snapshot per day at 02:00Z for n days ending at end.
func daily(end string, n int) []Snapshot {
	e := ts(end)
	out := make([]Snapshot, n)
	for i := range n {
		t := e.AddDate(0, 0, -i)
		out[i] = Snapshot{ID: t.Format(time.RFC3339), CreatedAt: t}
	}
	return out
}

// ruleCase: keep lists the ids kept; reason gives some snapshots' reasons.
type ruleCase struct {
	name   string
	policy sdk.RetentionPolicy
	loc    *time.Location
	snaps  []Snapshot
	keep   []string
	reason map[string][]string
}

// ruleCases are evaluated at 2026-11-21T12:00:00Z.
var ruleCases = []ruleCase{
	{name: "empty policy keeps all", snaps: snaps("2020-01-01T00:00:00Z", "2026-11-20T00:00:00Z"),
		keep:   []string{"2020-01-01T00:00:00Z", "2026-11-20T00:00:00Z"},
		reason: map[string][]string{"2020-01-01T00:00:00Z": {ReasonEmptyPolicy}}},
	{name: "keep_last_n", policy: sdk.RetentionPolicy{KeepLastN: 2},
		snaps: snaps("2026-11-18T00:00:00Z", "2026-11-19T00:00:00Z", "2026-11-20T00:00:00Z"),
		keep:  []string{"2026-11-19T00:00:00Z", "2026-11-20T00:00:00Z"},
		reason: map[string][]string{"2026-11-19T00:00:00Z": {"last 2"}, "2026-11-20T00:00:00Z": {"last 1", ReasonNewest},
			"2026-11-18T00:00:00Z": {ReasonNotKept}}},
	{name: "keep_hourly newest of each hour", policy: sdk.RetentionPolicy{KeepHourly: 2},
		snaps:  snaps("2026-11-20T10:05:00Z", "2026-11-20T10:55:00Z", "2026-11-20T11:10:00Z", "2026-11-20T09:00:00Z"),
		keep:   []string{"2026-11-20T10:55:00Z", "2026-11-20T11:10:00Z"},
		reason: map[string][]string{"2026-11-20T10:55:00Z": {"hourly 2026-11-20 10:00"}}},
	{name: "keep_daily skips empty days", policy: sdk.RetentionPolicy{KeepDaily: 3},
		snaps:  snaps("2026-11-01T08:00:00Z", "2026-11-10T08:00:00Z", "2026-11-10T20:00:00Z", "2026-11-15T08:00:00Z", "2026-11-20T08:00:00Z"),
		keep:   []string{"2026-11-10T20:00:00Z", "2026-11-15T08:00:00Z", "2026-11-20T08:00:00Z"},
		reason: map[string][]string{"2026-11-10T20:00:00Z": {"daily 2026-11-10"}, "2026-11-10T08:00:00Z": {ReasonNotKept}}},
	{name: "keep_daily midnight in the schedule's zone", policy: sdk.RetentionPolicy{KeepDaily: 2}, loc: berlin,
		// 23:30Z on the 19th is 00:30 on the 20th in Berlin: same day as 10:00Z on the 20th.
		snaps:  snaps("2026-11-19T22:30:00Z", "2026-11-19T23:30:00Z", "2026-11-20T10:00:00Z"),
		keep:   []string{"2026-11-19T22:30:00Z", "2026-11-20T10:00:00Z"},
		reason: map[string][]string{"2026-11-19T22:30:00Z": {"daily 2026-11-19"}, "2026-11-20T10:00:00Z": {"daily 2026-11-20", ReasonNewest}}},
	{name: "keep_weekly ISO weeks start on Monday", policy: sdk.RetentionPolicy{KeepWeekly: 2},
		// Sun 2026-11-15 is W46, Mon 2026-11-16 is W47.
		snaps:  snaps("2026-11-14T10:00:00Z", "2026-11-15T10:00:00Z", "2026-11-16T10:00:00Z", "2026-11-17T10:00:00Z"),
		keep:   []string{"2026-11-15T10:00:00Z", "2026-11-17T10:00:00Z"},
		reason: map[string][]string{"2026-11-15T10:00:00Z": {"weekly 2026-W46"}, "2026-11-17T10:00:00Z": {"weekly 2026-W47", ReasonNewest}}},
	{name: "ISO week 53 spans the new year", policy: sdk.RetentionPolicy{KeepWeekly: 2},
		// 2026-12-28 (Mon) … 2027-01-03 (Sun) are 2026-W53.
		snaps:  snaps("2026-12-27T10:00:00Z", "2026-12-28T10:00:00Z", "2027-01-03T10:00:00Z"),
		keep:   []string{"2026-12-27T10:00:00Z", "2027-01-03T10:00:00Z"},
		reason: map[string][]string{"2027-01-03T10:00:00Z": {"weekly 2026-W53", ReasonNewest}, "2026-12-27T10:00:00Z": {"weekly 2026-W52"}}},
	{name: "keep_monthly and keep_yearly", policy: sdk.RetentionPolicy{KeepMonthly: 2, KeepYearly: 2},
		snaps: snaps("2024-06-01T00:00:00Z", "2025-03-01T00:00:00Z", "2025-12-31T00:00:00Z", "2026-10-02T00:00:00Z", "2026-11-02T00:00:00Z"),
		keep:  []string{"2025-12-31T00:00:00Z", "2026-10-02T00:00:00Z", "2026-11-02T00:00:00Z"},
		reason: map[string][]string{"2026-11-02T00:00:00Z": {"monthly 2026-11", "yearly 2026", ReasonNewest},
			"2025-12-31T00:00:00Z": {"yearly 2025"}, "2026-10-02T00:00:00Z": {"monthly 2026-10"}}},
	{name: "keep_within relative to newest, not now", policy: sdk.RetentionPolicy{KeepWithin: "2d"},
		snaps:  snaps("2026-01-01T00:00:00Z", "2026-01-02T00:00:01Z", "2026-01-03T00:00:00Z"),
		keep:   []string{"2026-01-02T00:00:01Z", "2026-01-03T00:00:00Z"},
		reason: map[string][]string{"2026-01-02T00:00:01Z": {"within 2d of newest"}}},
	{name: "min_age protects young snapshots", policy: sdk.RetentionPolicy{KeepLastN: 1, MinAgeHours: 24},
		snaps:  snaps("2026-11-20T11:00:00Z", "2026-11-21T06:00:00Z", "2026-11-21T10:00:00Z"),
		keep:   []string{"2026-11-21T06:00:00Z", "2026-11-21T10:00:00Z"},
		reason: map[string][]string{"2026-11-21T06:00:00Z": {"younger than min_age_hours=24"}}},
	{name: "max_age deletes counted-kept snapshots", policy: sdk.RetentionPolicy{KeepLastN: 5, MaxAgeDays: 30},
		snaps:  snaps("2026-09-01T00:00:00Z", "2026-11-01T00:00:00Z", "2026-11-20T00:00:00Z"),
		keep:   []string{"2026-11-01T00:00:00Z", "2026-11-20T00:00:00Z"},
		reason: map[string][]string{"2026-09-01T00:00:00Z": {"older than max_age_days=30"}}},
	{name: "max_age alone keeps the young", policy: sdk.RetentionPolicy{MaxAgeDays: 30},
		snaps:  snaps("2026-09-01T00:00:00Z", "2026-11-01T00:00:00Z", "2026-11-20T00:00:00Z"),
		keep:   []string{"2026-11-01T00:00:00Z", "2026-11-20T00:00:00Z"},
		reason: map[string][]string{"2026-11-01T00:00:00Z": {ReasonNoKeepRule}}},
	{name: "newest survives max_age", policy: sdk.RetentionPolicy{MaxAgeDays: 1},
		snaps:  snaps("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z"),
		keep:   []string{"2025-01-02T00:00:00Z"},
		reason: map[string][]string{"2025-01-02T00:00:00Z": {ReasonNewest}}},
	{name: "rules count on their own, union kept", policy: sdk.RetentionPolicy{KeepLastN: 1, KeepDaily: 2},
		snaps:  snaps("2026-11-19T08:00:00Z", "2026-11-19T20:00:00Z", "2026-11-20T08:00:00Z", "2026-11-20T09:00:00Z"),
		keep:   []string{"2026-11-19T20:00:00Z", "2026-11-20T09:00:00Z"},
		reason: map[string][]string{"2026-11-20T09:00:00Z": {"last 1", "daily 2026-11-20", ReasonNewest}}},
	{name: "future timestamps are newest and young", policy: sdk.RetentionPolicy{KeepLastN: 1, MinAgeHours: 2},
		snaps:  snaps("2026-11-20T00:00:00Z", "2026-11-21T11:00:00Z", "2027-01-01T00:00:00Z"),
		keep:   []string{"2027-01-01T00:00:00Z", "2026-11-21T11:00:00Z"},
		reason: map[string][]string{"2027-01-01T00:00:00Z": {"last 1", ReasonNewest}}},
	{name: "identical timestamps ordered by id", policy: sdk.RetentionPolicy{KeepLastN: 1},
		snaps: []Snapshot{{ID: "a", CreatedAt: ts("2026-11-20T00:00:00Z")}, {ID: "b", CreatedAt: ts("2026-11-20T00:00:00Z")}},
		keep:  []string{"b"}},
}

func TestEvaluateRules(t *testing.T) {
	t.Parallel()
	now := ts("2026-11-21T12:00:00Z")
	for _, tc := range ruleCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keep, del := run(Input{Policy: tc.policy, Location: tc.loc, Now: now, Snapshots: tc.snaps})
			require.Equal(t, sortStrings(tc.keep), keys(keep), "deleted: %v", del)
			for id, want := range tc.reason {
				got, ok := keep[id]
				if !ok {
					got = del[id]
				}
				require.Equal(t, want, got, id)
			}
		})
	}
}

func TestEvaluateSafetyRails(t *testing.T) {
	t.Parallel()
	now := ts("2026-11-21T12:00:00Z")
	in := Input{Policy: sdk.RetentionPolicy{KeepLastN: 1}, Now: now, Snapshots: []Snapshot{
		{ID: "newest-failed", CreatedAt: ts("2026-11-21T00:00:00Z"), Status: sdk.SnapshotFailed},
		{ID: "deleting", CreatedAt: ts("2026-11-20T12:00:00Z"), Status: sdk.SnapshotDeleting},
		{ID: "newest-ok", CreatedAt: ts("2026-11-20T00:00:00Z")},
		{ID: "restoring", CreatedAt: ts("2026-11-01T00:00:00Z"), RestoreInProgress: true},
		{ID: "old", CreatedAt: ts("2026-10-01T00:00:00Z")},
	}}
	keep, del := run(in)
	require.Equal(t, []string{"newest-ok", "restoring"}, keys(keep))
	require.Equal(t, []string{"last 1", ReasonNewest}, keep["newest-ok"])
	require.Equal(t, []string{ReasonRestoreInProgress}, keep["restoring"])
	require.Equal(t, []string{ReasonFailed}, del["newest-failed"])
	require.Equal(t, []string{ReasonDeleteInProgress}, del["deleting"])
	require.Equal(t, []string{ReasonNotKept}, del["old"])

	ds := Evaluate(in)
	for i := 1; i < len(ds); i++ {
		require.False(t, ds[i].CreatedAt.After(ds[i-1].CreatedAt), "newest first")
	}
}

// DST: Europe/Berlin leaves summer time on 2026-10-25 (02:00–03:00 twice)
// and enters it on 2026-03-29 (02:00–03:00 missing). Daily buckets stay
// one per calendar day.
func TestEvaluateDSTDays(t *testing.T) {
	t.Parallel()
	var ss []Snapshot
	for _, day := range []string{"2026-10-24", "2026-10-25", "2026-10-26", "2026-03-28", "2026-03-29", "2026-03-30"} {
		for _, hm := range []string{"00:30", "02:30", "23:30"} {
			local, err := time.ParseInLocation("2006-01-02 15:04", day+" "+hm, berlin)
			require.NoError(t, err)
			ss = append(ss, Snapshot{ID: day + " " + hm + " " + local.Format("-07"), CreatedAt: local})
		}
	}
	// The second 02:30 of 2026-10-25 (CET).
	second := time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)
	ss = append(ss, Snapshot{ID: "2026-10-25 02:30 +01", CreatedAt: second})
	keep, _ := run(Input{Policy: sdk.RetentionPolicy{KeepDaily: 100, KeepHourly: 3}, Location: berlin,
		Now: ts("2026-11-01T00:00:00Z"), Snapshots: ss})
	var days []string
	for id, rs := range keep {
		for _, r := range rs {
			if len(r) > 6 && r[:6] == "daily " {
				days = append(days, r[6:]+"="+id[11:])
			}
		}
	}
	require.Equal(t, []string{"2026-03-28=23:30 +01", "2026-03-29=23:30 +02", "2026-03-30=23:30 +02",
		"2026-10-24=23:30 +02", "2026-10-25=23:30 +01", "2026-10-26=23:30 +01"}, sortStrings(days))
}

// Properties: the newest completed snapshot is always kept, and the
// decisions do not depend on the input order.
func TestEvaluateProperties(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	base := ts("2026-01-01T00:00:00Z")
	for iter := range 500 {
		n := r.IntN(40)
		ss := make([]Snapshot, n)
		for i := range ss {
			ss[i] = Snapshot{ID: fmt.Sprintf("s%03d", i), CreatedAt: base.Add(time.Duration(r.IntN(400*24)) * time.Hour)}
			switch r.IntN(10) {
			case 0:
				ss[i].Status = sdk.SnapshotDeleting
			case 1:
				ss[i].Status = sdk.SnapshotFailed
			case 2:
				ss[i].RestoreInProgress = true
			}
			ss[i].VerifyStatus = []sdk.VerifyStatus{"", "", sdk.VerifyOK, sdk.VerifyFailed, sdk.VerifyCorrupt}[r.IntN(5)]
			if r.IntN(8) == 0 && i > 0 {
				ss[i].CreatedAt = ss[i-1].CreatedAt // identical timestamps
			}
		}
		p := randomPolicy(r)
		in := Input{Policy: p, Location: berlin, Now: base.Add(time.Duration(r.IntN(500*24)) * time.Hour), Snapshots: ss}
		first := Evaluate(in)
		shuffled := append([]Snapshot(nil), ss...)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		in.Snapshots = shuffled
		require.Equal(t, first, Evaluate(in), "iteration %d: order matters", iter)
		var newest *Snapshot
		for i := range ss {
			s := &ss[i]
			if s.Status != "" {
				continue
			}
			if newest == nil || s.CreatedAt.After(newest.CreatedAt) || (s.CreatedAt.Equal(newest.CreatedAt) && s.ID > newest.ID) {
				newest = s
			}
		}
		verified := newestOK(ss, newest)
		for _, d := range first {
			require.NotEmpty(t, d.Reasons)
			if newest != nil && d.ID == newest.ID {
				require.True(t, d.Keep, "iteration %d: newest completed %s deleted (policy %+v)", iter, d.ID, p)
			}
			if verified != nil && d.ID == verified.ID {
				require.True(t, d.Keep, "iteration %d: newest verified %s deleted (policy %+v)", iter, d.ID, p)
			}
		}
	}
}

// newestOK is the newest completed snapshot verified ok when the newest
// completed one is not: the one the verification rule protects.
func newestOK(ss []Snapshot, newest *Snapshot) *Snapshot {
	if newest == nil || newest.VerifyStatus == sdk.VerifyOK {
		return nil
	}
	var out *Snapshot
	for i := range ss {
		s := &ss[i]
		if s.Status != "" || s.VerifyStatus != sdk.VerifyOK {
			continue
		}
		if out == nil || s.CreatedAt.After(out.CreatedAt) || (s.CreatedAt.Equal(out.CreatedAt) && s.ID > out.ID) {
			out = s
		}
	}
	return out
}

func randomPolicy(r *rand.Rand) sdk.RetentionPolicy {
	pick := func() int {
		if r.IntN(2) == 0 {
			return 0
		}
		return r.IntN(6)
	}
	p := sdk.RetentionPolicy{KeepLastN: pick(), KeepHourly: pick(), KeepDaily: pick(), KeepWeekly: pick(),
		KeepMonthly: pick(), KeepYearly: pick(), MaxAgeDays: pick() * 30}
	if r.IntN(3) == 0 {
		p.KeepWithin = fmt.Sprintf("%dd", 1+r.IntN(30))
	}
	if r.IntN(3) == 0 {
		p.MinAgeHours = r.IntN(48)
	}
	return p
}

// vsnaps makes completed snapshots named by their times, each followed by
// its verify status ("-" = never verified).
func vsnaps(pairs ...string) []Snapshot {
	out := make([]Snapshot, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		s := Snapshot{ID: pairs[i], CreatedAt: ts(pairs[i])}
		if pairs[i+1] != "-" {
			s.VerifyStatus = sdk.VerifyStatus(pairs[i+1])
		}
		out = append(out, s)
	}
	return out
}

// verifyCases are evaluated at 2026-11-21T12:00:00Z, like ruleCases.
var verifyCases = []ruleCase{
	{name: "newest unverified keeps the newest ok", policy: sdk.RetentionPolicy{KeepLastN: 1},
		snaps: vsnaps("2026-11-17T00:00:00Z", "ok", "2026-11-18T00:00:00Z", "ok", "2026-11-19T00:00:00Z", "-",
			"2026-11-20T00:00:00Z", "-"),
		keep: []string{"2026-11-18T00:00:00Z", "2026-11-20T00:00:00Z"},
		reason: map[string][]string{"2026-11-18T00:00:00Z": {ReasonNewestVerified},
			"2026-11-17T00:00:00Z": {ReasonNotKept}, "2026-11-19T00:00:00Z": {ReasonNotKept}}},
	{name: "newer failed and corrupt keep the ok one", policy: sdk.RetentionPolicy{KeepLastN: 2},
		snaps: vsnaps("2026-11-10T00:00:00Z", "ok", "2026-11-19T00:00:00Z", "corrupt", "2026-11-20T00:00:00Z", "failed"),
		keep:  []string{"2026-11-10T00:00:00Z", "2026-11-19T00:00:00Z", "2026-11-20T00:00:00Z"},
		reason: map[string][]string{"2026-11-10T00:00:00Z": {ReasonNewestVerified},
			"2026-11-20T00:00:00Z": {"last 1", ReasonNewest}}},
	{name: "newest verified ok: the rule has nothing to protect", policy: sdk.RetentionPolicy{KeepLastN: 1},
		snaps: vsnaps("2026-11-18T00:00:00Z", "ok", "2026-11-19T00:00:00Z", "-", "2026-11-20T00:00:00Z", "ok"),
		keep:  []string{"2026-11-20T00:00:00Z"},
		reason: map[string][]string{"2026-11-18T00:00:00Z": {ReasonNotKept},
			"2026-11-20T00:00:00Z": {"last 1", ReasonNewest}}},
	{name: "a rule that keeps it too adds its reason", policy: sdk.RetentionPolicy{KeepLastN: 2},
		snaps:  vsnaps("2026-11-19T00:00:00Z", "ok", "2026-11-20T00:00:00Z", "failed"),
		keep:   []string{"2026-11-19T00:00:00Z", "2026-11-20T00:00:00Z"},
		reason: map[string][]string{"2026-11-19T00:00:00Z": {"last 2", ReasonNewestVerified}}},
	{name: "survives max_age", policy: sdk.RetentionPolicy{KeepLastN: 1, MaxAgeDays: 30},
		snaps: vsnaps("2026-01-01T00:00:00Z", "ok", "2026-02-01T00:00:00Z", "failed", "2026-11-20T00:00:00Z", "-"),
		keep:  []string{"2026-01-01T00:00:00Z", "2026-11-20T00:00:00Z"},
		reason: map[string][]string{"2026-01-01T00:00:00Z": {ReasonNewestVerified},
			"2026-02-01T00:00:00Z": {"older than max_age_days=30"}}},
	{name: "never verified: the rule does not apply", policy: sdk.RetentionPolicy{KeepLastN: 1},
		snaps: vsnaps("2026-11-18T00:00:00Z", "-", "2026-11-19T00:00:00Z", "failed", "2026-11-20T00:00:00Z", "-"),
		keep:  []string{"2026-11-20T00:00:00Z"}},
	{name: "empty policy keeps all without the reason", snaps: vsnaps("2026-11-18T00:00:00Z", "ok", "2026-11-20T00:00:00Z", "-"),
		keep:   []string{"2026-11-18T00:00:00Z", "2026-11-20T00:00:00Z"},
		reason: map[string][]string{"2026-11-18T00:00:00Z": {ReasonEmptyPolicy}}},
}

func TestEvaluateVerifiedRule(t *testing.T) {
	t.Parallel()
	now := ts("2026-11-21T12:00:00Z")
	for _, tc := range verifyCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keep, del := run(Input{Policy: tc.policy, Location: tc.loc, Now: now, Snapshots: tc.snaps})
			require.Equal(t, sortStrings(tc.keep), keys(keep), "deleted: %v", del)
			for id, want := range tc.reason {
				got, ok := keep[id]
				if !ok {
					got = del[id]
				}
				require.Equal(t, want, got, id)
			}
		})
	}
}

// Only completed snapshots count on either side of the rule: an ok one
// being deleted is not protected (and protects nothing), and a newer
// failed backup does not make an older ok snapshot "the newest verified".
func TestEvaluateVerifiedRuleCountsCompletedOnly(t *testing.T) {
	t.Parallel()
	in := Input{Policy: sdk.RetentionPolicy{KeepLastN: 1}, Now: ts("2026-11-21T12:00:00Z"), Snapshots: []Snapshot{
		{ID: "failed-backup", CreatedAt: ts("2026-11-21T00:00:00Z"), Status: sdk.SnapshotFailed},
		{ID: "newest-ok", CreatedAt: ts("2026-11-20T00:00:00Z"), VerifyStatus: sdk.VerifyOK},
		{ID: "deleting-ok", CreatedAt: ts("2026-11-19T00:00:00Z"), Status: sdk.SnapshotDeleting, VerifyStatus: sdk.VerifyOK},
		{ID: "old-ok", CreatedAt: ts("2026-11-18T00:00:00Z"), VerifyStatus: sdk.VerifyOK},
	}}
	keep, del := run(in)
	require.Equal(t, []string{"newest-ok"}, keys(keep))
	require.Equal(t, []string{ReasonDeleteInProgress}, del["deleting-ok"])
	require.Equal(t, []string{ReasonNotKept}, del["old-ok"])

	in.Snapshots[1].VerifyStatus = sdk.VerifyCorrupt // now the newest completed one is not ok
	keep, del = run(in)
	require.Equal(t, []string{"newest-ok", "old-ok"}, keys(keep), "deleted: %v", del)
	require.Equal(t, []string{ReasonNewestVerified}, keep["old-ok"])
	for _, d := range Evaluate(in) {
		if d.ID == "newest-ok" {
			require.Equal(t, sdk.VerifyCorrupt, d.VerifyStatus, "decisions carry the verify status")
		}
	}
}
