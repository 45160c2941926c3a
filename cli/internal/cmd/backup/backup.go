// Package backup implements `xv backup run`: trigger a backup of a source
// and, with --wait, follow it to the end.
package backup

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmd/job"
	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv backup`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:        "backup",
		Usage:       "Run backups",
		Subcommands: []*cli.Command{newRunCmd(f)},
	})
}

type runOptions struct {
	cmdutil.Deps
	SourceID string
	Wait     bool
	Interval time.Duration
	Progress bool // live progress on stderr
	Now      func() time.Time
	Width    func() int
}

func newRunCmd(f *cmdutil.Factory) *cli.Command {
	opts := &runOptions{}
	return &cli.Command{
		Name:  "run",
		Usage: "Back up a source now",
		UsageText: `xv backup run SOURCE_ID [--wait] [--tenant ID]

Queues a backup job and prints it. A source has at most one active backup: if
one is already queued or running, that job is shown instead of a new one.

With --wait, xv follows the job until it ends, live from the hub's event
stream (polling every --poll-interval when the stream is down): on a
terminal it shows progress on stderr (files, bytes read and written, rate,
an ETA estimated from the last backup, current path). The
final job goes to stdout (-o json: the job object). Exit status 4 when the job
failed or was canceled. Ctrl-C stops waiting; the job keeps running.

Examples:
   xv backup run src_01J...
   xv backup run src_01J... --wait
   xv backup run src_01J... --wait -o json > job.json || echo "backup failed"`,
		Flags: []cli.Flag{
			cmdutil.TenantFlag(),
			&cli.BoolFlag{Name: "wait", Aliases: []string{"w"}, Usage: "wait for the job to end", Destination: &opts.Wait},
			&cli.DurationFlag{Name: "poll-interval", Value: 2 * time.Second, Usage: "with --wait, poll the job every `DURATION` while the event stream is down", Destination: &opts.Interval},
		},
		Action: func(c *cli.Context) error {
			args, err := cmdutil.Args(c, "SOURCE_ID")
			if err != nil {
				return err
			}
			if opts.Interval <= 0 {
				return cmdutil.UsageErrorf("--poll-interval must be positive")
			}
			opts.SourceID = args[0]
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			opts.Progress = f.IO.StderrIsTTY()
			opts.Now, opts.Width = f.Now, f.IO.TerminalWidth
			return run(c.Context, opts)
		},
	}
}

func run(ctx context.Context, opts *runOptions) error {
	j, created, err := createJob(ctx, opts)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(opts.IO.ErrOut, "Backup job %s queued for source %s.\n", j.ID, opts.SourceID)
	} else {
		fmt.Fprintf(opts.IO.ErrOut, "Source %s already has an active backup: job %s (%s).\n", opts.SourceID, j.ID, j.Status)
	}
	if !opts.Wait {
		return job.Print(opts.Deps, j)
	}

	start := opts.Now()
	final, err := job.Follow(ctx, opts.Deps, j, job.FollowOptions{Interval: opts.Interval, Progress: opts.Progress,
		Width: opts.Width, Now: opts.Now, Total: lastSize(ctx, opts), Estimate: true})
	if err != nil {
		return err
	}
	summary(opts, final, opts.Now().Sub(start))
	if err := job.Print(opts.Deps, final); err != nil {
		return err
	}
	if final.Status != sdk.JobCompleted {
		return &cmdutil.JobFailedError{Job: final}
	}
	return nil
}

// createJob queues the backup. A platform admin who named no tenant gets
// the source's: the hub resolves it from the source's id, then the job is
// created in that tenant.
func createJob(ctx context.Context, opts *runOptions) (*sdk.Job, bool, error) {
	req := sdk.CreateJobRequest{SourceID: opts.SourceID, Type: sdk.JobBackup}
	j, created, err := opts.Client.CreateJob(ctx, req)
	var apiErr *sdk.Error
	if err == nil || opts.Client.TenantID() != "" || !errors.As(err, &apiErr) || apiErr.Fields["tenant_id"] == "" {
		return j, created, err
	}
	src, srcErr := opts.Client.GetSource(ctx, opts.SourceID)
	if srcErr != nil {
		return nil, false, srcErr
	}
	opts.Client = opts.Client.ForTenant(src.TenantID)
	return opts.Client.CreateJob(ctx, req)
}

// lastSize is the bytes the source's last completed backup read (its
// snapshot's plain size), the estimate behind the progress ETA; 0 when
// there is none or it cannot be had.
func lastSize(ctx context.Context, opts *runOptions) int64 {
	if !opts.Progress {
		return 0
	}
	page, err := opts.Client.ListSnapshots(ctx, sdk.SnapshotListOptions{SourceID: opts.SourceID,
		ListOptions: sdk.ListOptions{Limit: 1}})
	if err != nil || len(page.Items) == 0 {
		return 0
	}
	return page.Items[0].PlainBytes
}

// summary says on stderr how the job ended.
func summary(opts *runOptions, j *sdk.Job, waited time.Duration) {
	took := waited
	if j.StartedAt != nil && j.FinishedAt != nil {
		took = j.FinishedAt.Sub(*j.StartedAt)
	}
	msg := fmt.Sprintf("Job %s %s after %s", j.ID, j.Status, output.Duration(took))
	if p := j.Progress; p != nil {
		msg += fmt.Sprintf(": %s files, %s read, %s written", output.Count(p.FilesDone),
			output.Bytes(p.BytesRead), output.Bytes(p.BytesWritten))
	}
	if j.SnapshotID != "" && j.Status == sdk.JobCompleted {
		msg += "; snapshot " + j.SnapshotID
	}
	if len(j.Warnings) > 0 {
		msg += fmt.Sprintf(" (%d warnings)", len(j.Warnings))
	}
	fmt.Fprintln(opts.IO.ErrOut, msg+".")
}
