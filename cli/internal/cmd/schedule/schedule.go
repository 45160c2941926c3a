// Package schedule implements `xv schedule`: create, list, show, update,
// delete, pause and resume the schedules that trigger backups and verify
// drills, and list a schedule's run history.
package schedule

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmd/retention"
	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv schedule`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:  "schedule",
		Usage: "Create, list, show, update, delete, pause and resume backup schedules; list their runs",
		Subcommands: []*cli.Command{newCreateCmd(f), newListCmd(f), newShowCmd(f), newUpdateCmd(f), newDeleteCmd(f),
			newToggleCmd(f, "pause", false), newToggleCmd(f, "resume", true), newRunsCmd(f)},
	})
}

// timing holds --cron / --every / --timezone.
type timing struct {
	Cron, Every, Timezone, AlertAfter string
}

func (t *timing) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "cron", Usage: "5-field cron `SPEC`, e.g. \"30 2 * * *\"", Destination: &t.Cron},
		&cli.StringFlag{Name: "every", Usage: "run every `DUR` (whole minutes: 15m, 1h, 1d)", Destination: &t.Every},
		&cli.StringFlag{Name: "timezone", Usage: "IANA `TZ` of the cron spec and retention buckets (default UTC)", Destination: &t.Timezone},
		&cli.StringFlag{Name: "alert-after", Usage: "the source is overdue (xv status) without a completed snapshot for `DUR`, e.g. 36h or 2d " +
			"(default twice the period plus 1h; on update \"\" restores the default)", Destination: &t.AlertAfter},
	}
}

// minutes turns --every into minutes (0 when not given).
func (t *timing) minutes() (int, error) {
	if t.Every == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(t.Every)
	if err != nil {
		d, err = parseDays(t.Every)
	}
	if err != nil || d < time.Minute || d%time.Minute != 0 {
		return 0, cmdutil.UsageErrorf("--every: %q must be a whole number of minutes such as 15m, 1h or 1d", t.Every)
	}
	return int(d / time.Minute), nil
}

// drill holds --verify / --verify-every.
type drill struct {
	Mode, Every string
}

func (d *drill) flags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "verify", Usage: "verify drill `MODE`: latest (the newest snapshot) or sample (rotate through all); with update, off turns drills off", Destination: &d.Mode},
		&cli.StringFlag{Name: "verify-every", Usage: "run the verify drill every `DUR` (1h to 365d: 12h, 7d, 2w, 1d12h)", Destination: &d.Every},
	}
}

// mode is --verify as the API takes it: "off" (and "") turn drills off.
func (d *drill) mode() string {
	if d.Mode == "off" {
		return ""
	}
	return d.Mode
}

func parseDays(s string) (time.Duration, error) {
	var n int
	if _, err := fmt.Sscanf(s, "%dd", &n); err != nil || fmt.Sprintf("%dd", n) != s {
		return 0, fmt.Errorf("not a duration")
	}
	return time.Duration(n) * 24 * time.Hour, nil
}

type createOptions struct {
	cmdutil.Deps
	Source   string
	Timing   timing
	Drill    drill
	Policy   retention.PolicyFlags
	Disabled bool
}

func newCreateCmd(f *cmdutil.Factory) *cli.Command {
	opts := &createOptions{}
	return &cli.Command{
		Name:  "create",
		Usage: "Schedule backups of a source",
		UsageText: `xv schedule create --source ID (--cron SPEC | --every DUR) [--timezone TZ]
               [--verify latest|sample --verify-every DUR] [retention flags] [--tenant ID]

Retention flags, when given, set the source's retention policy (the source
has one policy, whichever schedule or 'xv retention set' wrote it last).
--verify with --verify-every makes the hub verify the source's snapshots by
itself: the newest one (latest) or a rotating sample that covers every
snapshot within its retention window (sample); the first drill runs at once.

Examples:
   xv schedule create --source src_01J... --cron "30 2 * * *" --timezone Europe/Berlin --keep-daily 7 --keep-weekly 4
   xv schedule create --source src_01J... --every 1h --verify sample --verify-every 7d`,
		Flags: append(append(append([]cli.Flag{cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "source", Usage: "source `ID` to back up", Destination: &opts.Source},
			&cli.BoolFlag{Name: "paused", Usage: "create it paused", Destination: &opts.Disabled},
		}, opts.Timing.flags()...), opts.Drill.flags()...), opts.Policy.Flags()...),
		Action: func(c *cli.Context) error {
			if _, err := cmdutil.Args(c); err != nil {
				return err
			}
			req, err := opts.request(c)
			if err != nil {
				return err
			}
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			s, err := opts.Client.CreateSchedule(c.Context, *req)
			if err != nil {
				return err
			}
			return printSchedule(opts.Deps, s)
		},
	}
}

func (o *createOptions) request(c *cli.Context) (*sdk.CreateScheduleRequest, error) {
	switch {
	case o.Source == "":
		return nil, cmdutil.UsageErrorf("--source ID is required")
	case (o.Timing.Cron == "") == (o.Timing.Every == ""):
		return nil, cmdutil.UsageErrorf("give exactly one of --cron SPEC and --every DUR")
	case (o.Drill.mode() == "") != (o.Drill.Every == ""):
		return nil, cmdutil.UsageErrorf("give --verify latest|sample and --verify-every DUR together")
	}
	iv, err := o.Timing.minutes()
	if err != nil {
		return nil, err
	}
	enabled := !o.Disabled
	req := &sdk.CreateScheduleRequest{SourceID: o.Source, Cron: o.Timing.Cron, IntervalMinutes: iv,
		Timezone: o.Timing.Timezone, Enabled: &enabled, Verify: o.Drill.mode(), VerifyEvery: o.Drill.Every,
		AlertAfter: o.Timing.AlertAfter}
	if o.Policy.Set(c) {
		p, err := o.Policy.Policy()
		if err != nil {
			return nil, err
		}
		req.RetentionPolicy = &p
	}
	return req, nil
}

type updateOptions struct {
	cmdutil.IDOptions
	Timing timing
	Drill  drill
	Policy retention.PolicyFlags
}

func newUpdateCmd(f *cmdutil.Factory) *cli.Command {
	opts := &updateOptions{}
	return &cli.Command{
		Name:  "update",
		Usage: "Change a schedule's timing, time zone, verify drill or the source's retention policy",
		UsageText: `xv schedule update ID [--cron SPEC | --every DUR] [--timezone TZ]
               [--verify latest|sample|off] [--verify-every DUR] [retention flags] [--tenant ID]

A new or changed verify drill runs at once; --verify off turns drills off.

Examples:
   xv schedule update sch_01J... --cron "0 3 * * *"
   xv schedule update sch_01J... --verify latest --verify-every 1d
   xv schedule update sch_01J... --verify off
   xv schedule update sch_01J... --keep-last 2`,
		Flags: append(append(append([]cli.Flag{cmdutil.TenantFlag()}, opts.Timing.flags()...), opts.Drill.flags()...),
			opts.Policy.Flags()...),
		Action: func(c *cli.Context) error {
			req, err := opts.request(c)
			if err != nil {
				return err
			}
			return cmdutil.WithID(c, f, &opts.IDOptions, func(ctx context.Context, o *cmdutil.IDOptions) error {
				s, err := o.Client.UpdateSchedule(ctx, o.ID, *req)
				if err != nil {
					return err
				}
				return printSchedule(o.Deps, s)
			})
		},
	}
}

func (o *updateOptions) request(c *cli.Context) (*sdk.UpdateScheduleRequest, error) {
	req := &sdk.UpdateScheduleRequest{}
	if o.Timing.Cron != "" && o.Timing.Every != "" {
		return nil, cmdutil.UsageErrorf("give at most one of --cron SPEC and --every DUR")
	}
	if c.IsSet("cron") {
		req.Cron = &o.Timing.Cron
	}
	if c.IsSet("every") {
		iv, err := o.Timing.minutes()
		if err != nil {
			return nil, err
		}
		req.IntervalMinutes = &iv
	}
	if c.IsSet("timezone") {
		req.Timezone = &o.Timing.Timezone
	}
	if c.IsSet("alert-after") {
		req.AlertAfter = &o.Timing.AlertAfter
	}
	if c.IsSet("verify") {
		mode := o.Drill.mode()
		req.Verify = &mode
	}
	if c.IsSet("verify-every") {
		req.VerifyEvery = &o.Drill.Every
	}
	if o.Policy.Set(c) {
		p, err := o.Policy.Policy()
		if err != nil {
			return nil, err
		}
		req.RetentionPolicy = &p
	}
	if *req == (sdk.UpdateScheduleRequest{}) {
		return nil, cmdutil.UsageErrorf("nothing to change; give --cron, --every, --timezone, --alert-after, --verify, --verify-every or retention flags")
	}
	return req, nil
}

func newToggleCmd(f *cmdutil.Factory, name string, enabled bool) *cli.Command {
	opts := &cmdutil.IDOptions{}
	usage := "Pause a schedule (no backups until resumed)"
	if enabled {
		usage = "Resume a paused schedule (next run from now, no catch-up)"
	}
	return &cli.Command{
		Name: name, Usage: usage, UsageText: "xv schedule " + name + " ID [--tenant ID]",
		Flags: []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error {
			return cmdutil.WithID(c, f, opts, func(ctx context.Context, o *cmdutil.IDOptions) error {
				s, err := o.Client.UpdateSchedule(ctx, o.ID, sdk.UpdateScheduleRequest{Enabled: &enabled})
				if err != nil {
					return err
				}
				return printSchedule(o.Deps, s)
			})
		},
	}
}

func newDeleteCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name: "delete", Usage: "Delete a schedule (the source's retention policy stays)",
		UsageText: "xv schedule delete ID [--tenant ID]",
		Flags:     []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error {
			return cmdutil.WithID(c, f, opts, func(ctx context.Context, o *cmdutil.IDOptions) error {
				if err := o.Client.DeleteSchedule(ctx, o.ID); err != nil {
					return err
				}
				return cmdutil.PrintDeleted(o.Deps, "schedule", o.ID)
			})
		},
	}
}

func newShowCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name: "show", Usage: "Show one schedule", UsageText: "xv schedule show ID [--tenant ID]",
		Flags: []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error {
			return cmdutil.WithID(c, f, opts, func(ctx context.Context, o *cmdutil.IDOptions) error {
				s, err := o.Client.GetSchedule(ctx, o.ID)
				if err != nil {
					return err
				}
				return printSchedule(o.Deps, s)
			})
		},
	}
}

func printSchedule(d cmdutil.Deps, s *sdk.Schedule) error {
	if d.Out.JSON() {
		return d.Out.PrintJSON(s)
	}
	fl := d.Out.Fields()
	fl.Add("ID", s.ID)
	fl.Add("Source", s.SourceID)
	fl.Add("When", when(s))
	fl.Add("Time zone", s.Timezone)
	fl.Add("Enabled", fmt.Sprint(s.Enabled))
	fl.Add("Next run", d.Out.WhenPtr(s.NextRunAt))
	fl.Add("Last run", d.Out.WhenPtr(s.LastRunAt))
	if s.RetentionPolicy != nil {
		fl.Add("Retention", retention.FormatPolicy(*s.RetentionPolicy))
	}
	fl.Add("Verify", verifyDrill(s))
	fl.Add("Next verify", d.Out.WhenPtr(s.NextVerifyAt))
	if s.AlertAfter != "" {
		fl.Add("Alert after", s.AlertAfter)
	}
	fl.Add("Created", d.Out.When(s.CreatedAt))
	return fl.Flush()
}

// verifyDrill is a schedule's verify drill for humans: "sample every 7d", "off".
func verifyDrill(s *sdk.Schedule) string {
	if s.Verify == "" {
		return "off"
	}
	return s.Verify + " every " + s.VerifyEvery
}

func when(s *sdk.Schedule) string {
	if s.Cron != "" {
		return "cron " + s.Cron
	}
	return "every " + period(s.IntervalMinutes)
}

// period writes a whole number of minutes as days, hours and minutes:
// 60 → "1h", 90 → "1h30m", 1440 → "1d".
func period(minutes int) string {
	var b strings.Builder
	for _, u := range []struct {
		n    int
		name string
	}{{1440, "d"}, {60, "h"}, {1, "m"}} {
		if q := minutes / u.n; q > 0 {
			fmt.Fprintf(&b, "%d%s", q, u.name)
			minutes -= q * u.n
		}
	}
	if b.Len() == 0 {
		return "0m"
	}
	return b.String()
}

type listOptions struct {
	cmdutil.Deps
	List sdk.ScheduleListOptions
}

func newListCmd(f *cmdutil.Factory) *cli.Command {
	opts := &listOptions{}
	return &cli.Command{
		Name: "list", Usage: "List schedules, newest first",
		UsageText: "xv schedule list [--source ID] [--limit N] [--cursor C] [--tenant ID]",
		Flags: append([]cli.Flag{cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "source", Usage: "only schedules of source `ID`", Destination: &opts.List.SourceID},
		}, cmdutil.ListFlags(&opts.List.ListOptions)...),
		Action: func(c *cli.Context) error {
			if err := cmdutil.StartList(c, f, opts.List.ListOptions, &opts.Deps); err != nil {
				return err
			}
			page, err := opts.Client.ListSchedules(c.Context, opts.List)
			if err != nil {
				return err
			}
			cmdutil.NoteMore(opts.Deps, page.NextCursor)
			if opts.Out.JSON() {
				return opts.Out.PrintJSON(output.Items(page.Items))
			}
			t := opts.Out.Table("ID", "SOURCE", "WHEN", "TZ", "ENABLED", "NEXT RUN", "LAST RUN", "VERIFY", "NEXT VERIFY")
			for _, s := range page.Items {
				t.Row(s.ID, s.SourceID, when(&s), s.Timezone, fmt.Sprint(s.Enabled), opts.Out.WhenPtr(s.NextRunAt),
					opts.Out.WhenPtr(s.LastRunAt), verifyDrill(&s), opts.Out.WhenPtr(s.NextVerifyAt))
			}
			return t.Flush()
		},
	}
}

type runsOptions struct {
	cmdutil.Deps
	ID   string
	List sdk.ListOptions
}

func newRunsCmd(f *cmdutil.Factory) *cli.Command {
	opts := &runsOptions{}
	return &cli.Command{
		Name: "runs", Usage: "List a schedule's run history: slots fired or skipped, and why",
		UsageText: `xv schedule runs SCHEDULE [--limit N] [--cursor C] [--tenant ID]

Examples:
   xv schedule runs 0b6c…
   xv schedule runs 0b6c… -o json | jq -r '.[] | select(.fired | not) | .reason'`,
		Flags: append([]cli.Flag{cmdutil.TenantFlag()}, cmdutil.ListFlags(&opts.List)...),
		Action: func(c *cli.Context) error {
			args, err := cmdutil.Args(c, "SCHEDULE")
			if err != nil {
				return err
			}
			opts.ID = args[0]
			if err := cmdutil.CheckLimit(opts.List); err != nil {
				return err
			}
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			return runsRun(c.Context, opts)
		},
	}
}

func runsRun(ctx context.Context, opts *runsOptions) error {
	page, err := opts.Client.ListScheduleRuns(ctx, opts.ID, opts.List)
	if err != nil {
		return err
	}
	cmdutil.NoteMore(opts.Deps, page.NextCursor)
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(output.Items(page.Items))
	}
	t := opts.Out.Table("SLOT", "OUTCOME", "JOB", "REASON")
	for _, r := range page.Items {
		outcome := "fired"
		if !r.Fired {
			outcome = "skipped"
		}
		t.Row(opts.Out.When(r.Slot), outcome, r.JobID, r.Reason)
	}
	return t.Flush()
}
