// Package source implements `xv source`: the systems xVault backs up.
package source

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv source`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:  "source",
		Usage: "Manage sources: the servers, sites and databases to back up",
		Subcommands: []*cli.Command{
			newCreateCmd(f), newListCmd(f), newShowCmd(f), newUpdateCmd(f), newDeleteCmd(f),
		},
	})
}

type listOptions struct {
	cmdutil.Deps
	List sdk.SourceListOptions
	Type string
}

func newListCmd(f *cmdutil.Factory) *cli.Command {
	opts := &listOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "List a tenant's sources",
		UsageText: `xv source list [--type TYPE] [--tenant ID] [--limit N] [--cursor C]

Examples:
   xv source list
   xv source list --type sftp -o json | jq -r '.[].id'`,
		Flags: append([]cli.Flag{
			cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "type", Usage: "only sources of `TYPE` (ssh, sftp, ftp, mysql, postgres, wordpress, local)", Destination: &opts.Type},
		}, cmdutil.ListFlags(&opts.List.ListOptions)...),
		Action: func(c *cli.Context) error {
			if _, err := cmdutil.Args(c); err != nil {
				return err
			}
			if err := cmdutil.CheckLimit(opts.List.ListOptions); err != nil {
				return err
			}
			opts.List.Type = sdk.SourceType(opts.Type)
			var err error
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			return listRun(c.Context, opts)
		},
	}
}

func listRun(ctx context.Context, opts *listOptions) error {
	page, err := opts.Client.ListSources(ctx, opts.List)
	if err != nil {
		return err
	}
	cmdutil.NoteMore(opts.Deps, page.NextCursor)
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(output.Items(page.Items))
	}
	t := opts.Out.Table("ID", "NAME", "TYPE", "STATUS", "TARGET", "CREATED")
	for _, s := range page.Items {
		t.Row(s.ID, s.Name, string(s.Type), string(s.Status), target(&s), opts.Out.Ago(s.CreatedAt))
	}
	return t.Flush()
}

func newShowCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:  "show",
		Usage: "Show one source, its config and its recorded SSH host key",
		UsageText: `xv source show ID [--tenant ID]

Examples:
   xv source show src_01J...
   xv source show src_01J... -o json | jq -r .host_key_fingerprint`,
		Flags:  []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error { return cmdutil.WithID(c, f, opts, showRun) },
	}
}

func showRun(ctx context.Context, opts *cmdutil.IDOptions) error {
	s, err := opts.Client.GetSource(ctx, opts.ID)
	if err != nil {
		return err
	}
	return printSource(opts.Deps, s)
}

func newDeleteCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:  "delete",
		Usage: "Delete a source (refused while it has snapshots or active jobs)",
		UsageText: `xv source delete ID [--tenant ID]

Examples:
   xv source delete src_01J...`,
		Flags:  []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error { return cmdutil.WithID(c, f, opts, deleteRun) },
	}
}

func deleteRun(ctx context.Context, opts *cmdutil.IDOptions) error {
	if err := opts.Client.DeleteSource(ctx, opts.ID); err != nil {
		return err
	}
	return cmdutil.PrintDeleted(opts.Deps, "source", opts.ID)
}

// isSSH reports whether a source type is configured with SSHConfig.
func isSSH(t sdk.SourceType) bool { return t == sdk.SourceSSH || t == sdk.SourceSFTP }

// target is a short "where": user@host:port for ssh/sftp sources.
func target(s *sdk.Source) string {
	if !isSSH(s.Type) {
		return ""
	}
	var c sdk.SSHConfig
	if json.Unmarshal(s.Config, &c) != nil || c.Host == "" {
		return ""
	}
	t := c.Host
	if c.Username != "" {
		t = c.Username + "@" + t
	}
	if c.Port != 0 && c.Port != 22 {
		t += fmt.Sprintf(":%d", c.Port)
	}
	return t
}

func printSource(d cmdutil.Deps, s *sdk.Source) error {
	if d.Out.JSON() {
		return d.Out.PrintJSON(s)
	}
	fl := d.Out.Fields()
	fl.Add("ID", s.ID)
	fl.Add("Tenant", s.TenantID)
	fl.Add("Name", s.Name)
	fl.Add("Type", string(s.Type))
	fl.Add("Status", string(s.Status))
	fl.Add("Credential", s.CredentialID)
	var c sdk.SSHConfig
	if isSSH(s.Type) && json.Unmarshal(s.Config, &c) == nil {
		fl.Add("Host", fmt.Sprintf("%s port %d", c.Host, c.Port))
		fl.Add("User", c.Username)
		fl.Add("Paths", strings.Join(c.Paths, ", "))
		fl.Add("Exclude", strings.Join(c.Exclude, ", "))
		fl.Add("Pinned host key", c.HostKey)
	} else {
		fl.Add("Config", string(s.Config))
	}
	hk := s.HostKeyFingerprint
	if hk == "" && isSSH(s.Type) && c.HostKey == "" {
		hk = "(none yet: recorded on the first connection)"
	}
	fl.Add("Recorded host key", hk)
	fl.Add("Created", d.Out.When(s.CreatedAt))
	fl.Add("Updated", d.Out.When(s.UpdatedAt))
	return fl.Flush()
}
