package storage

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

type testOptions struct {
	cmdutil.Deps
	Target   string
	Interval time.Duration
}

func newTestCmd(f *cmdutil.Factory) *cli.Command {
	opts := &testOptions{}
	return &cli.Command{
		Name:  "test",
		Usage: "Check that agents can write to a storage target, changing nothing",
		UsageText: `xv storage test TARGET [--tenant ID]

Runs a test job on an agent that can reach object storage (the hub never
talks to the bucket): the bucket exists, the access key writes, reads back
and deletes a probe object, and lists the unfinished uploads below the
tenant's prefix (the stale-upload sweeper needs that). TARGET is an id or a
name. A platform target is tested for the tenant --tenant names. Exit status
0 when every check passed, 4 otherwise.

Examples:
   xv storage test garage
   xv storage test st_01J... -o json | jq '.checks[] | select(.ok | not)'`,
		Flags: []cli.Flag{
			cmdutil.TenantFlag(),
			&cli.DurationFlag{Name: "poll-interval", Value: time.Second, Usage: "check the job every `DURATION`", Destination: &opts.Interval},
		},
		Action: func(c *cli.Context) error {
			args, err := cmdutil.Args(c, "TARGET")
			if err != nil {
				return err
			}
			if opts.Interval <= 0 {
				return cmdutil.UsageErrorf("--poll-interval must be positive")
			}
			opts.Target = args[0]
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			return testRun(c.Context, opts)
		},
	}
}

// testResult is the -o json shape: the report with the job that made it.
type testResult struct {
	JobID string `json:"job_id"`
	*sdk.TestReport
}

func testRun(ctx context.Context, opts *testOptions) error {
	id, err := Resolve(ctx, opts.Client, opts.Target)
	if err != nil {
		return err
	}
	if id == "" {
		return cmdutil.UsageErrorf("%s is an agent's disk, not a storage target", sdk.StorageLocal)
	}
	j, err := opts.Client.TestStorageTarget(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Testing storage target %s (job %s)…\n", id, j.ID)
	final, err := cmdutil.WaitJob(ctx, opts.Client, j.ID, cmdutil.WaitOptions{Events: opts.Client.Events, Interval: opts.Interval})
	if err != nil {
		return fmt.Errorf("wait for test job %s: %w", j.ID, err)
	}
	if final.Status != sdk.JobCompleted || final.Test == nil {
		return &cmdutil.JobFailedError{Job: final}
	}
	rep := final.Test
	if opts.Out.JSON() {
		if err := opts.Out.PrintJSON(testResult{JobID: final.ID, TestReport: rep}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(opts.IO.Out, "Target: %s\n", rep.Server)
		if err := cmdutil.PrintChecks(opts.Out, rep.Checks); err != nil {
			return err
		}
	}
	if !rep.OK {
		final.Status, final.ErrorMessage = sdk.JobFailed, "agents cannot use storage target "+id+": "+cmdutil.FirstFailedCheck(rep)
		return &cmdutil.JobFailedError{Job: final}
	}
	if !opts.Out.JSON() {
		fmt.Fprintln(opts.IO.Out, "Agents can use the storage target.")
	}
	return nil
}
