// Package status implements `xv status`: the hub's version and database, who
// the token is, agents online and jobs by status.
package status

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmd/login"
	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

type options struct{ cmdutil.Deps }

// NewCmd returns `xv status`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	opts := &options{}
	return &cli.Command{
		Name:  "status",
		Usage: "Show the hub's version and database, who you are, agents online and jobs by status",
		UsageText: `xv status

Examples:
   xv status
   xv status -o json | jq .caller`,
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
		return opts.Out.PrintJSON(st)
	}
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
	fl.Add("Agents", fmt.Sprintf("%d online of %d", st.Agents.Online, st.Agents.Total))
	fl.Add("Jobs", strings.Join(jobs, ", "))
	return fl.Flush()
}
