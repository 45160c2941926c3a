package tenant

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

type keyExportOptions struct {
	cmdutil.Deps
	ID     string
	Output string
}

func newKeyExportCmd(f *cmdutil.Factory) *cli.Command {
	opts := &keyExportOptions{}
	return &cli.Command{
		Name:  "export",
		Usage: "Print the tenant's age identity (AGE-SECRET-KEY-1…) for disaster recovery",
		UsageText: `xv tenant key export ID [--output FILE]

Only a platform admin or an owner/admin of the tenant may export; every export
is audited. The identity decrypts every snapshot of the tenant without xVault:

   age -d -i key.txt backup.tar.zst.age | zstd -d | tar -x

The output is an age identity file (comment lines, then the key). --output
writes it to a new file with mode 0600 and never overwrites an existing one.

Examples:
   xv tenant key export ten_01J... --output acme-key.txt
   xv tenant key export ten_01J... -o json | jq -r .identity`,
		Flags: []cli.Flag{
			&cli.PathFlag{Name: "output", Usage: "write the identity to new `FILE` (mode 0600) instead of stdout", Destination: &opts.Output},
		},
		Action: func(c *cli.Context) error {
			args, err := cmdutil.Args(c, "ID")
			if err != nil {
				return err
			}
			opts.ID = args[0]
			if opts.Output == "json" || opts.Output == "table" {
				return cmdutil.UsageErrorf("--output takes a FILE; for the output format use -o %s", opts.Output)
			}
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			return keyExportRun(c.Context, opts)
		},
	}
}

func keyExportRun(ctx context.Context, opts *keyExportOptions) error {
	if opts.Output != "" {
		// Refuse before the (audited) export, not after.
		if _, err := os.Lstat(opts.Output); err == nil {
			return fmt.Errorf("%s already exists; not overwriting a key file", opts.Output)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("check %s: %w", opts.Output, err)
		}
	}
	k, err := opts.Client.ExportTenantKey(ctx, opts.ID)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "warning: this is the secret key of tenant %s: anyone who holds it can decrypt "+
		"all of its snapshots. Keep it offline; never commit, paste or email it.\n", k.TenantID)

	if opts.Output != "" {
		if err := writeNew(opts.Output, keyFile(k, opts.Out.Now())); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.ErrOut, "wrote the identity to %s (mode 0600)\n", opts.Output)
		if opts.Out.JSON() {
			return opts.Out.PrintJSON(map[string]string{
				"tenant_id": k.TenantID, "key_id": k.KeyID, "public_key": k.PublicKey, "file": opts.Output,
			})
		}
		return nil
	}
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(k)
	}
	_, err = fmt.Fprint(opts.Out.Out, keyFile(k, opts.Out.Now()))
	return err
}

// keyFile renders an age identity file, like age-keygen writes.
func keyFile(k *sdk.TenantKeyExport, now time.Time) string {
	return fmt.Sprintf("# xVault tenant %s, key %s, exported %s\n# public key: %s\n%s\n",
		k.TenantID, k.KeyID, now.UTC().Format(time.RFC3339), k.PublicKey, k.Identity)
}

// writeNew creates path with mode 0600, failing if it exists.
func writeNew(path, content string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
