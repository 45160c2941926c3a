package source

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmd/storage"
	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

type updateOptions struct {
	cmdutil.Deps
	ID               string
	Name, Credential string
	Storage          string
	Disable, Enable  bool
	Config           configFlags

	// Worked out by check from the command line:
	set   func(flag string) bool                           // was the flag given?
	edits []configField                                    // config fields change one by one
	raw   json.RawMessage                                  // or the whole config is replaced
	apply func(t sdk.SourceType, cfg map[string]any) error // applies the edits
}

func newUpdateCmd(f *cmdutil.Factory) *cli.Command {
	opts := &updateOptions{Config: configFlags{update: true}}
	return &cli.Command{
		Name:  "update",
		Usage: "Change a source; only the given flags change",
		UsageText: `xv source update ID [--name N] [--credential ID] [--disable|--enable] [--tenant ID] [CONFIG-FLAGS…]
   xv source update ID (--config-json '{…}' | --config-file F)

The config flags are those of 'xv source create' for the source's type; each replaces the
field it names and leaves the others as they are. A repeatable flag (--path, --exclude,
--database, --exclude-database) replaces the whole list. An empty value ('') removes the
field, so the default applies again (--host-key '' unpins the host key, --transfer '' goes
back to auto). --database replaces --all-databases and the other way round; --socket
replaces --host and --port. --no-exclude, --no-exclude-database and --no-ssh remove those.
A disabled source is never scheduled.

Examples:
   xv source update src_01J... --path /var/www --path /srv/data
   xv source update src_01J... --host-key SHA256:Zm9vYmFy...
   xv source update src_01J... --database shop --database blog
   xv source update src_01J... --ssh-host bastion.example.com --ssh-user tunnel --ssh-credential cred_02K...
   xv source update src_01J... --disable`,
		Flags: opts.flags(),
		Action: func(c *cli.Context) error {
			args, err := cmdutil.Args(c, "ID")
			if err != nil {
				return err
			}
			opts.ID = args[0]
			if err := opts.check(c); err != nil {
				return err
			}
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			return updateRun(c.Context, opts)
		},
	}
}

func (opts *updateOptions) flags() []cli.Flag {
	return append([]cli.Flag{
		cmdutil.TenantFlag(),
		&cli.StringFlag{Name: "name", Usage: "new `NAME`", Destination: &opts.Name},
		&cli.StringFlag{Name: "credential", Usage: "log in with credential `ID`", Destination: &opts.Credential},
		&cli.StringFlag{Name: "storage", Usage: "send its snapshots to storage `TARGET` (name or id); local_fs: " +
			"back to the tenant's default", Destination: &opts.Storage},
		&cli.BoolFlag{Name: "disable", Usage: "stop scheduling the source", Destination: &opts.Disable},
		&cli.BoolFlag{Name: "enable", Usage: "schedule the source again", Destination: &opts.Enable},
	}, opts.Config.flags()...)
}

func (opts *updateOptions) check(c *cli.Context) error {
	opts.set = c.IsSet
	if opts.Disable && opts.Enable {
		return cmdutil.UsageErrorf("give either --disable or --enable, not both")
	}
	if err := checkConflicts(c); err != nil {
		return err
	}
	raw, err := opts.Config.rawConfig()
	if err != nil {
		return err
	}
	opts.raw = raw
	opts.edits = setFields(c, append(append([]configField{}, configFields...), updateOnlyFields...))
	if raw != nil && len(opts.edits) > 0 {
		return cmdutil.UsageErrorf("give the config either as flags or as --config-json/--config-file, not both")
	}
	opts.apply = func(t sdk.SourceType, cfg map[string]any) error {
		if err := checkApplies(t, opts.edits); err != nil {
			return err
		}
		return applyConfig(c, t, cfg, opts.edits)
	}
	if len(opts.edits) == 0 && raw == nil && !c.IsSet("name") && !c.IsSet("credential") && !c.IsSet("storage") && !opts.Disable && !opts.Enable {
		return cmdutil.UsageErrorf("nothing to update: give at least one flag (see 'xv source update --help')")
	}
	return nil
}

func updateRun(ctx context.Context, opts *updateOptions) error {
	req := sdk.UpdateSourceRequest{Config: opts.raw}
	if opts.set("name") {
		req.Name = &opts.Name
	}
	if opts.set("credential") {
		req.CredentialID = &opts.Credential
	}
	if opts.set("storage") {
		id, err := storage.Resolve(ctx, opts.Client, opts.Storage)
		if err != nil {
			return err
		}
		req.StorageID = &id
	}
	if opts.Disable || opts.Enable {
		st := sdk.SourceActive
		if opts.Disable {
			st = sdk.SourceDisabled
		}
		req.Status = &st
	}
	if len(opts.edits) > 0 {
		// The API replaces the whole config: start from the current one.
		cur, err := opts.Client.GetSource(ctx, opts.ID)
		if err != nil {
			return err
		}
		cfg := map[string]any{}
		if len(cur.Config) > 0 {
			if err := json.Unmarshal(cur.Config, &cfg); err != nil {
				return fmt.Errorf("read the current config of source %s: %w", cur.ID, err)
			}
		}
		if err := opts.apply(cur.Type, cfg); err != nil {
			return err
		}
		raw, err := json.Marshal(cfg)
		if err != nil {
			return err
		}
		req.Config = raw
	}
	s, err := opts.Client.UpdateSource(ctx, opts.ID, req)
	if err != nil {
		return err
	}
	return printSource(opts.Deps, s)
}
