// Package root assembles the xv command tree and runs it: global flags, the
// exit-code table and one-line error reporting.
package root

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmd/agent"
	"github.com/xvault/xvault/cli/internal/cmd/archive"
	"github.com/xvault/xvault/cli/internal/cmd/audit"
	"github.com/xvault/xvault/cli/internal/cmd/backup"
	"github.com/xvault/xvault/cli/internal/cmd/credential"
	"github.com/xvault/xvault/cli/internal/cmd/job"
	"github.com/xvault/xvault/cli/internal/cmd/login"
	"github.com/xvault/xvault/cli/internal/cmd/monitor"
	"github.com/xvault/xvault/cli/internal/cmd/restore"
	"github.com/xvault/xvault/cli/internal/cmd/retention"
	"github.com/xvault/xvault/cli/internal/cmd/schedule"
	"github.com/xvault/xvault/cli/internal/cmd/settings"
	"github.com/xvault/xvault/cli/internal/cmd/snapshot"
	"github.com/xvault/xvault/cli/internal/cmd/source"
	"github.com/xvault/xvault/cli/internal/cmd/status"
	"github.com/xvault/xvault/cli/internal/cmd/storage"
	"github.com/xvault/xvault/cli/internal/cmd/tenant"
	"github.com/xvault/xvault/cli/internal/cmd/token"
	"github.com/xvault/xvault/cli/internal/cmd/webhook"
	"github.com/xvault/xvault/cli/internal/cmdutil"
)

const description = `Configuration (flags > environment > config file written by 'xv login'):
   --hub URL      XV_HUB_URL   the hub, e.g. http://127.0.0.1:8080
   --token T      XV_TOKEN     an operator token (platform admin or tenant)
   --tenant ID    XV_TENANT    the tenant to act on (platform-admin tokens: needed for lists and
                               creates; a command on one object by id finds its tenant)

Output: results go to stdout, progress and diagnostics to stderr. -o json prints
the API's objects (an array for lists) for scripts.

Exit status: 0 ok, 1 error, 2 usage, 3 not found, 4 job failed, 130 interrupted.

Quick start:
   xv tenant create acme
   printf '%s' "$PW" | xv credential create --tenant TEN --name web1 --password-stdin
   xv source create --tenant TEN --type sftp --name web1 --host web1 --user backup --path /var/www --credential CRED
   xv backup run --tenant TEN SRC --wait`

// New builds the xv app. Build a new one for every run: urfave/cli flags
// keep state.
func New(f *cmdutil.Factory) *cli.App {
	app := &cli.App{
		Name:                      "xv",
		Usage:                     "operate xVault: tenants, credentials, sources, backups, jobs, snapshots, agents",
		UsageText:                 "xv [global options] command [command options] [arguments...]",
		Description:               description,
		Version:                   f.Version,
		Reader:                    f.IO.In,
		Writer:                    f.IO.Out,
		ErrWriter:                 f.IO.ErrOut,
		HideHelpCommand:           true,
		DisableSliceFlagSeparator: true,
		ExitErrHandler:            func(*cli.Context, error) {}, // Run maps errors to exit codes
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "hub", Usage: "hub `URL` [$XV_HUB_URL]"},
			&cli.StringFlag{Name: "token", Usage: "API `TOKEN` (prefer XV_TOKEN or 'xv login': argv is visible to other users) [$XV_TOKEN]"},
			&cli.StringFlag{Name: "tenant", Usage: "act on tenant `ID` [$XV_TENANT]"},
			formatFlag(),
		},
		Commands: []*cli.Command{
			login.NewCmd(f),
			status.NewCmd(f),
			monitor.NewCmd(f),
			tenant.NewCmd(f),
			token.NewCmd(f),
			credential.NewCmd(f),
			source.NewCmd(f),
			storage.NewCmd(f),
			backup.NewCmd(f),
			job.NewCmd(f),
			snapshot.NewCmd(f),
			schedule.NewCmd(f),
			webhook.NewCmd(f),
			retention.NewCmd(f),
			agent.NewCmd(f),
			audit.NewCmd(f),
			restore.NewCmd(f),
			settings.NewCmd(f),
			archive.NewCmd(f),
		},
	}
	app.Commands = append(app.Commands, newCompletionCmd(f, app)) // xv completion bash|zsh|fish
	app.EnableBashCompletion = true
	app.OnUsageError = onUsageError
	app.Action = func(c *cli.Context) error {
		if c.Args().Present() {
			return cmdutil.UsageErrorf("unknown command %q (see 'xv --help')", c.Args().First())
		}
		return cli.ShowAppHelp(c)
	}
	for _, cmd := range app.Commands {
		prepare(cmd)
	}
	return app
}

func formatFlag() cli.Flag {
	return &cli.StringFlag{Name: "format", Aliases: []string{"o"}, Value: "table", Usage: "output `FORMAT`: table or json"}
}

// prepare gives every command the shared usage-error handling and every leaf
// the -o flag (and, hidden, --hub and --token), so global flags also work
// after the command name.
func prepare(cmd *cli.Command) {
	cmd.OnUsageError = onUsageError
	cmd.HideHelpCommand = true
	if len(cmd.Subcommands) == 0 && hasFlag(cmd.Flags, "format") {
		// The command's own --format (xv snapshot restore): -o is --output-format.
		cmd.Flags = append(cmd.Flags, &cli.StringFlag{Name: cmdutil.OutputFormatFlag, Aliases: []string{"o"}, Value: "table",
			Usage: "output `FORMAT`: table or json"})
	} else if len(cmd.Subcommands) == 0 {
		cmd.Flags = append(cmd.Flags, formatFlag())
		for _, name := range []string{"hub", "token"} {
			if !hasFlag(cmd.Flags, name) {
				cmd.Flags = append(cmd.Flags, &cli.StringFlag{Name: name, Hidden: true})
			}
		}
	}
	for _, sub := range cmd.Subcommands {
		prepare(sub)
	}
}

func hasFlag(flags []cli.Flag, name string) bool {
	for _, f := range flags {
		for _, n := range f.Names() {
			if n == name {
				return true
			}
		}
	}
	return false
}

func onUsageError(c *cli.Context, err error, _ bool) error {
	name := "xv"
	if c.Command != nil && c.Command.HelpName != "" {
		name = c.Command.HelpName
	}
	return cmdutil.WithHint(&cmdutil.UsageError{Err: err}, "see '%s --help'", name)
}

// Run runs xv with args (args[0] is the program name) and returns the exit
// status. Errors are reported on stderr as one line, plus a hint line when
// there is something to do about them.
func Run(ctx context.Context, f *cmdutil.Factory, args []string) int {
	err := runApp(ctx, f, args)
	err = f.Explain(err)
	if err == nil {
		return cmdutil.ExitOK
	}
	code := cmdutil.ExitCode(err)
	msg := err.Error()
	if ctx.Err() != nil || code == cmdutil.ExitInterrupted {
		code, msg = cmdutil.ExitInterrupted, "interrupted"
	}
	fmt.Fprintf(f.IO.ErrOut, "xv: %s\n", oneLine(msg))
	if h := cmdutil.Hint(err); h != "" {
		fmt.Fprintf(f.IO.ErrOut, "xv: hint: %s\n", oneLine(h))
	}
	return code
}

// runMu serializes runs: urfave/cli v2 keeps package-level state (its help
// flag, the slice separator), so two apps must not parse at the same time
// (tests run xv in-process, in parallel).
var runMu sync.Mutex

func runApp(ctx context.Context, f *cmdutil.Factory, args []string) error {
	runMu.Lock()
	defer runMu.Unlock()
	app := New(f)
	return app.RunContext(ctx, reorder(app, args))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
