package snapshot

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
)

func newDeleteCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:  "delete",
		Usage: "Delete a snapshot: the agent holding it removes its files, then the hub its record",
		UsageText: `xv snapshot delete ID [--tenant ID]

The snapshot is marked deleting at once (no longer restorable) and a
delete_snapshot job goes to the agent that holds it; an offline agent
deletes it when it returns. Follow it with 'xv job show JOB'.`,
		Flags: []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error {
			return cmdutil.WithID(c, f, opts, func(ctx context.Context, o *cmdutil.IDOptions) error {
				job, created, err := o.Client.DeleteSnapshot(ctx, o.ID)
				if err != nil {
					return err
				}
				if o.Out.JSON() {
					return o.Out.PrintJSON(job)
				}
				verb := "Deleting"
				if !created {
					verb = "Already deleting"
				}
				_, err = fmt.Fprintf(o.Out.Out, "%s snapshot %s: job %s (%s).\n", verb, o.ID, job.ID, job.Status)
				return err
			})
		},
	}
}
