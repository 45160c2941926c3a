package source

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

type createOptions struct {
	cmdutil.Deps
	Type, Name, Credential string
	Config                 configFlags
	req                    sdk.CreateSourceRequest
}

func newCreateCmd(f *cmdutil.Factory) *cli.Command {
	opts := &createOptions{}
	return &cli.Command{
		Name:  "create",
		Usage: "Add a source to back up",
		UsageText: `xv source create --type sftp|ssh --name N --host H [--port 22] --user U --path P [--path P…]
      --credential ID [--exclude GLOB…] [--host-key SHA256:…] [--transfer auto|exec|sftp]
      [--compression fastest|default|better|none] [--tenant ID]
   xv source create --type TYPE --name N [--credential ID] (--config-json '{…}' | --config-file F)

Without --host-key the server's host key is recorded on the first connection
(trust on first use) and enforced from then on.

--transfer auto (the default) streams a tar made on the server where the
account may run commands, and uses SFTP otherwise; exec insists on the tar
stream, sftp never tries it. See docs/transfer.md.

Examples:
   xv source create --type sftp --name web1 --host web1.example.com --user backup \
      --path /var/www --path /etc --exclude '*.log' --credential cred_01J...
   xv source create --type mysql --name shop-db --credential cred_01J... \
      --config-json '{"host":"db1","port":3306,"username":"backup","databases":["shop"]}'`,
		Flags: append([]cli.Flag{
			cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "type", Usage: "source `TYPE`: ssh, sftp, ftp, mysql, postgres, wordpress, local", Destination: &opts.Type},
			&cli.StringFlag{Name: "name", Usage: "source `NAME`", Destination: &opts.Name},
			&cli.StringFlag{Name: "credential", Usage: "credential `ID` to log in with", Destination: &opts.Credential},
		}, opts.Config.flags()...),
		Action: func(c *cli.Context) error {
			if _, err := cmdutil.Args(c); err != nil {
				return err
			}
			if err := opts.build(c); err != nil {
				return err
			}
			var err error
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			return createRun(c.Context, opts)
		},
	}
}

// build checks the flags and makes the request.
func (opts *createOptions) build(c *cli.Context) error {
	var missing []string
	if opts.Type == "" {
		missing = append(missing, "--type")
	}
	if opts.Name == "" {
		missing = append(missing, "--name")
	}
	if len(missing) > 0 {
		return cmdutil.UsageErrorf("%s required", strings.Join(missing, " and "))
	}
	raw, err := opts.Config.rawConfig()
	if err != nil {
		return err
	}
	typ := sdk.SourceType(opts.Type)
	sshSet := setFlags(c, sshFlagNames...)
	switch {
	case raw != nil && len(sshSet) > 0:
		return cmdutil.UsageErrorf("give the config either as flags (%s) or as --config-json/--config-file, not both",
			strings.Join(sshSet, ", "))
	case raw == nil && !isSSH(typ):
		return cmdutil.UsageErrorf("a %s source takes its config as --config-json '{…}' or --config-file FILE", typ)
	case raw == nil:
		if err := missingSSH(c); err != nil {
			return err
		}
		cfg := map[string]any{}
		opts.Config.applySSH(c, cfg)
		if raw, err = json.Marshal(cfg); err != nil {
			return err
		}
	}
	opts.req = sdk.CreateSourceRequest{Type: typ, Name: opts.Name, CredentialID: opts.Credential, Config: raw}
	return nil
}

func createRun(ctx context.Context, opts *createOptions) error {
	s, err := opts.Client.CreateSource(ctx, opts.req)
	if err != nil {
		return err
	}
	return printSource(opts.Deps, s)
}
