// Package agent implements `xv agent`: enrollment tokens and the enrolled
// agents: list, show, drain and undrain (platform admin).
package agent

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv agent`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:  "agent",
		Usage: "Manage agents (list, show, drain, undrain) and their enrollment tokens (platform admin)",
		Subcommands: []*cli.Command{
			cmdutil.Group(&cli.Command{
				Name:        "enroll-token",
				Usage:       "Make and list the tokens agents enroll with",
				Subcommands: []*cli.Command{newTokenCreateCmd(f), newTokenListCmd(f)},
			}),
			newListCmd(f), newShowCmd(f), newDrainCmd(f, true), newDrainCmd(f, false),
		},
	})
}

type tokenCreateOptions struct {
	cmdutil.Deps
	Req     sdk.CreateEnrollmentTokenRequest
	Expires time.Duration
}

func newTokenCreateCmd(f *cmdutil.Factory) *cli.Command {
	opts := &tokenCreateOptions{}
	return &cli.Command{
		Name:  "create",
		Usage: "Make an enrollment token; the secret is shown only once",
		UsageText: `xv agent enroll-token create [--expires 24h] [--uses 1] [--name N]

In table mode only the token goes to stdout; give it to the new agent:

   agentd --hub URL --enroll-token TOKEN

Examples:
   xv agent enroll-token create --name backup-host-2
   xv agent enroll-token create --uses 5 --expires 72h -o json`,
		Flags: []cli.Flag{
			&cli.DurationFlag{Name: "expires", Value: 24 * time.Hour, Usage: "the token expires after `DURATION` (max 720h)", Destination: &opts.Expires},
			&cli.IntFlag{Name: "uses", Value: 1, Usage: "how many agents may enroll with it (`N`)", Destination: &opts.Req.Uses},
			&cli.StringFlag{Name: "name", Usage: "a `NAME` to recognise the token by", Destination: &opts.Req.Name},
		},
		Action: func(c *cli.Context) error {
			if _, err := cmdutil.Args(c); err != nil {
				return err
			}
			if opts.Expires <= 0 {
				return cmdutil.UsageErrorf("--expires must be positive")
			}
			if opts.Req.Uses < 1 {
				return cmdutil.UsageErrorf("--uses must be at least 1")
			}
			opts.Req.ExpiresIn = opts.Expires.String()
			var err error
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			return tokenCreateRun(c.Context, opts)
		},
	}
}

func tokenCreateRun(ctx context.Context, opts *tokenCreateOptions) error {
	t, err := opts.Client.CreateEnrollmentToken(ctx, opts.Req)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.ErrOut, "Created enrollment token %s (%d use(s), expires %s).\n", t.ID, t.MaxUses, opts.Out.When(t.ExpiresAt))
	fmt.Fprintln(opts.IO.ErrOut, "warning: the token is shown only this once; start the agent with: agentd --hub URL --enroll-token TOKEN")
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(t)
	}
	_, err = fmt.Fprintln(opts.Out.Out, t.Token)
	return err
}

type listOptions struct {
	cmdutil.Deps
	List sdk.ListOptions
}

func newTokenListCmd(f *cmdutil.Factory) *cli.Command {
	opts := &listOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "List enrollment tokens (never their secrets)",
		UsageText: `xv agent enroll-token list [--limit N] [--cursor C]

Examples:
   xv agent enroll-token list`,
		Flags: cmdutil.ListFlags(&opts.List),
		Action: func(c *cli.Context) error {
			return list(c, f, opts, tokenListRun)
		},
	}
}

func list(c *cli.Context, f *cmdutil.Factory, opts *listOptions, run func(context.Context, *listOptions) error) error {
	if err := cmdutil.StartList(c, f, opts.List, &opts.Deps); err != nil {
		return err
	}
	return run(c.Context, opts)
}

func tokenListRun(ctx context.Context, opts *listOptions) error {
	page, err := opts.Client.ListEnrollmentTokens(ctx, opts.List)
	if err != nil {
		return err
	}
	cmdutil.NoteMore(opts.Deps, page.NextCursor)
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(output.Items(page.Items))
	}
	t := opts.Out.Table("ID", "NAME", "USES", "EXPIRES", "REVOKED", "CREATED")
	for _, x := range page.Items {
		t.Row(x.ID, x.Name, fmt.Sprintf("%d/%d", x.Uses, x.MaxUses), opts.Out.Ago(x.ExpiresAt),
			opts.Out.AgoPtr(x.RevokedAt), opts.Out.Ago(x.CreatedAt))
	}
	return t.Flush()
}

func newListCmd(f *cmdutil.Factory) *cli.Command {
	opts := &listOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "List enrolled agents",
		UsageText: `xv agent list [--limit N] [--cursor C]

Examples:
   xv agent list
   xv agent list -o json | jq -r '.[] | select(.status == "online") | .name'`,
		Flags: cmdutil.ListFlags(&opts.List),
		Action: func(c *cli.Context) error {
			return list(c, f, opts, listRun)
		},
	}
}

func listRun(ctx context.Context, opts *listOptions) error {
	page, err := opts.Client.ListAgents(ctx, opts.List)
	if err != nil {
		return err
	}
	cmdutil.NoteMore(opts.Deps, page.NextCursor)
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(output.Items(page.Items))
	}
	t := opts.Out.Table("ID", "NAME", "STATUS", "VERSION", "LAST SEEN", "STORAGE")
	for _, a := range page.Items {
		t.Row(a.ID, a.Name, string(a.Status), a.Version, opts.Out.AgoPtr(a.LastSeenAt), a.StorageBasePath)
	}
	return t.Flush()
}

func newShowCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:      "show",
		Usage:     "Show one agent",
		UsageText: "xv agent show ID\n\nExamples:\n   xv agent show agt_01J...",
		Action:    func(c *cli.Context) error { return cmdutil.WithID(c, f, opts, showRun) },
	}
}

func showRun(ctx context.Context, opts *cmdutil.IDOptions) error {
	a, err := opts.Client.GetAgent(ctx, opts.ID)
	if err != nil {
		return err
	}
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(a)
	}
	fl := opts.Out.Fields()
	fl.Add("ID", a.ID)
	fl.Add("Name", a.Name)
	fl.Add("Status", string(a.Status))
	fl.Add("Drained", fmt.Sprint(a.Draining))
	fl.Add("Version", a.Version)
	fl.Add("Running jobs", fmt.Sprint(a.RunningJobs))
	fl.Add("Public key", a.PublicKey)
	fl.Add("Storage", a.StorageBasePath)
	fl.Add("Free disk", FreeDisk(a))
	fl.Add("Capabilities", strings.Join(a.Capabilities, ", "))
	fl.Add("Last seen", opts.Out.WhenPtr(a.LastSeenAt))
	fl.Add("Enrolled", opts.Out.When(a.CreatedAt))
	return fl.Flush()
}

// FreeDisk is an agent's free storage for humans: "40.0 GiB of 100.0 GiB
// (40%)", "unknown" before it reports it.
func FreeDisk(a *sdk.Agent) string {
	if a.StorageFreeBytes == nil {
		return "unknown"
	}
	if a.StorageTotalBytes == nil || *a.StorageTotalBytes <= 0 {
		return output.Bytes(*a.StorageFreeBytes)
	}
	pct := float64(*a.StorageFreeBytes) * 100 / float64(*a.StorageTotalBytes)
	return fmt.Sprintf("%s of %s (%.0f%%)", output.Bytes(*a.StorageFreeBytes), output.Bytes(*a.StorageTotalBytes), pct)
}

// newDrainCmd is `xv agent drain` (drain) or `xv agent undrain`.
func newDrainCmd(f *cmdutil.Factory, drain bool) *cli.Command {
	opts := &cmdutil.IDOptions{}
	name, usage := "drain", "Stop an agent claiming new jobs; its running jobs finish"
	if !drain {
		name, usage = "undrain", "Let a drained agent claim jobs again"
	}
	return &cli.Command{
		Name:  name,
		Usage: usage,
		UsageText: fmt.Sprintf(`xv agent %[1]s ID

Examples:
   xv agent %[1]s agt_01J...
   xv agent %[1]s agt_01J... -o json | jq .running_jobs`, name),
		Action: func(c *cli.Context) error {
			return cmdutil.WithID(c, f, opts, func(ctx context.Context, o *cmdutil.IDOptions) error {
				return drainRun(ctx, o, drain)
			})
		},
	}
}

func drainRun(ctx context.Context, opts *cmdutil.IDOptions, drain bool) error {
	act, done := opts.Client.UndrainAgent, "Undrained"
	if drain {
		act, done = opts.Client.DrainAgent, "Drained"
	}
	a, err := act(ctx, opts.ID)
	if err != nil {
		return err
	}
	if drain {
		fmt.Fprintf(opts.IO.ErrOut, "%s agent %s: it claims no new jobs; %d running job(s) finish.\n", done, a.ID, a.RunningJobs)
	} else {
		fmt.Fprintf(opts.IO.ErrOut, "%s agent %s: it claims jobs again.\n", done, a.ID)
	}
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(a)
	}
	fl := opts.Out.Fields()
	fl.Add("ID", a.ID)
	fl.Add("Name", a.Name)
	fl.Add("Status", string(a.Status))
	fl.Add("Running jobs", fmt.Sprint(a.RunningJobs))
	return fl.Flush()
}
