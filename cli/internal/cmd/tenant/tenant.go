// Package tenant implements `xv tenant`: create, list and show tenants, and
// export a tenant's age identity for disaster recovery.
package tenant

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv tenant`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:  "tenant",
		Usage: "Manage tenants (customer accounts)",
		Subcommands: []*cli.Command{
			newCreateCmd(f), newListCmd(f), newShowCmd(f), newUpdateCmd(f),
			cmdutil.Group(&cli.Command{
				Name:        "key",
				Usage:       "Work with a tenant's encryption key",
				Subcommands: []*cli.Command{newKeyExportCmd(f)},
			}),
		},
	})
}

type createOptions struct {
	cmdutil.Deps
	Name, Plan string
}

func newCreateCmd(f *cmdutil.Factory) *cli.Command {
	opts := &createOptions{}
	return &cli.Command{
		Name:  "create",
		Usage: "Create a tenant and its age keypair (platform admin)",
		UsageText: `xv tenant create NAME [--plan PLAN]

Examples:
   xv tenant create acme
   xv tenant create acme --plan pro -o json | jq -r .id`,
		Flags: []cli.Flag{&cli.StringFlag{Name: "plan", Usage: "billing `PLAN` name", Destination: &opts.Plan}},
		Action: func(c *cli.Context) error {
			args, err := cmdutil.Args(c, "NAME")
			if err != nil {
				return err
			}
			opts.Name = args[0]
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			return createRun(c.Context, opts)
		},
	}
}

func createRun(ctx context.Context, opts *createOptions) error {
	t, err := opts.Client.CreateTenant(ctx, sdk.CreateTenantRequest{Name: opts.Name, Plan: opts.Plan})
	if err != nil {
		return err
	}
	return printTenant(opts.Deps, t)
}

type listOptions struct {
	cmdutil.Deps
	List sdk.ListOptions
}

func newListCmd(f *cmdutil.Factory) *cli.Command {
	opts := &listOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "List tenants (a tenant token sees its own)",
		UsageText: `xv tenant list [--limit N] [--cursor C]

Examples:
   xv tenant list
   xv tenant list -o json | jq -r '.[].id'`,
		Flags: cmdutil.ListFlags(&opts.List),
		Action: func(c *cli.Context) error {
			if err := cmdutil.StartList(c, f, opts.List, &opts.Deps); err != nil {
				return err
			}
			return listRun(c.Context, opts)
		},
	}
}

func listRun(ctx context.Context, opts *listOptions) error {
	page, err := opts.Client.ListTenants(ctx, opts.List)
	if err != nil {
		return err
	}
	cmdutil.NoteMore(opts.Deps, page.NextCursor)
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(output.Items(page.Items))
	}
	t := opts.Out.Table("ID", "NAME", "PLAN", "PUBLIC KEY", "CREATED")
	for _, x := range page.Items {
		t.Row(x.ID, x.Name, x.Plan, x.PublicKey, opts.Out.Ago(x.CreatedAt))
	}
	return t.Flush()
}

func newShowCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:  "show",
		Usage: "Show one tenant",
		UsageText: `xv tenant show ID

Examples:
   xv tenant show ten_01J...`,
		Action: func(c *cli.Context) error { return cmdutil.WithID(c, f, opts, showRun) },
	}
}

func showRun(ctx context.Context, opts *cmdutil.IDOptions) error {
	t, err := opts.Client.GetTenant(ctx, opts.ID)
	if err != nil {
		return err
	}
	return printTenant(opts.Deps, t)
}

func printTenant(d cmdutil.Deps, t *sdk.Tenant) error {
	if d.Out.JSON() {
		return d.Out.PrintJSON(t)
	}
	fl := d.Out.Fields()
	fl.Add("ID", t.ID)
	fl.Add("Name", t.Name)
	fl.Add("Plan", t.Plan)
	fl.Add("Public key", t.PublicKey)
	if t.DefaultStorageID != "" {
		fl.Add("Default storage", t.DefaultStorageID)
	}
	fl.Add("Created", d.Out.When(t.CreatedAt))
	fl.Add("Updated", d.Out.When(t.UpdatedAt))
	return fl.Flush()
}
