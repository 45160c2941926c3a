// Package storage implements `xv storage`: the storage targets (S3-compatible
// buckets) snapshots go to instead of an agent's disk (docs/storage.md).
package storage

import (
	"context"
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv storage`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:        "storage",
		Usage:       "Manage storage targets (S3-compatible buckets for snapshots)",
		Subcommands: []*cli.Command{newCreateCmd(f), newListCmd(f), newShowCmd(f), newTestCmd(f), newDeleteCmd(f)},
	})
}

type createOptions struct {
	cmdutil.Deps
	req sdk.CreateStorageTargetRequest
	typ string
}

func newCreateCmd(f *cmdutil.Factory) *cli.Command {
	opts := &createOptions{}
	r := &opts.req
	return &cli.Command{
		Name:  "create",
		Usage: "Add an S3-compatible bucket as a storage target",
		UsageText: `xv storage create --type s3 --name N --endpoint URL --bucket B [--region R] [--prefix P]
      [--path-style] --credential ID [--tenant ID | --platform]

The credential is an s3_access_key credential ('xv credential create --name N
--access-key-id ID --secret-access-key-stdin'). A platform target (--platform,
platform admins) is usable by every tenant and needs a platform credential
('xv credential create --platform …'). Snapshots are stored under
PREFIX/tenants/TENANT/sources/SOURCE/snapshots/SNAPSHOT/, the layout of an agent's disk.

Examples:
   xv storage create --type s3 --name garage --endpoint https://s3.example.com --bucket backups \
      --region garage --path-style --credential cred_01J...
   xv storage create --platform --type s3 --name shared --endpoint https://s3.eu-west-1.amazonaws.com \
      --bucket xvault-prod --region eu-west-1 --prefix xvault --credential cred_02K...`,
		Flags: []cli.Flag{
			cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "type", Usage: "target `TYPE` (s3)", Value: "s3", Destination: &opts.typ},
			&cli.StringFlag{Name: "name", Usage: "target `NAME`", Destination: &r.Name},
			&cli.StringFlag{Name: "endpoint", Usage: "S3 endpoint `URL` (https://…; http:// only when written out)", Destination: &r.Endpoint},
			&cli.StringFlag{Name: "bucket", Usage: "`BUCKET` name", Destination: &r.Bucket},
			&cli.StringFlag{Name: "region", Usage: "`REGION` (empty: ask the server)", Destination: &r.Region},
			&cli.StringFlag{Name: "prefix", Usage: "key `PREFIX` inside the bucket", Destination: &r.Prefix},
			&cli.BoolFlag{Name: "path-style", Usage: "address the bucket as URL/BUCKET/KEY (MinIO, Garage, Ceph, versitygw)", Destination: &r.PathStyle},
			&cli.StringFlag{Name: "credential", Usage: "s3_access_key credential `ID`", Destination: &r.CredentialID},
			&cli.BoolFlag{Name: "platform", Usage: "make a platform-wide target (platform admins)", Destination: &r.Platform},
		},
		Action: func(c *cli.Context) error {
			if _, err := cmdutil.Args(c); err != nil {
				return err
			}
			if err := opts.check(c); err != nil {
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

func (opts *createOptions) check(c *cli.Context) error {
	if err := cmdutil.OneOf("type", opts.typ, string(sdk.StorageS3)); err != nil {
		return err
	}
	opts.req.Type = sdk.StorageType(opts.typ)
	for _, need := range []string{"name", "endpoint", "bucket", "credential"} {
		if c.String(need) == "" {
			return cmdutil.UsageErrorf("--%s is required", need)
		}
	}
	if opts.req.Platform && c.String("tenant") != "" {
		return cmdutil.UsageErrorf("--platform and --tenant exclude each other")
	}
	return nil
}

func createRun(ctx context.Context, opts *createOptions) error {
	t, err := opts.Client.CreateStorageTarget(ctx, opts.req)
	if err != nil {
		return err
	}
	return printTarget(opts.Deps, t)
}

type listOptions struct {
	cmdutil.Deps
	List sdk.ListOptions
}

func newListCmd(f *cmdutil.Factory) *cli.Command {
	opts := &listOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "List the storage targets you may use (your tenant's and the platform's)",
		UsageText: `xv storage list [--tenant ID] [--limit N] [--cursor C]

A platform admin naming no tenant sees every target.

Examples:
   xv storage list
   xv storage list -o json | jq -r '.[] | "\(.id) \(.name)"'`,
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
	page, err := opts.Client.ListStorageTargets(ctx, opts.List)
	if err != nil {
		return err
	}
	cmdutil.NoteMore(opts.Deps, page.NextCursor)
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(output.Items(page.Items))
	}
	t := opts.Out.Table("ID", "NAME", "SCOPE", "ENDPOINT", "BUCKET", "PREFIX", "CREATED")
	for _, x := range page.Items {
		t.Row(x.ID, x.Name, scope(&x), x.Endpoint, x.Bucket, x.Prefix, opts.Out.Ago(x.CreatedAt))
	}
	return t.Flush()
}

func newShowCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:      "show",
		Usage:     "Show one storage target",
		UsageText: "xv storage show ID [--tenant ID]\n\nExamples:\n   xv storage show 6f1c…",
		Flags:     []cli.Flag{cmdutil.TenantFlag()},
		Action:    func(c *cli.Context) error { return cmdutil.WithID(c, f, opts, showRun) },
	}
}

func showRun(ctx context.Context, opts *cmdutil.IDOptions) error {
	t, err := opts.Client.GetStorageTarget(ctx, opts.ID)
	if err != nil {
		return err
	}
	return printTarget(opts.Deps, t)
}

func newDeleteCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:      "delete",
		Usage:     "Delete a storage target (refused while sources, snapshots or a tenant default use it)",
		UsageText: "xv storage delete ID [--tenant ID]\n\nExamples:\n   xv storage delete 6f1c…",
		Flags:     []cli.Flag{cmdutil.TenantFlag()},
		Action:    func(c *cli.Context) error { return cmdutil.WithID(c, f, opts, deleteRun) },
	}
}

func deleteRun(ctx context.Context, opts *cmdutil.IDOptions) error {
	if err := opts.Client.DeleteStorageTarget(ctx, opts.ID); err != nil {
		if errors.Is(err, sdk.ErrConflict) {
			return cmdutil.WithHint(err, "point its sources at another target ('xv source update ID --storage local_fs') first")
		}
		return err
	}
	return cmdutil.PrintDeleted(opts.Deps, "storage target", opts.ID)
}

func printTarget(d cmdutil.Deps, t *sdk.StorageTarget) error {
	if d.Out.JSON() {
		return d.Out.PrintJSON(t)
	}
	fl := d.Out.Fields()
	fl.Add("ID", t.ID)
	fl.Add("Name", t.Name)
	fl.Add("Scope", scope(t))
	fl.Add("Type", string(t.Type))
	fl.Add("Endpoint", t.Endpoint)
	fl.Add("Bucket", t.Bucket)
	fl.Add("Region", t.Region)
	fl.Add("Prefix", t.Prefix)
	fl.Add("Path style", yesNo(t.PathStyle))
	fl.Add("Credential", t.CredentialID)
	fl.Add("Created", d.Out.When(t.CreatedAt))
	return fl.Flush()
}

func scope(t *sdk.StorageTarget) string {
	if t.Platform {
		return "platform"
	}
	return "tenant " + t.TenantID
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
