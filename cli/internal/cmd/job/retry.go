package job

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

func newRetryCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:  "retry",
		Usage: "Run a failed or canceled job's work again, as a new job",
		UsageText: `xv job retry ID [--tenant ID]

Starts the work of a failed or canceled job again and says what it started:
   backup           a new backup of the same source
   restore          a new restore of the same snapshot with the same format,
                    paths or database target and options
   verify           a new verify of the same snapshot
   test_connection  a new connection test of the same source
   delete_snapshot  the snapshot's deletion, requested again
The new job (for a restore: the new restore) goes to stdout (-o json: the
object). A source's active backup is reused rather than doubled.

Examples:
   xv job retry job_01J...
   xv job list --status failed -o json | jq -r '.[].id' | xargs -n1 xv job retry`,
		Flags:  []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error { return cmdutil.WithID(c, f, opts, retryRun) },
	}
}

func retryRun(ctx context.Context, opts *cmdutil.IDOptions) error {
	old, err := opts.Client.GetJob(ctx, opts.ID)
	if err != nil {
		return err
	}
	if old.Status != sdk.JobFailed && old.Status != sdk.JobCanceled {
		return cmdutil.WithHint(fmt.Errorf("job %s is %s: only a failed or canceled job can be retried", old.ID, old.Status),
			"'xv job watch %s' follows it", old.ID)
	}
	if opts.Client.TenantID() == "" {
		// A platform admin without --tenant: the job names its tenant.
		opts.Client = opts.Client.ForTenant(old.TenantID)
	}
	if old.Type == sdk.JobRestore {
		return retryRestore(ctx, opts, old)
	}
	var j *sdk.Job
	created := true
	switch old.Type {
	case sdk.JobBackup:
		j, created, err = opts.Client.CreateJob(ctx, sdk.CreateJobRequest{SourceID: old.SourceID, Type: sdk.JobBackup})
	case sdk.JobVerify:
		j, created, err = opts.Client.VerifySnapshot(ctx, old.SnapshotID)
	case sdk.JobTestConnection:
		j, err = opts.Client.TestSource(ctx, old.SourceID)
	case sdk.JobDeleteSnapshot:
		j, created, err = opts.Client.DeleteSnapshot(ctx, old.SnapshotID)
	default:
		return fmt.Errorf("job %s: xv does not know how to retry a %s job", old.ID, old.Type)
	}
	if err != nil {
		return fmt.Errorf("retry %s job %s: %w", old.Type, old.ID, err)
	}
	what := map[sdk.JobType]string{sdk.JobBackup: "backup of source " + old.SourceID,
		sdk.JobVerify: "verify of snapshot " + old.SnapshotID, sdk.JobTestConnection: "connection test of source " + old.SourceID,
		sdk.JobDeleteSnapshot: "deletion of snapshot " + old.SnapshotID}[old.Type]
	if created {
		fmt.Fprintf(opts.IO.ErrOut, "Retried %s job %s: new %s, job %s (%s).\n", old.Status, old.ID, what, j.ID, j.Status)
	} else {
		fmt.Fprintf(opts.IO.ErrOut, "Job %s not retried: a %s is already active, job %s (%s).\n", old.ID, what, j.ID, j.Status)
	}
	return Print(opts.Deps, j)
}

// retryRestore starts the restore again with the request of the restore
// the failed job ran.
func retryRestore(ctx context.Context, opts *cmdutil.IDOptions, old *sdk.Job) error {
	prev, err := restoreOf(ctx, opts.Client, old)
	if err != nil {
		return err
	}
	req := sdk.CreateRestoreRequest{Format: prev.Format, Paths: prev.Paths, IntoSourceID: prev.IntoSourceID}
	if prev.Options != nil {
		req.DatabaseRestoreOptions = *prev.Options
	}
	r, err := opts.Client.CreateRestore(ctx, prev.SnapshotID, req)
	if err != nil {
		return fmt.Errorf("retry restore job %s: %w", old.ID, err)
	}
	fmt.Fprintf(opts.IO.ErrOut, "Retried %s job %s: new restore %s of snapshot %s (%s), job %s.\n",
		old.Status, old.ID, r.ID, r.SnapshotID, r.Format, r.JobID)
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(r)
	}
	fl := opts.Out.Fields()
	fl.Add("Restore", r.ID)
	fl.Add("Snapshot", r.SnapshotID)
	fl.Add("Job", r.JobID)
	fl.Add("Format", string(r.Format))
	fl.Add("Status", string(r.Status))
	return fl.Flush()
}

// restoreOf finds the restore a restore job ran, among its snapshot's.
func restoreOf(ctx context.Context, c *sdk.Client, j *sdk.Job) (*sdk.Restore, error) {
	list := sdk.RestoreListOptions{SnapshotID: j.SnapshotID, ListOptions: sdk.ListOptions{Limit: 500}}
	for {
		page, err := c.ListRestores(ctx, list)
		if err != nil {
			return nil, fmt.Errorf("find the restore of job %s: %w", j.ID, err)
		}
		for i := range page.Items {
			if page.Items[i].JobID == j.ID {
				return &page.Items[i], nil
			}
		}
		if page.NextCursor == "" {
			return nil, fmt.Errorf("job %s: no restore of snapshot %s ran it; start a new one with 'xv snapshot restore'",
				j.ID, j.SnapshotID)
		}
		list.Cursor = page.NextCursor
	}
}
