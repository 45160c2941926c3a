// Package settings implements `xv settings`: read and change the platform
// settings (platform admins).
package settings

import (
	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv settings`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:  "settings",
		Usage: "Show and change platform settings (platform admins)",
		Description: `Settings:
   download_expiration_hours  hours a restore link stays valid, and the maximum of --expires-in (default 1)
   max_download_size_mb       largest restore, in MiB; a larger one fails before writing (default 5000)

Agents follow a change at their next restore job, without a restart.`,
		Subcommands: []*cli.Command{
			{
				Name: "list", Usage: "List the settings", UsageText: "xv settings list",
				Action: func(c *cli.Context) error {
					d, err := deps(f, c)
					if err != nil {
						return err
					}
					items, err := d.Client.ListSettings(c.Context)
					if err != nil {
						return err
					}
					return printList(d, items)
				},
			},
			{
				Name: "get", Usage: "Show one setting", UsageText: "xv settings get KEY",
				Action: func(c *cli.Context) error { return one(f, c, false) },
			},
			{
				Name: "set", Usage: "Change one setting", UsageText: "xv settings set KEY VALUE\n\nExample:\n   xv settings set download_expiration_hours 24",
				Action: func(c *cli.Context) error { return one(f, c, true) },
			},
		},
	})
}

func deps(f *cmdutil.Factory, c *cli.Context, names ...string) (cmdutil.Deps, error) {
	if _, err := cmdutil.Args(c, names...); err != nil {
		return cmdutil.Deps{}, err
	}
	return f.Deps(c)
}

func one(f *cmdutil.Factory, c *cli.Context, set bool) error {
	names := []string{"KEY"}
	if set {
		names = append(names, "VALUE")
	}
	d, err := deps(f, c, names...)
	if err != nil {
		return err
	}
	args := c.Args().Slice()
	var s *sdk.Setting
	if set {
		s, err = d.Client.PutSetting(c.Context, args[0], args[1])
	} else {
		s, err = d.Client.GetSetting(c.Context, args[0])
	}
	if err != nil {
		return err
	}
	if d.Out.JSON() {
		return d.Out.PrintJSON(s)
	}
	return printList(d, []sdk.Setting{*s})
}

func printList(d cmdutil.Deps, items []sdk.Setting) error {
	if d.Out.JSON() {
		if items == nil {
			items = []sdk.Setting{}
		}
		return d.Out.PrintJSON(items)
	}
	t := d.Out.Table("KEY", "VALUE", "DESCRIPTION", "UPDATED")
	for _, s := range items {
		t.Row(s.Key, s.Value, s.Description, d.Out.Ago(s.UpdatedAt))
	}
	return t.Flush()
}
