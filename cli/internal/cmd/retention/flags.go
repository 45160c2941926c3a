package retention

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

// PolicyFlags are the retention flags shared by `xv retention set`,
// `xv retention simulate` and `xv schedule create|update`.
type PolicyFlags struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
	Within, MinAge, MaxAge                       string
}

// Flags wires the retention flags into p.
func (p *PolicyFlags) Flags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "keep-last", Usage: "keep the newest `N` snapshots", Destination: &p.Last},
		&cli.IntFlag{Name: "keep-hourly", Usage: "keep the newest snapshot of each of the last `N` hours that have one", Destination: &p.Hourly},
		&cli.IntFlag{Name: "keep-daily", Usage: "… of the last `N` days", Destination: &p.Daily},
		&cli.IntFlag{Name: "keep-weekly", Usage: "… of the last `N` ISO weeks", Destination: &p.Weekly},
		&cli.IntFlag{Name: "keep-monthly", Usage: "… of the last `N` months", Destination: &p.Monthly},
		&cli.IntFlag{Name: "keep-yearly", Usage: "… of the last `N` years", Destination: &p.Yearly},
		&cli.StringFlag{Name: "keep-within", Usage: "keep every snapshot within `DUR` of the newest (7d, 36h, 2w)", Destination: &p.Within},
		&cli.StringFlag{Name: "min-age", Usage: "never delete snapshots younger than `DUR` (whole hours: 24h, 2d)", Destination: &p.MinAge},
		&cli.StringFlag{Name: "max-age", Usage: "delete snapshots older than `DUR` even if a rule keeps them (whole days: 90d, 52w)", Destination: &p.MaxAge},
	}
}

// Set reports whether any retention flag was given.
func (p *PolicyFlags) Set(c *cli.Context) bool {
	for _, n := range []string{"keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly",
		"keep-within", "min-age", "max-age"} {
		if c.IsSet(n) {
			return true
		}
	}
	return false
}

// Policy checks the flags and builds the policy (usage errors name the flag).
func (p *PolicyFlags) Policy() (sdk.RetentionPolicy, error) {
	for name, v := range map[string]int{"keep-last": p.Last, "keep-hourly": p.Hourly, "keep-daily": p.Daily,
		"keep-weekly": p.Weekly, "keep-monthly": p.Monthly, "keep-yearly": p.Yearly} {
		if v < 0 {
			return sdk.RetentionPolicy{}, cmdutil.UsageErrorf("--%s must be 0 or more", name)
		}
	}
	out := sdk.RetentionPolicy{KeepLastN: p.Last, KeepHourly: p.Hourly, KeepDaily: p.Daily, KeepWeekly: p.Weekly,
		KeepMonthly: p.Monthly, KeepYearly: p.Yearly, KeepWithin: p.Within}
	if p.Within != "" {
		if _, err := parseDuration(p.Within); err != nil {
			return out, cmdutil.UsageErrorf("--keep-within: %v", err)
		}
	}
	var err error
	if out.MinAgeHours, err = wholeUnits("min-age", p.MinAge, time.Hour, "hours"); err != nil {
		return out, err
	}
	if out.MaxAgeDays, err = wholeUnits("max-age", p.MaxAge, 24*time.Hour, "days"); err != nil {
		return out, err
	}
	return out, nil
}

func wholeUnits(flag, v string, unit time.Duration, name string) (int, error) {
	if v == "" {
		return 0, nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return 0, cmdutil.UsageErrorf("--%s: %v", flag, err)
	}
	if d%unit != 0 {
		return 0, cmdutil.UsageErrorf("--%s: must be a whole number of %s", flag, name)
	}
	return int(d / unit), nil
}

var units = map[string]time.Duration{"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute}

// parseDuration reads 7d, 36h, 2w, 1d12h (the hub's retention durations).
func parseDuration(s string) (time.Duration, error) {
	bad := fmt.Errorf("%q is not a duration such as 7d, 36h, 2w or 1d12h", s)
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, bad
	}
	var total time.Duration
	for rest != "" {
		i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' })
		if i <= 0 || i == len(rest) {
			return 0, bad
		}
		n, err := strconv.Atoi(rest[:i])
		unit, ok := units[rest[i:i+1]]
		if err != nil || !ok || n > 1_000_000 {
			return 0, bad
		}
		total += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	if total <= 0 {
		return 0, bad
	}
	return total, nil
}

// PrintDecisions prints decisions as a table (time, keep/delete, last
// verification, reasons) or, with -o json, as
// [{"id","created_at","verify_status","keep","reasons"}], newest first.
func PrintDecisions(d cmdutil.Deps, ds []sdk.RetentionDecision, loc *time.Location) error {
	if d.Out.JSON() {
		if ds == nil {
			ds = []sdk.RetentionDecision{}
		}
		return d.Out.PrintJSON(ds)
	}
	t := d.Out.Table("TIME", "ACTION", "ID", "VERIFIED", "REASONS")
	for _, x := range ds {
		action := "delete"
		if x.Keep {
			action = "keep"
		}
		verified := string(x.VerifyStatus)
		if verified == "" {
			verified = "-"
		}
		t.Row(x.CreatedAt.In(loc).Format(time.RFC3339), action, x.ID, verified, strings.Join(x.Reasons, "; "))
	}
	return t.Flush()
}

// FormatPolicy is a one-line summary of a policy for tables.
func FormatPolicy(p sdk.RetentionPolicy) string {
	if p.IsEmpty() {
		return "keep all"
	}
	var parts []string
	for _, x := range []struct {
		name string
		v    int
	}{{"last", p.KeepLastN}, {"hourly", p.KeepHourly}, {"daily", p.KeepDaily}, {"weekly", p.KeepWeekly},
		{"monthly", p.KeepMonthly}, {"yearly", p.KeepYearly}, {"min_age_hours", p.MinAgeHours}, {"max_age_days", p.MaxAgeDays}} {
		if x.v > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", x.name, x.v))
		}
	}
	if p.KeepWithin != "" {
		parts = append(parts, "within="+p.KeepWithin)
	}
	return strings.Join(parts, " ")
}
