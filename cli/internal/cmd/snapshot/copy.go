package snapshot

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmd/storage"
	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

type copyOptions struct {
	cmdutil.Deps
	ID, To, Agent string
	Move, NoWait  bool
	Interval      time.Duration
}

func newCopyCmd(f *cmdutil.Factory) *cli.Command {
	opts := &copyOptions{}
	return &cli.Command{
		Name:  "copy",
		Usage: "Move a snapshot (its whole chain) to a storage target or to an agent's disk",
		UsageText: `xv snapshot copy ID --to-storage TARGET|local_fs --move [--agent AGENT] [--no-wait] [--tenant ID]

Runs a copy job. Every artifact of the snapshot's chain (its full and every
incremental of that full) is copied with its manifest, meta and index to
TARGET (a storage target's id or name) or, with local_fs, to an agent's disk
(--agent picks which; by default any agent that can reach the bucket). Each
artifact's sha256 is checked while it streams and again by reading the copy
back. Only then does the hub record the new location, and the old copies
are deleted. A failed copy changes nothing and leaves nothing at the
destination. This is how a failing agent disk is evacuated:

   for s in $(xv snapshot list --source SRC -o json | jq -r '.[].id'); do
       xv snapshot copy "$s" --to-storage garage --move; done

--move is required: a snapshot has one location, so a copy that keeps the
old one is not offered (the hub could neither restore nor delete it).

Examples:
   xv snapshot copy snap_01J... --to-storage garage --move
   xv snapshot copy snap_01J... --to-storage local_fs --agent agt_01K... --move`,
		Flags: []cli.Flag{
			cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "to-storage", Usage: "destination: storage target `TARGET` (id or name), or local_fs", Destination: &opts.To},
			&cli.BoolFlag{Name: "move", Usage: "delete the old copies once the new ones are checked and recorded", Destination: &opts.Move},
			&cli.StringFlag{Name: "agent", Usage: "with --to-storage local_fs, the `AGENT` whose disk receives it", Destination: &opts.Agent},
			&cli.BoolFlag{Name: "no-wait", Usage: "print the job id and return", Destination: &opts.NoWait},
			&cli.DurationFlag{Name: "poll-interval", Value: time.Second, Usage: "check the job every `DURATION`", Destination: &opts.Interval},
		},
		Action: func(c *cli.Context) error {
			args, err := cmdutil.Args(c, "ID")
			if err != nil {
				return err
			}
			switch {
			case opts.To == "":
				return cmdutil.UsageErrorf("--to-storage is required (a storage target, or %s)", sdk.StorageLocal)
			case !opts.Move:
				return cmdutil.UsageErrorf("--move is required: a snapshot has one location (see xv snapshot copy --help)")
			case opts.Agent != "" && opts.To != sdk.StorageLocal:
				return cmdutil.UsageErrorf("--agent goes with --to-storage %s", sdk.StorageLocal)
			case opts.Interval <= 0:
				return cmdutil.UsageErrorf("--poll-interval must be positive")
			}
			opts.ID = args[0]
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			return copyRun(c.Context, opts)
		},
	}
}

func copyRun(ctx context.Context, opts *copyOptions) error {
	to, err := storage.Resolve(ctx, opts.Client, opts.To)
	if err != nil {
		return err
	}
	if to == "" {
		to = sdk.StorageLocal
	}
	j, err := opts.Client.CopySnapshot(ctx, opts.ID, sdk.CopySnapshotRequest{ToStorageID: to, Move: opts.Move, AgentID: opts.Agent})
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Moving snapshot %s to %s (job %s)…\n", opts.ID, to, j.ID)
	if opts.NoWait {
		if opts.Out.JSON() {
			return opts.Out.PrintJSON(j)
		}
		fmt.Fprintf(opts.IO.Out, "%s\n", j.ID)
		return nil
	}
	final, err := cmdutil.WaitJob(ctx, opts.Client, j.ID, cmdutil.WaitOptions{Events: opts.Client.Events, Interval: opts.Interval})
	if err != nil {
		return fmt.Errorf("wait for copy job %s: %w", j.ID, err)
	}
	if final.Status != sdk.JobCompleted || final.Copy == nil {
		return &cmdutil.JobFailedError{Job: final}
	}
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(final)
	}
	t := opts.Out.Table("SNAPSHOT", "SIZE", "SHA256", "NOW AT")
	for _, l := range final.Copy.Links {
		t.Row(l.SnapshotID, output.Bytes(l.SizeBytes), l.SHA256[:min(16, len(l.SHA256))], l.Location)
	}
	return t.Flush()
}
