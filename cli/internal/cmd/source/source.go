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
			newCreateCmd(f), newListCmd(f), newShowCmd(f), newUpdateCmd(f), newDeleteCmd(f), newTestCmd(f),
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

// target is a short "where": user@host:port (with the SSH server a
// database is reached through), a socket, or a local path.
func target(s *sdk.Source) string {
	var c struct {
		Host     string   `json:"host"`
		Port     int      `json:"port"`
		Username string   `json:"username"`
		Socket   string   `json:"socket"`
		Paths    []string `json:"paths"`
		SSH      *struct {
			Host     string `json:"host"`
			Port     int    `json:"port"`
			Username string `json:"username"`
		} `json:"ssh"`
	}
	if json.Unmarshal(s.Config, &c) != nil {
		return ""
	}
	switch {
	case s.Type == sdk.SourceLocal && len(c.Paths) > 0:
		return c.Paths[0]
	case c.Socket != "":
		return userAt(c.Username, c.Socket, 0, 0)
	case c.Host == "":
		return ""
	}
	t := userAt(c.Username, c.Host, c.Port, defaultPorts[s.Type])
	if c.SSH != nil && c.SSH.Host != "" {
		t += " via " + userAt(c.SSH.Username, c.SSH.Host, c.SSH.Port, 22)
	}
	return t
}

// defaultPorts are the ports target leaves out.
var defaultPorts = map[sdk.SourceType]int{sdk.SourceSSH: 22, sdk.SourceSFTP: 22, sdk.SourceWordPress: 22,
	sdk.SourceFTP: 21, sdk.SourceMySQL: 3306, sdk.SourcePostgres: 5432}

func userAt(user, host string, port, defaultPort int) string {
	t := host
	if user != "" {
		t = user + "@" + t
	}
	if port != 0 && port != defaultPort {
		t += fmt.Sprintf(":%d", port)
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
	fl.Add("Storage", storageOf(s))
	var c sdk.SSHConfig
	if isSSH(s.Type) && json.Unmarshal(s.Config, &c) == nil {
		fl.Add("Host", fmt.Sprintf("%s port %d", c.Host, c.Port))
		fl.Add("User", c.Username)
		fl.Add("Paths", strings.Join(c.Paths, ", "))
		fl.Add("Exclude", strings.Join(c.Exclude, ", "))
		fl.Add("Pinned host key", c.HostKey)
	} else {
		fl.Add("Target", target(s))
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

// storageOf says where the source's snapshots go.
func storageOf(s *sdk.Source) string {
	if s.StorageID == "" {
		return "tenant default"
	}
	return s.StorageID
}
