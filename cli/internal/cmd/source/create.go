package source

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmd/storage"
	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

type createOptions struct {
	cmdutil.Deps
	Type, Name, Credential string
	Storage                string
	Config                 configFlags
	req                    sdk.CreateSourceRequest
}

func newCreateCmd(f *cmdutil.Factory) *cli.Command {
	opts := &createOptions{}
	return &cli.Command{
		Name:  "create",
		Usage: "Add a source to back up",
		UsageText: `xv source create --type TYPE --name N [--credential ID] CONFIG-FLAGS… [--tenant ID]
   xv source create --type TYPE --name N [--credential ID] (--config-json '{…}' | --config-file F)

Each type takes its own config flags (a flag of another type is refused):
   ssh, sftp   --host --user --path… [--port 22] [--exclude…] [--host-key SHA256:…]
               [--transfer auto|exec|sftp] [--compression fastest|default|better|none]
   ftp         --host --user --path… [--port 21] [--exclude…] [--tls none|explicit|implicit]
               [--insecure-skip-verify]
   mysql       --user (--database…|--all-databases [--exclude-database…]) (--host H [--port 3306]|--socket PATH)
               [--tls preferred|required|verify_ca|disabled] [SSH]
   postgres    --user (--database…|--all-databases [--exclude-database…]) --host H [--port 5432]
               [--sslmode disable|allow|prefer|require|verify-ca|verify-full] [--format plain|custom] [SSH]
   wordpress   --host --user --path ROOT [--port 22] [--exclude…] [--host-key SHA256:…]
               [--db-host HOST] [--db-credential ID]
   local       --path… [--exclude…]   (no credential; the agent must allow the paths: --allow-local-root)
SSH (mysql, postgres: reach the database through an SSH server; --host then defaults to 127.0.0.1, as
seen from that server): --ssh-host H --ssh-user U --ssh-credential ID [--ssh-port 22] [--ssh-host-key SHA256:…]

--credential is the password (ftp, mysql, postgres) or the SSH login (ssh, sftp, wordpress).
Without a host key the server's is recorded on the first connection (trust on first use) and
enforced from then on. --transfer: see docs/transfer.md. Every field: docs/api.md.

Examples:
   xv source create --type sftp --name web1 --host web1.example.com --user backup \
      --path /var/www --path /etc --exclude '*.log' --credential cred_01J...
   xv source create --type mysql --name shop-db --host db1 --user backup --database shop --credential cred_01J...
   xv source create --type postgres --name pg --user backup --all-databases --exclude-database test \
      --ssh-host db1.example.com --ssh-user tunnel --ssh-credential cred_02K... --credential cred_01J...
   xv source create --type wordpress --name blog --host web1 --user deploy --path /var/www/blog --credential cred_03M...`,
		Flags: opts.flags(),
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

func (opts *createOptions) flags() []cli.Flag {
	return append([]cli.Flag{
		cmdutil.TenantFlag(),
		&cli.StringFlag{Name: "type", Usage: "source `TYPE`: " + joinTypes(allTypes), Destination: &opts.Type},
		&cli.StringFlag{Name: "name", Usage: "source `NAME`", Destination: &opts.Name},
		&cli.StringFlag{Name: "credential", Usage: "credential `ID` to log in with", Destination: &opts.Credential},
		&cli.StringFlag{Name: "storage", Usage: "storage `TARGET` (name or id) its snapshots go to; local_fs: the agent's disk " +
			"(default: the tenant's default storage)", Destination: &opts.Storage},
	}, opts.Config.flags()...)
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
	set := setFields(c, configFields)
	switch {
	case raw != nil && len(set) > 0:
		return cmdutil.UsageErrorf("give the config either as flags (%s) or as --config-json/--config-file, not both",
			strings.Join(flagNames(set), ", "))
	case raw == nil:
		if err := checkApplies(typ, set); err != nil {
			return err
		}
		if err := checkNeeds(c, typ); err != nil {
			return err
		}
		cfg := map[string]any{}
		if err := applyConfig(c, typ, cfg, set); err != nil {
			return err
		}
		if raw, err = json.Marshal(cfg); err != nil {
			return err
		}
	}
	opts.req = sdk.CreateSourceRequest{Type: typ, Name: opts.Name, CredentialID: opts.Credential, Config: raw}
	return nil
}

func createRun(ctx context.Context, opts *createOptions) error {
	if opts.Storage != "" {
		id, err := storage.Resolve(ctx, opts.Client, opts.Storage)
		if err != nil {
			return err
		}
		opts.req.StorageID = id
	}
	s, err := opts.Client.CreateSource(ctx, opts.req)
	if err != nil {
		return err
	}
	return printSource(opts.Deps, s)
}
