package job

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

// FollowOptions say how Follow shows a job it waits for.
type FollowOptions struct {
	Interval time.Duration    // polling period while the event stream is down
	Progress bool             // a live progress line on stderr (only on a terminal)
	Width    func() int       // the terminal's width
	Now      func() time.Time // the clock
	Total    int64            // expected bytes read, for the bar and ETA; 0 unknown
	Estimate bool             // Total is a guess from an earlier run
}

// Follow waits for j to end (events, falling back to polling), drawing
// progress on a terminal, and returns its final state. Interrupted, it says
// that the job keeps running.
func Follow(ctx context.Context, d cmdutil.Deps, j *sdk.Job, o FollowOptions) (*sdk.Job, error) {
	var line *cmdutil.ProgressLine
	if o.Progress {
		line = &cmdutil.ProgressLine{W: d.IO.ErrOut, Width: o.Width(), Now: o.Now, Total: o.Total, Estimate: o.Estimate}
	}
	final, err := cmdutil.WaitJob(ctx, d.Client, j.ID, cmdutil.WaitOptions{Events: d.Client.Events,
		Interval: o.Interval, OnUpdate: func(j *sdk.Job) {
			if line != nil {
				line.Update(j)
			}
		}})
	if line != nil {
		line.Clear()
	}
	if err != nil {
		if ctx.Err() != nil {
			return final, cmdutil.WithHint(fmt.Errorf("stopped waiting for job %s: %w", j.ID, err),
				"the job keeps running: 'xv job watch %s' follows it, 'xv job cancel %s' stops it", j.ID, j.ID)
		}
		return final, fmt.Errorf("wait for job %s: %w", j.ID, err)
	}
	return final, nil
}

type watchOptions struct {
	cmdutil.IDOptions
	Follow FollowOptions
}

func newWatchCmd(f *cmdutil.Factory) *cli.Command {
	opts := &watchOptions{}
	return &cli.Command{
		Name:  "watch",
		Usage: "Follow a job live until it ends",
		UsageText: `xv job watch ID [--poll-interval 2s] [--tenant ID]

Follows the job on the hub's event stream (polling when the stream is down):
on a terminal a progress line on stderr (files, bytes, rate), nothing
decorative when piped. The final job goes to stdout (-o json: the job object).
Exit status 0 when it completed, 4 when it failed or was canceled, 130 when
interrupted (the job keeps running).

Examples:
   xv job watch job_01J...
   xv job watch job_01J... -o json | jq -r .status`,
		Flags: []cli.Flag{
			cmdutil.TenantFlag(),
			&cli.DurationFlag{Name: "poll-interval", Value: 2 * time.Second, Usage: "poll every `DURATION` while the event stream is down", Destination: &opts.Follow.Interval},
		},
		Action: func(c *cli.Context) error {
			if opts.Follow.Interval <= 0 {
				return cmdutil.UsageErrorf("--poll-interval must be positive")
			}
			opts.Follow.Progress, opts.Follow.Width, opts.Follow.Now = f.IO.StderrIsTTY(), f.IO.TerminalWidth, f.Now
			return cmdutil.WithID(c, f, &opts.IDOptions, func(ctx context.Context, _ *cmdutil.IDOptions) error {
				return watchRun(ctx, opts)
			})
		},
	}
}

func watchRun(ctx context.Context, opts *watchOptions) error {
	j, err := opts.Client.GetJob(ctx, opts.ID)
	if err != nil {
		return err
	}
	final, err := Follow(ctx, opts.Deps, j, opts.Follow)
	if err != nil {
		return err
	}
	if err := Print(opts.Deps, final); err != nil {
		return err
	}
	if final.Status != sdk.JobCompleted {
		return &cmdutil.JobFailedError{Job: final}
	}
	return nil
}
