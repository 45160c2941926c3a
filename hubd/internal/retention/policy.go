// Package retention decides which snapshots of a source a retention policy
// keeps and explains every decision (Evaluate, also behind the simulator),
// and runs the policy: it marks the others "deleting" and enqueues a
// delete_snapshot job for the agent that holds each one (Runner), after
// every successful backup, periodically and on demand. docs/retention.md
// states the rules.
package retention

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// Limits of policy values: large enough for any real policy, small enough
// that no time arithmetic overflows.
const (
	maxCount    = 100_000
	maxAgeDays  = 100 * 366
	maxMinHours = 100 * 366 * 24
)

// CheckPolicy reports every problem of a policy, keyed by its JSON name
// under prefix (e.g. "retention_policy.").
func CheckPolicy(f validate.Fields, prefix string, p sdk.RetentionPolicy) {
	for _, c := range []struct {
		name string
		v    int
		max  int
	}{
		{"keep_last_n", p.KeepLastN, maxCount}, {"keep_hourly", p.KeepHourly, maxCount},
		{"keep_daily", p.KeepDaily, maxCount}, {"keep_weekly", p.KeepWeekly, maxCount},
		{"keep_monthly", p.KeepMonthly, maxCount}, {"keep_yearly", p.KeepYearly, maxCount},
		{"min_age_hours", p.MinAgeHours, maxMinHours}, {"max_age_days", p.MaxAgeDays, maxAgeDays},
	} {
		if c.v < 0 || c.v > c.max {
			f.Add(prefix+c.name, fmt.Sprintf("must be between 0 and %d", c.max))
		}
	}
	if p.KeepWithin != "" {
		if _, err := ParseDuration(p.KeepWithin); err != nil {
			f.Add(prefix+"keep_within", err.Error())
		}
	}
	if p.MinAgeHours > 0 && p.MaxAgeDays > 0 && p.MinAgeHours > p.MaxAgeDays*24 {
		f.Add(prefix+"min_age_hours", "must not exceed max_age_days*24: a snapshot cannot be both protected and expired")
	}
}

// ParseDuration reads a retention duration: one or more <integer><unit>
// terms with units w (weeks), d (days), h (hours) and m (minutes), such as
// "7d", "36h", "2w" or "1d12h" (validate.ParseDuration).
func ParseDuration(s string) (time.Duration, error) { return validate.ParseDuration(s) }

// FormatDuration writes d the way ParseDuration reads it ("1d12h").
func FormatDuration(d time.Duration) string { return validate.FormatDuration(d) }

// LoadLocation resolves an IANA time zone name ("" = UTC). "Local" is
// refused: it would mean whatever the hub's host is set to.
func LoadLocation(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	if name == "Local" || strings.ContainsAny(name, " \\") || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil, fmt.Errorf("must be an IANA time zone name such as Europe/Berlin or UTC")
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone (use an IANA name such as Europe/Berlin or UTC)")
	}
	return loc, nil
}

// DecodePolicy reads a stored or submitted policy strictly: unknown keys,
// wrong types and bad values are field errors. Empty input is the empty policy.
func DecodePolicy(raw []byte) (sdk.RetentionPolicy, validate.Fields) {
	var p sdk.RetentionPolicy
	f := validate.Fields{}
	if len(strings.TrimSpace(string(raw))) == 0 || strings.TrimSpace(string(raw)) == "null" {
		return p, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		field, problem := validate.JSONProblem(err)
		if field == "" {
			field = "policy"
		}
		f.Add(field, problem)
		return sdk.RetentionPolicy{}, f
	}
	if dec.More() {
		f.Add("policy", "must be one JSON object")
		return sdk.RetentionPolicy{}, f
	}
	CheckPolicy(f, "", p)
	if len(f) > 0 {
		return sdk.RetentionPolicy{}, f
	}
	return p, nil
}
