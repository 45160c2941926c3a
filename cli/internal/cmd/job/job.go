// Package job implements `xv job`: list, show, watch, cancel and retry jobs,
// and Follow, the live wait the --wait flags of other commands share.
package job

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv job`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:        "job",
		Usage:       "List, show, watch, cancel and retry jobs (backups, restores, verifies, deletions)",
		Subcommands: []*cli.Command{newListCmd(f), newShowCmd(f), newWatchCmd(f), newCancelCmd(f), newRetryCmd(f)},
	})
}

type listOptions struct {
	cmdutil.Deps
	List                   sdk.JobListOptions
	Status, Source, TypeOf string
}

func newListCmd(f *cmdutil.Factory) *cli.Command {
	opts := &listOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "List jobs, newest first",
		UsageText: `xv job list [--status S] [--source ID] [--type T] [--limit N] [--cursor C] [--tenant ID]

Examples:
   xv job list --status running
   xv job list --source src_01J... --limit 5
   xv job list --status failed -o json | jq -r '.[] | "\(.id) \(.error_message)"'`,
		Flags: append([]cli.Flag{
			cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "status", Usage: "only jobs in `STATUS`: queued, running, finalizing, completed, failed, canceled", Destination: &opts.Status},
			&cli.StringFlag{Name: "source", Usage: "only jobs of source `ID`", Destination: &opts.Source},
			&cli.StringFlag{Name: "type", Usage: "only jobs of `TYPE`: backup, restore, delete_snapshot, test_connection, verify, copy", Destination: &opts.TypeOf},
		}, cmdutil.ListFlags(&opts.List.ListOptions)...),
		Action: func(c *cli.Context) error {
			if _, err := cmdutil.Args(c); err != nil {
				return err
			}
			if err := cmdutil.CheckLimit(opts.List.ListOptions); err != nil {
				return err
			}
			if opts.Status != "" {
				if err := cmdutil.OneOf("status", opts.Status, "queued", "running", "finalizing", "completed", "failed", "canceled"); err != nil {
					return err
				}
			}
			opts.List.Status, opts.List.SourceID, opts.List.Type = sdk.JobStatus(opts.Status), opts.Source, sdk.JobType(opts.TypeOf)
			var err error
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			return listRun(c.Context, opts)
		},
	}
}

func listRun(ctx context.Context, opts *listOptions) error {
	page, err := opts.Client.ListJobs(ctx, opts.List)
	if err != nil {
		return err
	}
	cmdutil.NoteMore(opts.Deps, page.NextCursor)
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(output.Items(page.Items))
	}
	t := opts.Out.Table("ID", "TYPE", "STATUS", "SOURCE", "ATTEMPT", "PROGRESS", "CREATED", "FINISHED")
	for _, j := range page.Items {
		t.Row(j.ID, string(j.Type), status(&j), j.SourceID, fmt.Sprintf("%d/%d", j.Attempt, j.MaxAttempts),
			ProgressSummary(j.Progress), opts.Out.Ago(j.CreatedAt), opts.Out.AgoPtr(j.FinishedAt))
	}
	return t.Flush()
}

func newShowCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:  "show",
		Usage: "Show one job with its progress, warnings and error",
		UsageText: `xv job show ID [--tenant ID]

Examples:
   xv job show job_01J...
   xv job show job_01J... -o json | jq .progress`,
		Flags:  []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error { return cmdutil.WithID(c, f, opts, showRun) },
	}
}

func showRun(ctx context.Context, opts *cmdutil.IDOptions) error {
	j, err := opts.Client.GetJob(ctx, opts.ID)
	if err != nil {
		return err
	}
	return Print(opts.Deps, j)
}

func newCancelCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:  "cancel",
		Usage: "Cancel a job; a running job stops at its agent's next lease renewal",
		UsageText: `xv job cancel ID [--tenant ID]

Examples:
   xv job cancel job_01J...`,
		Flags:  []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error { return cmdutil.WithID(c, f, opts, cancelRun) },
	}
}

func cancelRun(ctx context.Context, opts *cmdutil.IDOptions) error {
	j, err := opts.Client.CancelJob(ctx, opts.ID)
	if err != nil {
		if errors.Is(err, sdk.ErrConflict) {
			return cmdutil.WithHint(err, "the job has probably ended already; see 'xv job show %s'", opts.ID)
		}
		return err
	}
	if j.Status.Active() {
		fmt.Fprintln(opts.IO.ErrOut, "Cancel requested; the agent stops the job at its next lease renewal.")
	}
	return Print(opts.Deps, j)
}

func status(j *sdk.Job) string {
	if j.CancelRequested && j.Status.Active() {
		return string(j.Status) + " (canceling)"
	}
	return string(j.Status)
}

// ProgressSummary renders progress for a table cell: "1,234 files, 12.0 MiB".
func ProgressSummary(p *sdk.Progress) string {
	if p == nil {
		return ""
	}
	return fmt.Sprintf("%s files, %s", output.Count(p.FilesDone), output.Bytes(p.BytesRead))
}

// Print shows one job: JSON as the API has it, or labelled fields.
func Print(d cmdutil.Deps, j *sdk.Job) error {
	if d.Out.JSON() {
		return d.Out.PrintJSON(j)
	}
	fl := d.Out.Fields()
	fl.Add("ID", j.ID)
	fl.Add("Tenant", j.TenantID)
	fl.Add("Type", string(j.Type))
	fl.Add("Status", status(j))
	fl.Add("Source", j.SourceID)
	fl.Add("Snapshot", j.SnapshotID)
	fl.Add("Agent", j.AgentID)
	if j.TargetAgentID != "" {
		fl.Add("Target agent", j.TargetAgentID)
	}
	fl.Add("Attempt", fmt.Sprintf("%d of %d", j.Attempt, j.MaxAttempts))
	if p := j.Progress; p != nil {
		fl.Add("Files", output.Count(p.FilesDone))
		fl.Add("Read", fmt.Sprintf("%s (%d bytes)", output.Bytes(p.BytesRead), p.BytesRead))
		fl.Add("Written", fmt.Sprintf("%s (%d bytes)", output.Bytes(p.BytesWritten), p.BytesWritten))
		if p.CurrentPath != "" && j.Status.Active() {
			fl.Add("Current path", p.CurrentPath)
		}
	}
	if len(j.Warnings) > 0 {
		fl.Add("Warnings", fmt.Sprintf("%d: %s", len(j.Warnings), strings.Join(j.Warnings, "; ")))
	}
	if j.ErrorMessage != "" {
		fl.Add("Error", j.ErrorMessage)
	}
	fl.Add("Created", d.Out.When(j.CreatedAt))
	if j.RunAfter != nil && j.Status == sdk.JobQueued && j.Attempt > 0 {
		fl.Add("Retry after", d.Out.When(*j.RunAfter))
	}
	fl.Add("Started", d.Out.WhenPtr(j.StartedAt))
	fl.Add("Finished", d.Out.WhenPtr(j.FinishedAt))
	if j.StartedAt != nil && j.FinishedAt != nil {
		fl.Add("Duration", output.Duration(j.FinishedAt.Sub(*j.StartedAt)))
	}
	return fl.Flush()
}
