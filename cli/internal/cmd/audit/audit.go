// Package audit implements `xv audit list`: who did what, when.
package audit

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv audit`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:        "audit",
		Usage:       "Read the audit log",
		Subcommands: []*cli.Command{newListCmd(f)},
	})
}

type listOptions struct {
	cmdutil.Deps
	List sdk.AuditListOptions
}

func newListCmd(f *cmdutil.Factory) *cli.Command {
	opts := &listOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "List audit events, newest first",
		UsageText: `xv audit list [--action A] [--object ID] [--limit N] [--cursor C] [--tenant ID]

A platform admin without --tenant sees the events of every tenant.

Examples:
   xv audit list --action tenant.key_export
   xv audit list --object src_01J... -o json`,
		Flags: append([]cli.Flag{
			cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "action", Usage: "only events of `ACTION`, e.g. source.create", Destination: &opts.List.Action},
			&cli.StringFlag{Name: "object", Usage: "only events about object `ID`", Destination: &opts.List.ObjectID},
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
	page, err := opts.Client.ListAudit(ctx, opts.List)
	if err != nil {
		return err
	}
	cmdutil.NoteMore(opts.Deps, page.NextCursor)
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(output.Items(page.Items))
	}
	t := opts.Out.Table("TIME", "ACTION", "ACTOR", "OBJECT", "TENANT", "FROM")
	for _, e := range page.Items {
		obj := e.ObjectType
		if e.ObjectID != "" {
			obj += " " + e.ObjectID
		}
		t.Row(opts.Out.Ago(e.CreatedAt), e.Action, string(e.ActorKind)+" "+e.ActorID, obj, e.TenantID, e.RemoteAddr)
	}
	return t.Flush()
}
