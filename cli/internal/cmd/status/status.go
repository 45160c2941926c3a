// Package status implements `xv status`: the hub's version and database, who
// the token is, agents (online, offline, draining, version, free disk,
// running jobs), jobs by status, and every source that needs attention
// with the reason. `xv status --check` exits 1 when anything is unhealthy.
package status

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmd/agent"
	"github.com/xvault/xvault/cli/internal/cmd/login"
	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

type options struct {
	cmdutil.Deps
	Check bool
}

// NewCmd returns `xv status`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	opts := &options{}
	return &cli.Command{
		Name:  "status",
		Usage: "Show the hub, who you are, agents, jobs by status and every source that needs attention",
		UsageText: `xv status [--check]

Sources need attention when they were never backed up, are overdue (no
completed snapshot within the schedule's alert_after, by default twice its
period plus 1h), failed their last 3 backups, or have snapshots on an
offline agent. --check exits 1 when anything is unhealthy, 0 otherwise
(for cron and monitoring); -o json carries the same under .health.

Examples:
   xv status
   xv status --check -o json | jq '.health.unhealthy_sources[] | {source_name, problems}'
   xv status --check >/dev/null || echo "xVault needs attention"`,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "check", Usage: "exit 1 when a source or the fleet is unhealthy", Destination: &opts.Check},
		},
		Action: func(c *cli.Context) error {
			if _, err := cmdutil.Args(c); err != nil {
				return err
			}
			d, err := f.Deps(c)
			if err != nil {
				return err
			}
			opts.Deps = d
			return run(c.Context, opts)
		},
	}
}

var jobOrder = []sdk.JobStatus{sdk.JobQueued, sdk.JobRunning, sdk.JobFinalizing, sdk.JobCompleted, sdk.JobFailed, sdk.JobCanceled}

func run(ctx context.Context, opts *options) error {
	st, err := opts.Client.Status(ctx)
	if err != nil {
		return err
	}
	if opts.Out.JSON() {
		err = opts.Out.PrintJSON(st)
	} else {
		err = printStatus(opts, st)
	}
	if err != nil {
		return err
	}
	if opts.Check && !st.Health.Healthy {
		return unhealthyError(st.Health)
	}
	return nil
}

// unhealthyError is what --check exits 1 with.
func unhealthyError(h sdk.HealthSummary) error {
	var parts []string
	if n := len(h.UnhealthySources); n > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d source(s) need attention", n, h.Sources))
	}
	for _, p := range h.Problems {
		parts = append(parts, p)
	}
	return errors.New("unhealthy: " + strings.Join(parts, "; "))
}

func printStatus(opts *options, st *sdk.Status) error {
	var jobs []string
	for _, s := range jobOrder {
		jobs = append(jobs, fmt.Sprintf("%s %d", s, st.Jobs[s]))
	}
	for s, n := range st.Jobs { // statuses this xv does not know yet
		if !slices.Contains(jobOrder, s) {
			jobs = append(jobs, fmt.Sprintf("%s %d", s, n))
		}
	}
	fl := opts.Out.Fields()
	fl.Add("Hub", opts.Client.BaseURL())
	fl.Add("Version", st.Version)
	fl.Add("Database", st.Database)
	fl.Add("You", login.DescribeCaller(st.Caller))
	a := st.Agents
	fl.Add("Agents", fmt.Sprintf("%d online of %d (%d offline, %d draining)", a.Online, a.Total, a.Offline, a.Draining))
	fl.Add("Jobs", strings.Join(jobs, ", "))
	fl.Add("Health", healthLine(st.Health))
	if err := fl.Flush(); err != nil {
		return err
	}
	if len(a.Items) > 0 {
		fmt.Fprintln(opts.Out.Out)
		t := opts.Out.Table("AGENT", "NAME", "STATUS", "VERSION", "FREE DISK", "RUNNING", "LAST SEEN")
		for i := range a.Items {
			x := &a.Items[i]
			t.Row(x.ID, x.Name, string(x.Status), x.Version, agent.FreeDisk(x), fmt.Sprint(x.RunningJobs),
				opts.Out.AgoPtr(x.LastSeenAt))
		}
		if err := t.Flush(); err != nil {
			return err
		}
	}
	if len(st.Health.UnhealthySources) == 0 {
		return nil
	}
	fmt.Fprintln(opts.Out.Out)
	t := opts.Out.Table("SOURCE", "NAME", "TENANT", "LAST GOOD SNAPSHOT", "PROBLEM")
	for _, h := range st.Health.UnhealthySources {
		for i, p := range h.Problems {
			if i == 0 {
				t.Row(h.SourceID, h.SourceName, h.TenantID, opts.Out.AgoPtr(h.LastSnapshotAt), p)
			} else {
				t.Row("", "", "", "", p)
			}
		}
	}
	return t.Flush()
}

func healthLine(h sdk.HealthSummary) string {
	if h.Healthy {
		return fmt.Sprintf("ok (%d source(s) watched)", h.Sources)
	}
	line := fmt.Sprintf("UNHEALTHY: %d of %d source(s) need attention", len(h.UnhealthySources), h.Sources)
	for _, p := range h.Problems {
		line += "; " + p
	}
	return line
}
