package source

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

type updateOptions struct {
	cmdutil.Deps
	ID               string
	Name, Credential string
	Disable, Enable  bool
	NoExclude        bool
	Config           configFlags

	// Worked out by check from the command line:
	set      func(flag string) bool   // was the flag given?
	sshEdits bool                     // ssh/sftp fields change one by one
	raw      json.RawMessage          // or the whole config is replaced
	apply    func(cfg map[string]any) // applies the ssh/sftp edits
}

func newUpdateCmd(f *cmdutil.Factory) *cli.Command {
	opts := &updateOptions{}
	return &cli.Command{
		Name:  "update",
		Usage: "Change a source; only the given flags change",
		UsageText: `xv source update ID [--name N] [--credential ID] [--disable|--enable] [--tenant ID]
      [--host H] [--port P] [--user U] [--path P…] [--exclude GLOB…|--no-exclude] [--host-key SHA256:…]
      [--transfer auto|exec|sftp] [--compression fastest|default|better|none]
   xv source update ID (--config-json '{…}' | --config-file F)

--path and --exclude replace the whole list. --host-key '' unpins the host key.
--transfer '' and --compression '' go back to the defaults (auto, default).
A disabled source is never scheduled.

Examples:
   xv source update src_01J... --path /var/www --path /srv/data
   xv source update src_01J... --host-key SHA256:Zm9vYmFy...
   xv source update src_01J... --disable`,
		Flags: append([]cli.Flag{
			cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "name", Usage: "new `NAME`", Destination: &opts.Name},
			&cli.StringFlag{Name: "credential", Usage: "log in with credential `ID`", Destination: &opts.Credential},
			&cli.BoolFlag{Name: "disable", Usage: "stop scheduling the source", Destination: &opts.Disable},
			&cli.BoolFlag{Name: "enable", Usage: "schedule the source again", Destination: &opts.Enable},
			&cli.BoolFlag{Name: "no-exclude", Usage: "ssh/sftp: remove every exclude glob", Destination: &opts.NoExclude},
		}, opts.Config.flags()...),
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

func (opts *updateOptions) check(c *cli.Context) error {
	opts.set = c.IsSet
	if opts.Disable && opts.Enable {
		return cmdutil.UsageErrorf("give either --disable or --enable, not both")
	}
	if opts.NoExclude && c.IsSet("exclude") {
		return cmdutil.UsageErrorf("give either --exclude or --no-exclude, not both")
	}
	raw, err := opts.Config.rawConfig()
	if err != nil {
		return err
	}
	opts.raw = raw
	opts.sshEdits = len(setFlags(c, sshFlagNames...)) > 0 || opts.NoExclude
	if raw != nil && opts.sshEdits {
		return cmdutil.UsageErrorf("give the config either as flags or as --config-json/--config-file, not both")
	}
	opts.apply = func(cfg map[string]any) {
		opts.Config.applySSH(c, cfg)
		if opts.NoExclude {
			delete(cfg, "exclude")
		}
	}
	if !opts.sshEdits && raw == nil && !c.IsSet("name") && !c.IsSet("credential") && !opts.Disable && !opts.Enable {
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
	if opts.Disable || opts.Enable {
		st := sdk.SourceActive
		if opts.Disable {
			st = sdk.SourceDisabled
		}
		req.Status = &st
	}
	if opts.sshEdits {
		// The API replaces the whole config: start from the current one.
		cur, err := opts.Client.GetSource(ctx, opts.ID)
		if err != nil {
			return err
		}
		if !isSSH(cur.Type) {
			return cmdutil.UsageErrorf("--host, --path and the like only apply to ssh/sftp sources; "+
				"source %s is %s: use --config-json", cur.ID, cur.Type)
		}
		cfg := map[string]any{}
		if len(cur.Config) > 0 {
			if err := json.Unmarshal(cur.Config, &cfg); err != nil {
				return fmt.Errorf("read the current config of source %s: %w", cur.ID, err)
			}
		}
		opts.apply(cfg)
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
