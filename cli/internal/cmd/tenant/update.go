package tenant

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmd/storage"
	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

type updateOptions struct {
	cmdutil.IDOptions
	DefaultStorage string
}

func newUpdateCmd(f *cmdutil.Factory) *cli.Command {
	opts := &updateOptions{}
	return &cli.Command{
		Name:  "update",
		Usage: "Change a tenant's settings (its default storage target)",
		UsageText: `xv tenant update ID --default-storage TARGET

TARGET is the name or id of a storage target the tenant may use (its own or
a platform one); its sources that name no storage send their snapshots there.
local_fs clears the default: the agents' disks.

Examples:
   xv tenant update ten_01J... --default-storage garage
   xv tenant update ten_01J... --default-storage local_fs`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "default-storage", Usage: "default storage `TARGET` (name or id, or local_fs)",
				Destination: &opts.DefaultStorage},
		},
		Action: func(c *cli.Context) error {
			if !c.IsSet("default-storage") {
				return cmdutil.UsageErrorf("nothing to update: give --default-storage")
			}
			return cmdutil.WithID(c, f, &opts.IDOptions, func(ctx context.Context, _ *cmdutil.IDOptions) error {
				return updateRun(ctx, opts)
			})
		},
	}
}

func updateRun(ctx context.Context, opts *updateOptions) error {
	// Resolve the name among the targets this tenant may use.
	id, err := storage.Resolve(ctx, opts.Client.ForTenant(opts.ID), opts.DefaultStorage)
	if err != nil {
		return err
	}
	t, err := opts.Client.UpdateTenant(ctx, opts.ID, sdk.UpdateTenantRequest{DefaultStorageID: &id})
	if err != nil {
		return err
	}
	return printTenant(opts.Deps, t)
}
