package restore

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

type createOptions struct {
	cmdutil.Deps
	SnapshotID        string
	Req               sdk.CreateRestoreRequest
	Wait              bool
	Interval          time.Duration
	Output, ExtractTo string
	fetch             *fetcher
}

// NewSnapshotRestoreCmd returns `xv snapshot restore`.
func NewSnapshotRestoreCmd(f *cmdutil.Factory) *cli.Command {
	opts := &createOptions{}
	var format string
	var paths cli.StringSlice
	return &cli.Command{
		Name:  "restore",
		Usage: "Restore a snapshot into an expiring download link (zip or tar.zst)",
		UsageText: `xv snapshot restore ID [--format zip|tar.zst] [--path P]... [--expires-in 2h] [--wait]
                    [--output FILE | --extract-to DIR] [--tenant ID]

The agent holding the snapshot checks the artifact's sha256 against the hub's
record while it decrypts it, and publishes the download only when the whole
artifact checked out. The link expires after --expires-in (at most the
setting download_expiration_hours).

With --wait (implied by --output and --extract-to) xv follows the restore; the
final restore goes to stdout (-o json: the restore object). Exit status 4 when
the restore failed.

Examples:
   xv snapshot restore snap_01J... --wait
   xv snapshot restore snap_01J... --output site.zip
   xv snapshot restore snap_01J... --format tar.zst --path var/www/uploads --extract-to ./uploads`,
		Flags: []cli.Flag{
			cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "format", Value: "zip", Usage: "`FORMAT`: zip or tar.zst", Destination: &format},
			&cli.StringSliceFlag{Name: "path", Usage: "restore only `PATH` (repeatable; as listed in the snapshot)", Destination: &paths},
			&cli.StringFlag{Name: "expires-in", Usage: "link lifetime, e.g. 2h (default: the setting)", Destination: &opts.Req.ExpiresIn},
			&cli.BoolFlag{Name: "wait", Aliases: []string{"w"}, Usage: "wait until the restore is ready or failed", Destination: &opts.Wait},
			&cli.StringFlag{Name: "output", Usage: "when ready, download to `FILE`", Destination: &opts.Output},
			&cli.StringFlag{Name: "extract-to", Usage: "when ready, download and unpack into `DIR`", Destination: &opts.ExtractTo},
			&cli.DurationFlag{Name: "poll-interval", Value: time.Second, Usage: "with --wait, check every `DURATION`", Destination: &opts.Interval},
		},
		Action: func(c *cli.Context) error {
			args, err := cmdutil.Args(c, "ID")
			if err != nil {
				return err
			}
			if err := cmdutil.OneOf("format", format, string(sdk.RestoreZip), string(sdk.RestoreTarZst)); err != nil {
				return err
			}
			if opts.Output != "" && opts.ExtractTo != "" {
				return cmdutil.UsageErrorf("--output and --extract-to exclude each other")
			}
			if opts.Interval <= 0 {
				return cmdutil.UsageErrorf("--poll-interval must be positive")
			}
			opts.SnapshotID, opts.Req.Format, opts.Req.Paths = args[0], sdk.RestoreFormat(format), paths.Value()
			opts.Wait = opts.Wait || opts.Output != "" || opts.ExtractTo != ""
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			opts.fetch = newFetcher(f, opts.Deps)
			return createRun(c.Context, opts)
		},
	}
}

func createRun(ctx context.Context, opts *createOptions) error {
	r, err := opts.Client.CreateRestore(ctx, opts.SnapshotID, opts.Req)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Restore %s of snapshot %s queued (job %s).\n", r.ID, r.SnapshotID, r.JobID)
	if !opts.Wait {
		return Print(opts.Deps, r)
	}
	r, err = wait(ctx, opts.Client, r.ID, opts.Interval)
	if err != nil {
		if ctx.Err() != nil {
			return cmdutil.WithHint(fmt.Errorf("stopped waiting for restore %s: %w", r.ID, err),
				"the restore keeps running: 'xv restore show %s' follows it", r.ID)
		}
		return err
	}
	if r.Status != sdk.RestoreReady {
		if err := Print(opts.Deps, r); err != nil {
			return err
		}
		return failed(r)
	}
	if opts.Output != "" || opts.ExtractTo != "" {
		if err := save(ctx, opts.Deps, opts.fetch, r, opts.Output, opts.ExtractTo); err != nil {
			return err
		}
	}
	return Print(opts.Deps, r)
}

// wait polls a restore until it ended (ready, failed or expired).
func wait(ctx context.Context, c *sdk.Client, id string, every time.Duration) (*sdk.Restore, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	last := &sdk.Restore{ID: id}
	for {
		r, err := c.GetRestore(ctx, id)
		if err != nil {
			return last, err
		}
		last = r
		if r.Status.Ended() {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case <-t.C:
		}
	}
}
