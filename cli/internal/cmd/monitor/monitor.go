// Package monitor implements `xv monitor`, the live terminal UI: jobs,
// agents, sources (with health) and snapshots, loaded over REST and kept
// current by the hub's event stream, with cancel, re-run and drain behind
// confirmations for read-write tokens.
package monitor

import (
	"context"
	"fmt"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

type options struct {
	readOnly, noColor bool
}

// NewCmd returns `xv monitor`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	opts := &options{}
	return &cli.Command{
		Name:  "monitor",
		Usage: "Watch jobs, agents, sources and snapshots live in a terminal UI",
		UsageText: `xv monitor [--readonly] [--no-color] [--tenant ID]

Keys: 1-4 tabs, j/k or arrows move, g/G top/bottom, enter details, esc back,
/ filter (status:failed source:web1 free text), f all/active/failed, s sort,
? help, q quit; read-write tokens also get c cancel job, r re-run the source,
d drain/undrain an agent (platform admins), each after a y/N confirmation.

Examples:
   xv monitor
   XV_TENANT=ten_01J... xv monitor --readonly
   NO_COLOR=1 xv monitor`,
		Flags: []cli.Flag{
			cmdutil.TenantFlag(),
			&cli.BoolFlag{Name: "readonly", Usage: "never offer actions (cancel, re-run, drain), whatever the token may do", Destination: &opts.readOnly},
			&cli.BoolFlag{Name: "no-color", Usage: "no colours (also when NO_COLOR is set)", Destination: &opts.noColor},
		},
		Action: func(c *cli.Context) error {
			if _, err := cmdutil.Args(c); err != nil {
				return err
			}
			if !cmdutil.IsTerminal(f.IO.Out) || !cmdutil.IsTerminal(f.IO.In) {
				return cmdutil.WithHint(cmdutil.UsageErrorf("xv monitor needs an interactive terminal"),
					"run it in a terminal; for scripts use 'xv job list -o json' or 'xv status -o json'")
			}
			client, err := f.Client(c)
			if err != nil {
				return err
			}
			s, err := f.Settings(c)
			if err != nil {
				return err
			}
			if opts.noColor || f.Getenv("NO_COLOR") != "" {
				lipgloss.SetColorProfile(termenv.Ascii)
			}
			return run(c.Context, f, client, s.Tenant, opts)
		},
	}
}

func run(ctx context.Context, f *cmdutil.Factory, client *sdk.Client, tenant string, opts *options) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cfg := configFor(client, tenant)
	cfg.ReadOnly, cfg.Now = opts.readOnly, f.Now
	p := tea.NewProgram(New(ctx, cfg), tea.WithContext(ctx), tea.WithAltScreen(),
		tea.WithInput(f.IO.In), tea.WithOutput(f.IO.Out))
	if _, err := p.Run(); err != nil && ctx.Err() == nil {
		return fmt.Errorf("monitor: %w", err)
	}
	return nil
}

// configFor wires the SDK client in.
func configFor(client *sdk.Client, tenant string) Config {
	return Config{Hub: client, Events: client, Drain: client, HubURL: client.BaseURL(), Tenant: tenant,
		ForTenant: func(id string) Hub { return client.ForTenant(id) }}
}
