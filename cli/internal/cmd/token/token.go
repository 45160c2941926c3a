// Package token implements `xv token`: create, list and revoke operator
// tokens of a tenant.
package token

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv token`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:        "token",
		Usage:       "Manage a tenant's API tokens",
		Subcommands: []*cli.Command{newCreateCmd(f), newListCmd(f), newRevokeCmd(f)},
	})
}

type createOptions struct {
	cmdutil.Deps
	Role, Name, Expires string
}

func newCreateCmd(f *cmdutil.Factory) *cli.Command {
	opts := &createOptions{}
	return &cli.Command{
		Name:  "create",
		Usage: "Create a token for a tenant; the secret is shown only once",
		UsageText: `xv token create --role owner|admin|member [--name N] [--expires 720h] [--tenant ID]

Owners may create any role, admins only admin and member tokens; member is
read-only. In table mode only the token goes to stdout, so it can be captured;
-o json prints {"id", "token", "tenant_id", "role", ...}.

Examples:
   xv token create --tenant ten_01J... --role owner --name alice
   TOKEN=$(xv token create --role member --name grafana --expires 720h)`,
		Flags: []cli.Flag{
			cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "role", Usage: "`ROLE`: owner, admin or member (read-only)", Destination: &opts.Role},
			&cli.StringFlag{Name: "name", Usage: "a `NAME` to recognise the token by", Destination: &opts.Name},
			&cli.StringFlag{Name: "expires", Usage: "lifetime as a `DURATION`, e.g. 720h (default: never)", Destination: &opts.Expires},
		},
		Action: func(c *cli.Context) error {
			if _, err := cmdutil.Args(c); err != nil {
				return err
			}
			if opts.Role == "" {
				return cmdutil.UsageErrorf("--role is required: owner, admin or member")
			}
			if err := cmdutil.OneOf("role", opts.Role, "owner", "admin", "member"); err != nil {
				return err
			}
			if opts.Expires != "" {
				if d, err := time.ParseDuration(opts.Expires); err != nil || d <= 0 {
					return cmdutil.UsageErrorf("--expires %q: want a positive duration like 720h", opts.Expires)
				}
			}
			var err error
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			return createRun(c.Context, opts)
		},
	}
}

func createRun(ctx context.Context, opts *createOptions) error {
	t, err := opts.Client.CreateToken(ctx, sdk.CreateTokenRequest{
		Role: sdk.Role(opts.Role), Name: opts.Name, ExpiresIn: opts.Expires,
	})
	if err != nil {
		return err
	}
	expires := "never expires"
	if t.ExpiresAt != nil {
		expires = "expires " + opts.Out.When(*t.ExpiresAt)
	}
	fmt.Fprintf(opts.IO.ErrOut, "Created token %s (role %s, tenant %s, %s).\n", t.ID, t.Role, t.TenantID, expires)
	fmt.Fprintln(opts.IO.ErrOut, "warning: the token is shown only this once; store it now (it cannot be shown again).")
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(t)
	}
	_, err = fmt.Fprintln(opts.Out.Out, t.Token)
	return err
}

type listOptions struct {
	cmdutil.Deps
	List sdk.ListOptions
}

func newListCmd(f *cmdutil.Factory) *cli.Command {
	opts := &listOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "List a tenant's tokens (never their secrets)",
		UsageText: `xv token list [--tenant ID] [--limit N] [--cursor C]

Examples:
   xv token list
   xv token list -o json | jq -r '.[] | select(.revoked_at == null) | .id'`,
		Flags: append([]cli.Flag{cmdutil.TenantFlag()}, cmdutil.ListFlags(&opts.List)...),
		Action: func(c *cli.Context) error {
			if err := cmdutil.StartList(c, f, opts.List, &opts.Deps); err != nil {
				return err
			}
			return listRun(c.Context, opts)
		},
	}
}

func listRun(ctx context.Context, opts *listOptions) error {
	page, err := opts.Client.ListTokens(ctx, opts.List)
	if err != nil {
		return err
	}
	cmdutil.NoteMore(opts.Deps, page.NextCursor)
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(output.Items(page.Items))
	}
	t := opts.Out.Table("ID", "NAME", "ROLE", "CREATED", "EXPIRES", "LAST USED", "REVOKED")
	for _, x := range page.Items {
		t.Row(x.ID, x.Name, string(x.Role), opts.Out.Ago(x.CreatedAt), opts.Out.AgoPtr(x.ExpiresAt),
			opts.Out.AgoPtr(x.LastUsedAt), opts.Out.AgoPtr(x.RevokedAt))
	}
	return t.Flush()
}

func newRevokeCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:  "revoke",
		Usage: "Revoke a token; it stops working at once",
		UsageText: `xv token revoke ID [--tenant ID]

Examples:
   xv token revoke tok_01J...`,
		Flags:  []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error { return cmdutil.WithID(c, f, opts, revokeRun) },
	}
}

func revokeRun(ctx context.Context, opts *cmdutil.IDOptions) error {
	t, err := opts.Client.RevokeToken(ctx, opts.ID)
	if err != nil {
		return err
	}
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(t)
	}
	_, err = fmt.Fprintf(opts.Out.Out, "Revoked token %s (%s).\n", t.ID, t.Name)
	return err
}
