// Package credential implements `xv credential`: store the secrets sources
// log in with. Secrets come only from stdin or a file, never from argv, and
// the hub never gives them back.
package credential

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/urfave/cli/v2"
	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv credential`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:        "credential",
		Aliases:     []string{"cred"},
		Usage:       "Manage the secrets sources and storage targets log in with (passwords, SSH keys, S3 access keys)",
		Subcommands: []*cli.Command{newCreateCmd(f), newListCmd(f), newShowCmd(f), newDeleteCmd(f)},
	})
}

type createOptions struct {
	cmdutil.Deps
	Name            string
	PasswordStdin   bool
	PrivateKeyFile  string
	PassphraseStdin bool
	AccessKeyID     string
	SecretStdin     bool
	Platform        bool
}

func newCreateCmd(f *cmdutil.Factory) *cli.Command {
	opts := &createOptions{}
	return &cli.Command{
		Name:  "create",
		Usage: "Store a password or an SSH private key (sealed by the hub, never shown again)",
		UsageText: `xv credential create --name N --password-stdin [--tenant ID]
   xv credential create --name N --private-key-file FILE [--passphrase-stdin] [--tenant ID]
   xv credential create --name N --access-key-id ID --secret-access-key-stdin [--tenant ID | --platform]

Passwords and passphrases are read from stdin (on a terminal: prompted without
echo), never from the command line. One trailing newline is stripped.
An S3 access key (kind s3_access_key) is for storage targets ('xv storage
create'); --platform stores one of no tenant, for platform targets
(platform admins).

Examples:
   printf '%s' "$SFTP_PASSWORD" | xv credential create --name web1-sftp --password-stdin
   xv credential create --name web1-key --private-key-file ~/.ssh/backup_ed25519
   xv credential create --name web1-key --private-key-file key.pem --passphrase-stdin < passphrase.txt
   printf '%s' "$S3_SECRET" | xv credential create --name garage --access-key-id GK3a... --secret-access-key-stdin`,
		Flags: []cli.Flag{
			cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "name", Usage: "credential `NAME`", Destination: &opts.Name},
			&cli.BoolFlag{Name: "password-stdin", Usage: "read a password from stdin", Destination: &opts.PasswordStdin},
			&cli.PathFlag{Name: "private-key-file", Usage: "SSH private key `FILE` (PEM or OpenSSH format)", Destination: &opts.PrivateKeyFile},
			&cli.BoolFlag{Name: "passphrase-stdin", Usage: "read the private key's passphrase from stdin", Destination: &opts.PassphraseStdin},
			&cli.StringFlag{Name: "access-key-id", Usage: "S3 access key `ID` (with --secret-access-key-stdin)", Destination: &opts.AccessKeyID},
			&cli.BoolFlag{Name: "secret-access-key-stdin", Usage: "read the S3 secret access key from stdin", Destination: &opts.SecretStdin},
			&cli.BoolFlag{Name: "platform", Usage: "store a platform credential (S3 access keys only; platform admins)", Destination: &opts.Platform},
		},
		Action: func(c *cli.Context) error {
			if _, err := cmdutil.Args(c); err != nil {
				return err
			}
			if err := opts.check(); err != nil {
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

func (opts *createOptions) check() error {
	kinds := 0
	for _, given := range []bool{opts.PasswordStdin, opts.PrivateKeyFile != "", opts.AccessKeyID != "" || opts.SecretStdin} {
		if given {
			kinds++
		}
	}
	switch {
	case opts.Name == "":
		return cmdutil.UsageErrorf("--name is required")
	case kinds != 1:
		return cmdutil.UsageErrorf("give exactly one of --password-stdin, --private-key-file and --access-key-id with --secret-access-key-stdin")
	case opts.PassphraseStdin && opts.PrivateKeyFile == "":
		return cmdutil.UsageErrorf("--passphrase-stdin goes with --private-key-file")
	case (opts.AccessKeyID != "") != opts.SecretStdin:
		return cmdutil.UsageErrorf("--access-key-id and --secret-access-key-stdin go together")
	case opts.Platform && opts.AccessKeyID == "":
		return cmdutil.UsageErrorf("--platform credentials are S3 access keys: give --access-key-id and --secret-access-key-stdin")
	}
	return nil
}

func createRun(ctx context.Context, opts *createOptions) error {
	if opts.AccessKeyID != "" {
		return createS3Run(ctx, opts)
	}
	req := sdk.CreateCredentialRequest{Name: opts.Name}
	if opts.PasswordStdin {
		pw, err := cmdutil.ReadSecret(opts.IO, "password")
		if err != nil {
			return err
		}
		req.Kind, req.Password = sdk.CredentialPassword, pw
	} else {
		key, err := os.ReadFile(opts.PrivateKeyFile)
		if err != nil {
			return fmt.Errorf("read private key: %w", err)
		}
		req.Kind, req.PrivateKey = sdk.CredentialSSHPrivateKey, string(key)
		if opts.PassphraseStdin {
			if req.Passphrase, err = cmdutil.ReadSecret(opts.IO, "passphrase"); err != nil {
				return err
			}
		}
		if err := checkKey(opts.PrivateKeyFile, key, req.Passphrase); err != nil {
			return err
		}
	}
	cred, err := opts.Client.CreateCredential(ctx, req)
	if err != nil {
		return err
	}
	return printCredential(opts.Deps, cred)
}

// createS3Run stores an S3 access key, the tenant's or (--platform) the platform's.
func createS3Run(ctx context.Context, opts *createOptions) error {
	secret, err := cmdutil.ReadSecret(opts.IO, "secret access key")
	if err != nil {
		return err
	}
	req := sdk.CreateCredentialRequest{Name: opts.Name, Kind: sdk.CredentialS3AccessKey,
		AccessKeyID: opts.AccessKeyID, SecretAccessKey: secret}
	create := opts.Client.CreateCredential
	if opts.Platform {
		create = opts.Client.CreatePlatformCredential
	}
	cred, err := create(ctx, req)
	if err != nil {
		return err
	}
	return printCredential(opts.Deps, cred)
}

// checkKey catches an unreadable key or a wrong passphrase before they
// reach the hub (and, later, a failed backup).
func checkKey(path string, key []byte, passphrase string) error {
	var err error
	if passphrase != "" {
		_, err = ssh.ParseRawPrivateKeyWithPassphrase(key, []byte(passphrase))
	} else {
		_, err = ssh.ParseRawPrivateKey(key)
	}
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &missing):
		return cmdutil.WithHint(fmt.Errorf("private key %s is encrypted", path), "add --passphrase-stdin and pipe the passphrase in")
	case errors.Is(err, x509.IncorrectPasswordError):
		return fmt.Errorf("private key %s: wrong passphrase", path)
	default:
		return fmt.Errorf("private key %s: %w", path, err)
	}
}

type listOptions struct {
	cmdutil.Deps
	List     sdk.ListOptions
	Platform bool
}

func newListCmd(f *cmdutil.Factory) *cli.Command {
	opts := &listOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "List a tenant's credentials",
		UsageText: `xv credential list [--tenant ID | --platform] [--limit N] [--cursor C]

Examples:
   xv credential list
   xv credential list --platform
   xv credential list -o json | jq -r '.[] | "\(.id) \(.name)"'`,
		Flags: append([]cli.Flag{cmdutil.TenantFlag(),
			&cli.BoolFlag{Name: "platform", Usage: "list the platform's credentials (platform admins)", Destination: &opts.Platform},
		}, cmdutil.ListFlags(&opts.List)...),
		Action: func(c *cli.Context) error {
			if err := cmdutil.StartList(c, f, opts.List, &opts.Deps); err != nil {
				return err
			}
			return listRun(c.Context, opts)
		},
	}
}

func listRun(ctx context.Context, opts *listOptions) error {
	list := opts.Client.ListCredentials
	if opts.Platform {
		list = opts.Client.ListPlatformCredentials
	}
	page, err := list(ctx, opts.List)
	if err != nil {
		return err
	}
	cmdutil.NoteMore(opts.Deps, page.NextCursor)
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(output.Items(page.Items))
	}
	t := opts.Out.Table("ID", "NAME", "KIND", "PASSPHRASE", "CREATED")
	for _, x := range page.Items {
		t.Row(x.ID, x.Name, string(x.Kind), yesNo(x.HasPassphrase), opts.Out.Ago(x.CreatedAt))
	}
	return t.Flush()
}

func newShowCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:      "show",
		Usage:     "Show one credential (never its secret)",
		UsageText: "xv credential show ID [--tenant ID]\n\nExamples:\n   xv credential show cred_01J...",
		Flags:     []cli.Flag{cmdutil.TenantFlag(), platformFlag()},
		Action: func(c *cli.Context) error {
			if c.Bool("platform") {
				return cmdutil.WithID(c, f, opts, func(ctx context.Context, o *cmdutil.IDOptions) error {
					cred, err := o.Client.GetPlatformCredential(ctx, o.ID)
					if err != nil {
						return err
					}
					return printCredential(o.Deps, cred)
				})
			}
			return cmdutil.WithID(c, f, opts, showRun)
		},
	}
}

func showRun(ctx context.Context, opts *cmdutil.IDOptions) error {
	cred, err := opts.Client.GetCredential(ctx, opts.ID)
	if err != nil {
		return err
	}
	return printCredential(opts.Deps, cred)
}

func newDeleteCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:  "delete",
		Usage: "Delete a credential (refused while a source uses it)",
		UsageText: `xv credential delete ID [--tenant ID | --platform]

Examples:
   xv credential delete cred_01J...`,
		Flags: []cli.Flag{cmdutil.TenantFlag(), platformFlag()},
		Action: func(c *cli.Context) error {
			if c.Bool("platform") {
				return cmdutil.WithID(c, f, opts, func(ctx context.Context, o *cmdutil.IDOptions) error {
					if err := o.Client.DeletePlatformCredential(ctx, o.ID); err != nil {
						return err
					}
					return cmdutil.PrintDeleted(o.Deps, "platform credential", o.ID)
				})
			}
			return cmdutil.WithID(c, f, opts, deleteRun)
		},
	}
}

func deleteRun(ctx context.Context, opts *cmdutil.IDOptions) error {
	if err := opts.Client.DeleteCredential(ctx, opts.ID); err != nil {
		if errors.Is(err, sdk.ErrConflict) {
			return cmdutil.WithHint(err, "point the sources that use it at another credential ('xv source update ID --credential NEW') or delete them first")
		}
		return err
	}
	return cmdutil.PrintDeleted(opts.Deps, "credential", opts.ID)
}

func printCredential(d cmdutil.Deps, c *sdk.Credential) error {
	if d.Out.JSON() {
		return d.Out.PrintJSON(c)
	}
	fl := d.Out.Fields()
	fl.Add("ID", c.ID)
	if c.Platform {
		fl.Add("Tenant", "(platform)")
	} else {
		fl.Add("Tenant", c.TenantID)
	}
	fl.Add("Name", c.Name)
	fl.Add("Kind", string(c.Kind))
	fl.Add("Passphrase", yesNo(c.HasPassphrase))
	fl.Add("Created", d.Out.When(c.CreatedAt))
	fl.Add("Updated", d.Out.When(c.UpdatedAt))
	return fl.Flush()
}

func platformFlag() cli.Flag {
	return &cli.BoolFlag{Name: "platform", Usage: "a platform credential (platform admins)"}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
