package retention

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{
		"7d": 7 * 24 * time.Hour, "36h": 36 * time.Hour, "2w": 14 * 24 * time.Hour,
		"1d12h": 36 * time.Hour, "90m": 90 * time.Minute, " 1h ": time.Hour,
	} {
		got, err := ParseDuration(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "0d", "7", "d", "-1d", "1.5d", "1y", "7 d", "1D", "99999999999999999999h",
		"36500000d", "1h-1m", "h1"} {
		_, err := ParseDuration(bad)
		require.Error(t, err, bad)
	}
	require.Equal(t, "1d12h", FormatDuration(36*time.Hour))
	require.Equal(t, "1h30m", FormatDuration(90*time.Minute))
}

func TestDecodePolicy(t *testing.T) {
	t.Parallel()
	p, f := DecodePolicy([]byte(`{"keep_last_n":7,"keep_daily":30,"keep_within":"36h","min_age_hours":24,"max_age_days":365}`))
	require.Nil(t, f)
	require.Equal(t, sdk.RetentionPolicy{KeepLastN: 7, KeepDaily: 30, KeepWithin: "36h", MinAgeHours: 24, MaxAgeDays: 365}, p)
	p, f = DecodePolicy(nil)
	require.Nil(t, f)
	require.True(t, p.IsEmpty())

	for raw, field := range map[string]string{
		`{"keep_lastn":1}`:                      "keep_lastn",
		`{"keep_daily":-1}`:                     "keep_daily",
		`{"keep_weekly":1.5}`:                   "keep_weekly",
		`{"keep_within":"soon"}`:                "keep_within",
		`{"keep_monthly":"3"}`:                  "keep_monthly",
		`{"max_age_days":1,"min_age_hours":48}`: "min_age_hours",
		`{"keep_yearly":100001}`:                "keep_yearly",
		`[1]`:                                   "policy",
		`{} {}`:                                 "policy",
	} {
		_, f := DecodePolicy([]byte(raw))
		require.Contains(t, f, field, raw)
	}
}

func TestLoadLocation(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"", "UTC", "Europe/Berlin", "America/New_York"} {
		_, err := LoadLocation(ok)
		require.NoError(t, err, ok)
	}
	for _, bad := range []string{"Local", "Mars/Olympus", "../etc/passwd", "/etc/localtime", "Europe/ Berlin"} {
		_, err := LoadLocation(bad)
		require.Error(t, err, bad)
	}
}

func FuzzDecodePolicy(f *testing.F) {
	for _, s := range []string{`{}`, `{"keep_last_n":3,"keep_within":"1d12h"}`, `{"max_age_days":-1}`, `{"keep_within":"9999999999w"}`, `x`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		p, fields := DecodePolicy(raw)
		if len(fields) > 0 {
			require.True(t, p.IsEmpty(), "a rejected policy must come back empty")
			return
		}
		again := validate.Fields{}
		CheckPolicy(again, "", p)
		require.Empty(t, again, "an accepted policy must check clean")
		Evaluate(Input{Policy: p, Now: time.Unix(0, 0), Snapshots: []Snapshot{{ID: "a", CreatedAt: time.Unix(1, 0)}}})
	})
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"7d", "36h", "1d12h", "2w", "", "0d", "9223372036854775807h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		require.Positive(t, d)
		require.LessOrEqual(t, d, 100*366*24*time.Hour)
		back, err := ParseDuration(FormatDuration(d))
		require.NoError(t, err)
		require.Equal(t, d, back)
	})
}
