// Package restore implements `xv snapshot restore` and `xv restore`:
// restore a snapshot into an expiring download link (on its agent, or a
// presigned URL of the bucket an S3 snapshot is kept in), follow it, and
// download (and optionally extract) the result.
package restore

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv restore`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:        "restore",
		Usage:       "List, show and download restores (start one with 'xv snapshot restore')",
		Subcommands: []*cli.Command{newListCmd(f), newShowCmd(f), newDownloadCmd(f)},
	})
}

type listOptions struct {
	cmdutil.Deps
	List sdk.RestoreListOptions
}

func newListCmd(f *cmdutil.Factory) *cli.Command {
	opts := &listOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "List restores, newest first",
		UsageText: `xv restore list [--snapshot ID] [--limit N] [--cursor C] [--tenant ID]

Examples:
   xv restore list --snapshot snap_01J...`,
		Flags: append([]cli.Flag{
			cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "snapshot", Usage: "only restores of snapshot `ID`", Destination: &opts.List.SnapshotID},
		}, cmdutil.ListFlags(&opts.List.ListOptions)...),
		Action: func(c *cli.Context) error {
			if err := cmdutil.StartList(c, f, opts.List.ListOptions, &opts.Deps); err != nil {
				return err
			}
			return listRun(c.Context, opts)
		},
	}
}

func listRun(ctx context.Context, opts *listOptions) error {
	page, err := opts.Client.ListRestores(ctx, opts.List)
	if err != nil {
		return err
	}
	cmdutil.NoteMore(opts.Deps, page.NextCursor)
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(output.Items(page.Items))
	}
	t := opts.Out.Table("ID", "SNAPSHOT", "FORMAT", "STATUS", "SIZE", "EXPIRES", "CREATED")
	for _, r := range page.Items {
		t.Row(r.ID, r.SnapshotID, string(r.Format), string(r.Status), output.Bytes(r.SizeBytes),
			opts.Out.WhenPtr(r.ExpiresAt), opts.Out.Ago(r.CreatedAt))
	}
	return t.Flush()
}

func newShowCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:  "show",
		Usage: "Show one restore and, while it is ready, its download link",
		UsageText: `xv restore show ID [--tenant ID]

The download link carries its own secret token (or, for a restore written
to a bucket, its signature): anyone holding it can download until it
expires. Treat it like a password.`,
		Flags: []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error {
			return cmdutil.WithID(c, f, opts, func(ctx context.Context, o *cmdutil.IDOptions) error {
				r, err := o.Client.GetRestore(ctx, o.ID)
				if err != nil {
					return err
				}
				return Print(o.Deps, r)
			})
		},
	}
}

// Print shows a restore: the API object with -o json, fields otherwise.
func Print(d cmdutil.Deps, r *sdk.Restore) error {
	if d.Out.JSON() {
		return d.Out.PrintJSON(r)
	}
	fl := d.Out.Fields()
	fl.Add("ID", r.ID)
	fl.Add("Snapshot", r.SnapshotID)
	fl.Add("Job", r.JobID)
	fl.Add("Format", string(r.Format))
	if len(r.Paths) > 0 {
		fl.Add("Paths", strings.Join(r.Paths, ", "))
	}
	if r.DownloadVia != "" {
		fl.Add("Download via", string(r.DownloadVia))
	}
	fl.Add("Status", string(r.Status))
	if r.SizeBytes > 0 {
		fl.Add("Size", fmt.Sprintf("%s (%d bytes)", output.Bytes(r.SizeBytes), r.SizeBytes))
	}
	if r.DownloadURL != "" {
		fl.Add("Download URL", r.DownloadURL)
	}
	if r.ExpiresAt != nil {
		fl.Add("Expires", d.Out.WhenPtr(r.ExpiresAt))
	}
	if r.IntoSourceID != "" {
		fl.Add("Into source", r.IntoSourceID)
	}
	if r.ErrorMessage != "" {
		fl.Add("Error", r.ErrorMessage)
	}
	fl.Add("Created", d.Out.When(r.CreatedAt))
	if err := fl.Flush(); err != nil || len(r.Databases) == 0 {
		return err
	}
	fmt.Fprintln(d.IO.Out)
	t := d.Out.Table("DATABASE", "TARGET", "TABLES", "ROWS", "SECONDS", "RESULT")
	for _, db := range r.Databases {
		res := "loaded"
		if db.Error != "" {
			res = "FAILED: " + db.Error
		}
		t.Row(db.Database, db.Target, fmt.Sprint(db.Tables), fmt.Sprint(db.Rows), fmt.Sprintf("%.1f", db.Seconds), res)
	}
	if err := t.Flush(); err != nil {
		return err
	}
	for _, db := range r.Databases {
		for _, w := range db.Warnings {
			fmt.Fprintf(d.IO.ErrOut, "warning: %s: %s\n", db.Database, w)
		}
	}
	return nil
}

// failed is the exit-4 error of a restore that did not become ready.
func failed(r *sdk.Restore) error {
	msg := r.ErrorMessage
	if msg == "" {
		msg = string(r.Status)
	}
	return &cmdutil.JobFailedError{Job: &sdk.Job{ID: r.JobID, Status: sdk.JobFailed,
		ErrorMessage: fmt.Sprintf("restore %s %s: %s", r.ID, r.Status, msg)}}
}
