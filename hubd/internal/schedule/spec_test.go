package schedule

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func mustSpec(t *testing.T, cron string, interval int, tz string, anchor time.Time) *Spec {
	t.Helper()
	s, f := Parse(cron, interval, tz, anchor)
	require.Nil(t, f)
	return s
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cron     string
		interval int
		tz       string
		field    string
	}{
		{"", 0, "", "cron"},
		{"* * * * *", 5, "", "cron"},
		{"61 * * * *", 0, "", "cron"},
		{"* * * *", 0, "", "cron"},
		{"* * * * * *", 0, "", "cron"},
		{"CRON_TZ=UTC * * * * *", 0, "", "cron"},
		{"@every 5m", 0, "", "cron"},
		{"", -1, "", "interval_minutes"},
		{"", MaxIntervalMinutes + 1, "", "interval_minutes"},
		{"* * * * *", 0, "Mars/Olympus", "timezone"},
		{"* * * * *", 0, "Local", "timezone"},
	} {
		_, f := Parse(tc.cron, tc.interval, tc.tz, time.Time{})
		require.Contains(t, f, tc.field, "%+v", tc)
	}
	_, f := Parse("@daily", 0, "Europe/Berlin", time.Time{})
	require.Nil(t, f)
}

func TestNextCron(t *testing.T) {
	t.Parallel()
	s := mustSpec(t, "30 2 * * *", 0, "Europe/Berlin", time.Time{})
	require.Equal(t, at("2026-11-20T01:30:00Z"), s.Next(at("2026-11-19T12:00:00Z")))
	require.Equal(t, at("2026-11-21T01:30:00Z"), s.Next(at("2026-11-20T01:30:00Z")), "strictly after")
	every := mustSpec(t, "* * * * *", 0, "", time.Time{})
	require.Equal(t, at("2026-11-20T10:01:00Z"), every.Next(at("2026-11-20T10:00:00Z")))
	require.Equal(t, at("2026-11-20T10:01:00Z"), every.Next(at("2026-11-20T10:00:59Z")))
}

// Daily specs across both DST changes of Europe/Berlin fire exactly once
// per calendar day, including the wall-clock times that are missing
// (spring) or occur twice (autumn).
func TestNextCronDST(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spec       string
		start, end string
		want       []string
	}{
		{"30 2 * * *", "2026-03-27T12:00:00Z", "2026-03-31T00:00:00Z", []string{
			"2026-03-28T01:30:00Z", // 02:30 CET
			"2026-03-29T01:30:00Z", // 02:30 does not exist: 03:30 CEST
			"2026-03-30T00:30:00Z", // 02:30 CEST
		}},
		{"30 2 * * *", "2026-10-23T12:00:00Z", "2026-10-27T00:00:00Z", []string{
			"2026-10-24T00:30:00Z", // 02:30 CEST
			"2026-10-25T01:30:00Z", // 02:30 happens twice: fires once
			"2026-10-26T01:30:00Z", // 02:30 CET
		}},
		{"0 0 * * *", "2026-10-23T12:00:00Z", "2026-10-26T12:00:00Z", []string{
			"2026-10-23T22:00:00Z", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z",
		}},
	} {
		s := mustSpec(t, tc.spec, 0, "Europe/Berlin", time.Time{})
		var got []string
		for t0 := at(tc.start); ; {
			t0 = s.Next(t0)
			if t0.After(at(tc.end)) {
				break
			}
			got = append(got, t0.UTC().Format(time.RFC3339))
		}
		require.Equal(t, tc.want, got, tc.spec)
	}
}

func TestNextInterval(t *testing.T) {
	t.Parallel()
	anchor := at("2026-11-20T10:00:00Z")
	s := mustSpec(t, "", 90, "", anchor)
	require.Equal(t, anchor, s.Next(at("2026-11-20T09:00:00Z")))
	require.Equal(t, at("2026-11-20T11:30:00Z"), s.Next(anchor))
	require.Equal(t, at("2026-11-21T10:00:00Z"), s.Next(at("2026-11-21T09:59:59Z")))
}

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"* * * * *", "30 2 * * 1-5", "@daily", "*/15 0-6 1,15 * *", "61 * * * *", "TZ=x * * * * *", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, fields := Parse(spec, 0, "Europe/Berlin", time.Time{})
		if fields != nil {
			return
		}
		from := at("2026-03-29T00:00:00Z")
		next := s.Next(from)
		if !next.IsZero() {
			require.True(t, next.After(from), "next %s not after %s", next, from)
		}
	})
}
