// Package login implements `xv login`: check a hub address and token, then
// save them to the config file.
package login

import (
	"context"
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

type options struct {
	IO         *cmdutil.IOStreams
	Out        *output.Printer
	NewClient  func(hub, token, tenant string) *sdk.Client
	ConfigPath string

	Hub, Token, Tenant string
	TokenStdin         bool
}

// NewCmd returns `xv login`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	opts := &options{}
	return &cli.Command{
		Name:  "login",
		Usage: "Check a hub address and token, then save them for later commands",
		UsageText: `xv login --hub URL --token-stdin [--tenant ID]
   xv login --hub URL --token TOKEN

The token is checked against the hub (GET /api/v1/status) before anything is
saved. The config goes to $XDG_CONFIG_HOME/xvault/config.json (or
~/.config/xvault/config.json), mode 0600. Flags and the XV_HUB_URL, XV_TOKEN
and XV_TENANT variables override it.

Examples:
   printf '%s' "$TOKEN" | xv login --hub http://127.0.0.1:8080 --token-stdin
   xv login --hub https://hub.example.com --token-stdin     # prompts on a terminal`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "hub", Usage: "hub `URL`, e.g. http://127.0.0.1:8080 [$XV_HUB_URL]"},
			&cli.StringFlag{Name: "token", Usage: "API `TOKEN` (prefer --token-stdin: argv is visible to other users) [$XV_TOKEN]"},
			&cli.BoolFlag{Name: "token-stdin", Usage: "read the token from stdin", Destination: &opts.TokenStdin},
			&cli.StringFlag{Name: "tenant", Usage: "default tenant `ID` to save (for platform-admin tokens)"},
		},
		Action: func(c *cli.Context) error {
			if _, err := cmdutil.Args(c); err != nil {
				return err
			}
			out, err := f.Printer(c)
			if err != nil {
				return err
			}
			opts.IO, opts.Out, opts.NewClient = f.IO, out, f.NewClient
			if opts.ConfigPath, err = cmdutil.ConfigPath(f.Getenv); err != nil {
				return err
			}
			opts.Hub = flagOrEnv(c, f, "hub", "XV_HUB_URL")
			opts.Token = flagOrEnv(c, f, "token", "XV_TOKEN")
			opts.Tenant, _ = cmdutil.FlagString(c, "tenant")
			if v, ok := cmdutil.FlagString(c, "token"); ok && v != "" && opts.TokenStdin {
				return cmdutil.UsageErrorf("give either --token or --token-stdin, not both")
			}
			return run(c.Context, opts)
		},
	}
}

func flagOrEnv(c *cli.Context, f *cmdutil.Factory, flag, env string) string {
	if v, ok := cmdutil.FlagString(c, flag); ok && v != "" {
		return v
	}
	return f.Getenv(env)
}

func run(ctx context.Context, opts *options) error {
	if opts.Hub == "" {
		return cmdutil.UsageErrorf("--hub URL is required (or XV_HUB_URL)")
	}
	if err := cmdutil.CheckHubURL(opts.Hub); err != nil {
		return &cmdutil.UsageError{Err: err}
	}
	if opts.TokenStdin {
		tok, err := cmdutil.ReadSecret(opts.IO, "token")
		if err != nil {
			return err
		}
		opts.Token = tok
	}
	if opts.Token == "" {
		return cmdutil.UsageErrorf("a token is required: --token-stdin, --token or XV_TOKEN")
	}

	st, err := opts.NewClient(opts.Hub, opts.Token, "").Status(ctx)
	if err != nil {
		if errors.Is(err, sdk.ErrUnauthenticated) {
			return cmdutil.WithHint(err, "the hub rejected this token; nothing was saved")
		}
		return err
	}
	if st.Caller.Kind == sdk.TokenAgent {
		return errors.New("this is an agent token; xv needs an operator token (platform admin or tenant)")
	}
	cfg := cmdutil.Config{Hub: opts.Hub, Token: opts.Token, Tenant: opts.Tenant}
	if err := cmdutil.SaveConfig(opts.ConfigPath, cfg); err != nil {
		return err
	}
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(map[string]any{"hub": opts.Hub, "config_path": opts.ConfigPath, "caller": st.Caller})
	}
	fmt.Fprintf(opts.Out.Out, "Logged in to %s as %s.\nSaved to %s.\n", opts.Hub, DescribeCaller(st.Caller), opts.ConfigPath)
	return nil
}

// DescribeCaller renders who a token is: "platform admin (token tok_1)".
func DescribeCaller(c sdk.Caller) string {
	switch c.Kind {
	case sdk.TokenPlatformAdmin:
		return fmt.Sprintf("platform admin (token %s)", c.TokenID)
	case sdk.TokenTenant:
		return fmt.Sprintf("%s of tenant %s (token %s)", c.Role, c.TenantID, c.TokenID)
	case sdk.TokenAgent:
		return fmt.Sprintf("agent %s (token %s)", c.AgentID, c.TokenID)
	}
	return fmt.Sprintf("%s token %s", c.Kind, c.TokenID)
}
