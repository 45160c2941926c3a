package cmdutil

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// Deps is what a running command works with.
type Deps struct {
	IO     *IOStreams
	Client *sdk.Client
	Out    *output.Printer
}

// Deps resolves the printer and the SDK client for a command.
func (f *Factory) Deps(c *cli.Context) (Deps, error) {
	out, err := f.Printer(c)
	if err != nil {
		return Deps{}, err
	}
	client, err := f.Client(c)
	if err != nil {
		return Deps{}, err
	}
	return Deps{IO: f.IO, Client: client, Out: out}, nil
}

// Args checks the positional arguments against their names ("ID") and
// returns them; anything else is a usage error.
func Args(c *cli.Context, names ...string) ([]string, error) {
	got := c.Args().Slice()
	if len(got) != len(names) {
		want := "no arguments"
		if len(names) > 0 {
			want = strings.Join(names, " ")
		}
		return nil, UsageErrorf("%s: want %s, got %d argument(s)", c.Command.HelpName, want, len(got))
	}
	for i, v := range got {
		if strings.TrimSpace(v) == "" {
			return nil, UsageErrorf("%s: %s must not be empty", c.Command.HelpName, names[i])
		}
	}
	return got, nil
}

// TenantFlag is --tenant on tenant-scoped commands.
func TenantFlag() cli.Flag {
	return &cli.StringFlag{Name: "tenant", Usage: "act on tenant `ID` (platform-admin tokens: needed for lists and creates; an object's id names its own) [$XV_TENANT]"}
}

// ListFlags are --limit and --cursor, bound to o.
func ListFlags(o *sdk.ListOptions) []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "limit", Usage: "show at most `N` items (1-500, hub default 100)", Destination: &o.Limit},
		&cli.StringFlag{Name: "cursor", Usage: "continue a previous list from `CURSOR`", Destination: &o.Cursor},
	}
}

// CheckLimit rejects a --limit outside 0..500.
func CheckLimit(o sdk.ListOptions) error {
	if o.Limit < 0 || o.Limit > 500 {
		return UsageErrorf("--limit must be 1-500")
	}
	return nil
}

// NoteMore tells, on stderr, how to get the next page.
func NoteMore(d Deps, next string) {
	if next != "" {
		fmt.Fprintf(d.IO.ErrOut, "more results: add --cursor %s\n", next)
	}
}

// Group makes cmd a command group: run without a subcommand it shows its
// help; with an unknown one it is a usage error.
func Group(cmd *cli.Command) *cli.Command {
	cmd.Action = func(c *cli.Context) error {
		if c.Args().Present() {
			return UsageErrorf("unknown command %q for %q (see '%s --help')", c.Args().First(), c.Command.HelpName, c.Command.HelpName)
		}
		return cli.ShowSubcommandHelp(c)
	}
	return cmd
}

// OneOf checks a flag value against the allowed ones.
func OneOf(flag, value string, allowed ...string) error {
	for _, a := range allowed {
		if value == a {
			return nil
		}
	}
	return UsageErrorf("--%s: %q is not one of %s", flag, value, strings.Join(allowed, ", "))
}

// PrintDeleted reports a deletion: {"id","deleted":true} with -o json, a
// sentence otherwise.
func PrintDeleted(d Deps, kind, id string) error {
	if d.Out.JSON() {
		return d.Out.PrintJSON(map[string]any{"id": id, "deleted": true})
	}
	_, err := fmt.Fprintf(d.Out.Out, "Deleted %s %s.\n", kind, id)
	return err
}

// IDOptions are the options of a command that acts on one object by id.
type IDOptions struct {
	Deps
	ID string
}

// WithID takes the single ID argument, resolves the command's dependencies
// and calls run.
func WithID(c *cli.Context, f *Factory, opts *IDOptions, run func(context.Context, *IDOptions) error) error {
	args, err := Args(c, "ID")
	if err != nil {
		return err
	}
	opts.ID = args[0]
	if opts.Deps, err = f.Deps(c); err != nil {
		return err
	}
	return run(c.Context, opts)
}

// StartList does what every list command does first: it refuses arguments,
// checks --limit and resolves the command's dependencies into deps.
func StartList(c *cli.Context, f *Factory, list sdk.ListOptions, deps *Deps) error {
	if _, err := Args(c); err != nil {
		return err
	}
	if err := CheckLimit(list); err != nil {
		return err
	}
	var err error
	*deps, err = f.Deps(c)
	return err
}
