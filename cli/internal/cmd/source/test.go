package source

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

type testOptions struct {
	cmdutil.Deps
	ID       string
	Interval time.Duration
}

func newTestCmd(f *cmdutil.Factory) *cli.Command {
	opts := &testOptions{}
	return &cli.Command{
		Name:  "test",
		Usage: "Check that a source would back up, changing nothing",
		UsageText: `xv source test SOURCE_ID [--tenant ID]

Runs a test_connection job on an agent: it connects (SSH, FTP, database),
lists the first paths or the databases with their sizes, checks the
privileges a backup needs (naming a missing GRANT), reports versions, and
changes nothing on the source. Exit status 0 when the source would back up,
4 otherwise.

Examples:
   xv source test src_01J...
   xv source test src_01J... -o json | jq '.checks[] | select(.ok | not)'`,
		Flags: []cli.Flag{
			cmdutil.TenantFlag(),
			&cli.DurationFlag{Name: "poll-interval", Value: time.Second, Usage: "check the job every `DURATION`", Destination: &opts.Interval},
		},
		Action: func(c *cli.Context) error {
			args, err := cmdutil.Args(c, "SOURCE_ID")
			if err != nil {
				return err
			}
			if opts.Interval <= 0 {
				return cmdutil.UsageErrorf("--poll-interval must be positive")
			}
			opts.ID = args[0]
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
	j, err := opts.Client.TestSource(ctx, opts.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Testing source %s (job %s)…\n", opts.ID, j.ID)
	final, err := opts.Client.WaitJob(ctx, j.ID, opts.Interval, nil)
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
	} else if err := printReport(opts.Deps, rep); err != nil {
		return err
	}
	if !rep.OK {
		final.Status, final.ErrorMessage = sdk.JobFailed, "the source would not back up: "+cmdutil.FirstFailedCheck(rep)
		return &cmdutil.JobFailedError{Job: final}
	}
	return nil
}

func printReport(d cmdutil.Deps, rep *sdk.TestReport) error {
	w := d.IO.Out
	if rep.Server != "" {
		fmt.Fprintf(w, "Server: %s\n", rep.Server)
	}
	for _, tool := range rep.Tools {
		fmt.Fprintf(w, "Tool:   %s\n", tool)
	}
	if err := cmdutil.PrintChecks(d.Out, rep.Checks); err != nil {
		return err
	}
	if len(rep.Items) > 0 {
		fmt.Fprintln(w)
		it := d.Out.Table("NAME", "KIND", "SIZE")
		for _, i := range rep.Items {
			it.Row(i.Name, i.Kind, output.Bytes(i.SizeBytes))
		}
		if err := it.Flush(); err != nil {
			return err
		}
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintf(d.IO.ErrOut, "warning: %s\n", warn)
	}
	verdict := "The source would back up."
	if !rep.OK {
		verdict = "The source would NOT back up."
	}
	fmt.Fprintln(w, verdict)
	return nil
}
