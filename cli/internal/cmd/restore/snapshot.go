package restore

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmd/job"
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
	progress          bool // a live progress line on stderr
	width             func() int
	now               func() time.Time
}

// NewSnapshotRestoreCmd returns `xv snapshot restore`.
func NewSnapshotRestoreCmd(f *cmdutil.Factory) *cli.Command {
	opts := &createOptions{}
	var format, via string
	var paths, databases cli.StringSlice
	return &cli.Command{
		Name:  "restore",
		Usage: "Restore a snapshot into an expiring download link (zip or tar.zst), or into a database server",
		UsageText: `xv snapshot restore ID [--format zip|tar.zst] [--path P]... [--expires-in 2h] [--wait]
                    [--download-via bucket|agent] [--output FILE | --extract-to DIR] [--force] [--tenant ID]
xv snapshot restore ID --into SOURCE [--database DB]... [--as NEWNAME] [--create-database]
                    [--replace] [--keep-owners] [--table-prefix P] [--wait] [--force] [--tenant ID]

The agent holding the snapshot checks the artifact's sha256 against the hub's
record while it decrypts it, and publishes the download only when the whole
artifact checked out. The link expires after --expires-in (at most the
setting download_expiration_hours).

A snapshot kept in an S3 storage target is restored by any agent that can
reach the bucket: by default (--download-via bucket) the file is written
back to the bucket and the link is a presigned GET URL of it, valid for
--expires-in (at most 7 days, the limit of S3 presigned URLs); the hub
serves no bytes. --download-via agent serves it from the agent's download
server instead, for when users cannot reach the bucket. A local_fs
snapshot is always served by its agent.

With --into, the snapshot's database dumps are loaded into the server of
SOURCE, a mysql or postgres source of the tenant (its connection, credential
and SSH block are used; it may be the snapshot's own source). Without
--database every database of the snapshot is restored; --as renames one. An
existing database is refused unless --replace is given: the dump is loaded
under a temporary name first, and the target is replaced only once that
load succeeded. --create-database creates a missing one. DEFINER clauses
become the restoring user, GTID statements are dropped; PostgreSQL owners and
grants are dropped unless --keep-owners. --table-prefix renames a WordPress
site's table prefix.

With --wait (implied by --output and --extract-to) xv follows the restore
live (the hub's event stream, polling when it is down; progress on stderr
on a terminal); the
final restore goes to stdout (-o json: the restore object). Exit status 4 when
the restore failed. A snapshot verified as corrupt is refused without --force.

Examples:
   xv snapshot restore snap_01J... --wait
   xv snapshot restore snap_01J... --output site.zip
   xv snapshot restore snap_01J... --format tar.zst --path var/www/uploads --extract-to ./uploads
   xv snapshot restore snap_01J... --into src_db01 --database shop --as shop_restored --create-database --wait
   xv snapshot restore snap_01J... --into src_db01 --database shop --replace --wait`,
		Flags: []cli.Flag{
			cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "format", Value: "zip", Usage: "`FORMAT`: zip or tar.zst", Destination: &format},
			&cli.StringSliceFlag{Name: "path", Usage: "restore only `PATH` (repeatable; as listed in the snapshot)", Destination: &paths},
			&cli.StringFlag{Name: "expires-in", Usage: "link lifetime, e.g. 2h (default: the setting)", Destination: &opts.Req.ExpiresIn},
			&cli.StringFlag{Name: "download-via", Usage: "`WHERE` the file is served from: bucket (presigned URL; default for S3 snapshots) or agent", Destination: &via},
			&cli.BoolFlag{Name: "wait", Aliases: []string{"w"}, Usage: "wait until the restore is ready or failed", Destination: &opts.Wait},
			&cli.StringFlag{Name: "output", Usage: "when ready, download to `FILE`", Destination: &opts.Output},
			&cli.StringFlag{Name: "extract-to", Usage: "when ready, download and unpack into `DIR`", Destination: &opts.ExtractTo},
			&cli.DurationFlag{Name: "poll-interval", Value: time.Second, Usage: "with --wait, check every `DURATION`", Destination: &opts.Interval},
			&cli.BoolFlag{Name: "force", Usage: "restore even though the snapshot was verified as corrupt", Destination: &opts.Req.Force},
			&cli.StringFlag{Name: "into", Usage: "load the databases into the server of mysql/postgres source `SOURCE`", Destination: &opts.Req.IntoSourceID},
			&cli.StringSliceFlag{Name: "database", Usage: "with --into: restore only database `DB` (repeatable)", Destination: &databases},
			&cli.StringFlag{Name: "as", Usage: "with --into: restore the one database as `NEWNAME`", Destination: &opts.Req.As},
			&cli.BoolFlag{Name: "create-database", Usage: "with --into: create a missing target database", Destination: &opts.Req.CreateDatabase},
			&cli.BoolFlag{Name: "replace", Usage: "with --into: replace an existing target database (only after the new data loaded)", Destination: &opts.Req.Replace},
			&cli.BoolFlag{Name: "keep-owners", Usage: "with --into, PostgreSQL: keep OWNER and GRANT/REVOKE statements", Destination: &opts.Req.KeepOwners},
			&cli.StringFlag{Name: "table-prefix", Usage: "with --into, WordPress: rename the table prefix to `PREFIX`", Destination: &opts.Req.TablePrefix},
		},
		Action: func(c *cli.Context) error {
			args, err := cmdutil.Args(c, "ID")
			if err != nil {
				return err
			}
			if err := checkIntoFlags(c, opts.Req.IntoSourceID != ""); err != nil {
				return err
			}
			if opts.Req.IntoSourceID != "" {
				format = string(sdk.RestoreDatabase)
			} else if err := cmdutil.OneOf("format", format, string(sdk.RestoreZip), string(sdk.RestoreTarZst)); err != nil {
				return err
			}
			if via != "" {
				if err := cmdutil.OneOf("download-via", via, string(sdk.DownloadViaBucket), string(sdk.DownloadViaAgent)); err != nil {
					return err
				}
			}
			if opts.Output != "" && opts.ExtractTo != "" {
				return cmdutil.UsageErrorf("--output and --extract-to exclude each other")
			}
			if opts.Interval <= 0 {
				return cmdutil.UsageErrorf("--poll-interval must be positive")
			}
			opts.SnapshotID, opts.Req.Format, opts.Req.Paths = args[0], sdk.RestoreFormat(format), paths.Value()
			opts.Req.DownloadVia = sdk.DownloadVia(via)
			opts.Req.Databases = databases.Value()
			opts.Wait = opts.Wait || opts.Output != "" || opts.ExtractTo != ""
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			opts.fetch = newFetcher(f, opts.Deps)
			opts.progress, opts.width, opts.now = f.IO.StderrIsTTY(), f.IO.TerminalWidth, f.Now
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
	r, err = follow(ctx, opts, r)
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

// checkIntoFlags refuses download flags with --into and database flags without it.
func checkIntoFlags(c *cli.Context, into bool) error {
	download := []string{"format", "path", "expires-in", "download-via", "output", "extract-to"}
	database := []string{"database", "as", "create-database", "replace", "keep-owners", "table-prefix"}
	check, other := database, "needs --into SOURCE"
	if into {
		check, other = download, "applies to downloads, not to a restore --into a database"
	}
	for _, name := range check {
		if c.IsSet(name) {
			return cmdutil.UsageErrorf("--%s %s", name, other)
		}
	}
	return nil
}

// follow waits for a restore's job live (events, falling back to polling)
// with progress on a terminal, then polls the restore until it ended
// (ready, failed or expired): the job ends a moment before its restore
// is published.
func follow(ctx context.Context, opts *createOptions, r *sdk.Restore) (*sdk.Restore, error) {
	if r.JobID != "" {
		fo := job.FollowOptions{Interval: opts.Interval, Progress: opts.progress, Width: opts.width, Now: opts.now}
		if _, err := job.Follow(ctx, opts.Deps, &sdk.Job{ID: r.JobID}, fo); err != nil {
			return r, err
		}
	}
	return wait(ctx, opts.Client, r.ID, opts.Interval)
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
