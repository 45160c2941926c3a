// Package retention implements `xv retention`: show, set, preview, run
// and simulate retention policies.
package retention

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv retention`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:  "retention",
		Usage: "Show, set, preview, run and simulate retention policies (see docs/retention.md)",
		Subcommands: []*cli.Command{newShowCmd(f), newSetCmd(f), newPreviewCmd(f), newRunCmd(f),
			newSimulateCmd(f)},
	})
}

func newShowCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name: "show", Usage: "Show a source's retention policy",
		UsageText: "xv retention show SOURCE_ID [--tenant ID]",
		Flags:     []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error {
			return cmdutil.WithID(c, f, opts, func(ctx context.Context, o *cmdutil.IDOptions) error {
				r, err := o.Client.GetRetention(ctx, o.ID)
				if err != nil {
					return err
				}
				return printRetention(o.Deps, r)
			})
		},
	}
}

func printRetention(d cmdutil.Deps, r *sdk.SourceRetention) error {
	if d.Out.JSON() {
		return d.Out.PrintJSON(r)
	}
	fl := d.Out.Fields()
	fl.Add("Source", r.SourceID)
	fl.Add("Policy", FormatPolicy(r.Policy))
	fl.Add("Time zone", r.Timezone)
	fl.Add("Updated", d.Out.WhenPtr(r.UpdatedAt))
	return fl.Flush()
}

type setOptions struct {
	cmdutil.IDOptions
	Policy  PolicyFlags
	KeepAll bool
}

func newSetCmd(f *cmdutil.Factory) *cli.Command {
	opts := &setOptions{}
	return &cli.Command{
		Name: "set", Usage: "Replace a source's retention policy",
		UsageText: `xv retention set SOURCE_ID [retention flags] | --keep-all [--tenant ID]

The flags given make the whole new policy. Try it first with 'xv retention preview'.

Examples:
   xv retention set src_01J... --keep-daily 7 --keep-weekly 4 --keep-monthly 12 --min-age 24h
   xv retention set src_01J... --keep-last 2
   xv retention set src_01J... --keep-all`,
		Flags: append([]cli.Flag{cmdutil.TenantFlag(),
			&cli.BoolFlag{Name: "keep-all", Usage: "clear the policy: keep every snapshot", Destination: &opts.KeepAll},
		}, opts.Policy.Flags()...),
		Action: func(c *cli.Context) error {
			switch {
			case opts.KeepAll && opts.Policy.Set(c):
				return cmdutil.UsageErrorf("--keep-all cannot be combined with other retention flags")
			case !opts.KeepAll && !opts.Policy.Set(c):
				return cmdutil.UsageErrorf("give at least one retention flag, or --keep-all to keep everything")
			}
			p, err := opts.Policy.Policy()
			if err != nil {
				return err
			}
			return cmdutil.WithID(c, f, &opts.IDOptions, func(ctx context.Context, o *cmdutil.IDOptions) error {
				r, err := o.Client.SetRetention(ctx, o.ID, p)
				if err != nil {
					return err
				}
				return printRetention(o.Deps, r)
			})
		},
	}
}

func newPreviewCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name: "preview", Usage: "Show what the source's policy would keep and delete now, and why",
		UsageText: `xv retention preview SOURCE_ID [--tenant ID]

Examples:
   xv retention preview src_01J...
   xv retention preview src_01J... -o json | jq -r '.[] | select(.keep|not) | .id'`,
		Flags: []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error {
			return cmdutil.WithID(c, f, opts, func(ctx context.Context, o *cmdutil.IDOptions) error {
				r, err := o.Client.PreviewRetention(ctx, o.ID)
				if err != nil {
					return err
				}
				return PrintDecisions(o.Deps, r.Decisions, location(r.Timezone))
			})
		},
	}
}

func location(tz string) *time.Location {
	if loc, err := time.LoadLocation(tz); err == nil {
		return loc
	}
	return time.UTC
}

func newRunCmd(f *cmdutil.Factory) *cli.Command {
	return &cli.Command{
		Name: "run", Usage: "Apply retention now: every source's policy, or one source's (platform admin)",
		UsageText: `xv retention run [SOURCE_ID]

Snapshots the policy does not keep are marked deleting and removed by the
agent that holds them; 'xv job list --type delete_snapshot' shows the jobs.`,
		Action: func(c *cli.Context) error {
			if c.NArg() > 1 {
				return cmdutil.UsageErrorf("takes at most one argument, SOURCE_ID")
			}
			d, err := f.Deps(c)
			if err != nil {
				return err
			}
			res, err := d.Client.RunRetention(c.Context, c.Args().First())
			if err != nil {
				return err
			}
			if d.Out.JSON() {
				return d.Out.PrintJSON(res)
			}
			t := d.Out.Table("SOURCE", "SNAPSHOTS", "KEEP", "DELETE", "JOBS", "ERROR")
			for _, r := range res.Results {
				t.Row(r.SourceID, fmt.Sprint(r.TotalSnapshots), fmt.Sprint(r.ToKeep), fmt.Sprint(r.ToDelete),
					fmt.Sprint(r.JobsEnqueued), r.Error)
			}
			s := res.Summary
			t.Row(fmt.Sprintf("total (%d sources)", s.SourcesEvaluated), fmt.Sprint(s.TotalSnapshots),
				fmt.Sprint(s.TotalToKeep), fmt.Sprint(s.TotalToDelete), fmt.Sprint(s.JobsEnqueued), "")
			return t.Flush()
		},
	}
}

type simulateOptions struct {
	Policy     PolicyFlags
	Timezone   string
	Now        string
	Timestamps string
	Verify     bool
}

func newSimulateCmd(f *cmdutil.Factory) *cli.Command {
	opts := &simulateOptions{}
	return &cli.Command{
		Name: "simulate", Usage: "Run a policy on given times, touching nothing",
		UsageText: `xv retention simulate [retention flags] [--timezone TZ] [--now T] --timestamps FILE

FILE ('-' = stdin) holds one RFC 3339 time per line, optionally followed by
the snapshot's last verification (ok, failed or corrupt) to try the
verification rule, and by parent=N to make it an incremental of the snapshot
on line N (its chain is then kept with it; --verify: the source has verify
drills, so an old chain stays until the newest full is verified ok); blank
lines and lines starting with # are skipped.

Examples:
   xv retention simulate --keep-daily 7 --keep-weekly 4 --timezone Europe/Berlin --timestamps times.txt
   seq 0 59 | xargs -I{} date -u -d '-{} days' +%FT%TZ | xv retention simulate --keep-weekly 4 --timestamps -`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "timezone", Usage: "IANA `TZ` the buckets are cut in (default UTC)", Destination: &opts.Timezone},
			&cli.StringFlag{Name: "now", Usage: "evaluate at `T` (RFC 3339; default now)", Destination: &opts.Now},
			&cli.StringFlag{Name: "timestamps", Usage: "`FILE` of RFC 3339 times, one a line ('-' = stdin)", Destination: &opts.Timestamps},
			&cli.BoolFlag{Name: "verify", Usage: "the source has verify drills (keeps an old chain until the new full is verified ok)",
				Destination: &opts.Verify},
		}, opts.Policy.Flags()...),
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return cmdutil.UsageErrorf("takes no arguments; give the times with --timestamps FILE")
			}
			req, err := opts.request(f.IO.In)
			if err != nil {
				return err
			}
			d, err := f.Deps(c)
			if err != nil {
				return err
			}
			res, err := d.Client.SimulateRetention(c.Context, *req)
			if err != nil {
				return err
			}
			return PrintDecisions(d, res.Decisions, location(res.Timezone))
		},
	}
}

func (o *simulateOptions) request(stdin io.Reader) (*sdk.SimulateRetentionRequest, error) {
	if o.Timestamps == "" {
		return nil, cmdutil.UsageErrorf("--timestamps FILE is required")
	}
	p, err := o.Policy.Policy()
	if err != nil {
		return nil, err
	}
	req := &sdk.SimulateRetentionRequest{Policy: p, Timezone: o.Timezone, Verify: o.Verify}
	if o.Now != "" {
		now, err := time.Parse(time.RFC3339, o.Now)
		if err != nil {
			return nil, cmdutil.UsageErrorf("--now: %q is not an RFC 3339 time such as 2026-11-20T10:00:00Z", o.Now)
		}
		req.Now = &now
	}
	in := stdin
	if o.Timestamps != "-" {
		fh, err := os.Open(o.Timestamps)
		if err != nil {
			return nil, cmdutil.UsageErrorf("--timestamps: %v", err)
		}
		defer fh.Close()
		in = fh
	}
	req.Snapshots, err = readTimes(in)
	return req, err
}

// readTimes reads one RFC 3339 time per line, optionally followed by a
// verify status and parent=<line number> (an incremental of the snapshot on
// that line); ids are the times as written.
func readTimes(r io.Reader) ([]sdk.SimulatedSnapshot, error) {
	var out []sdk.SimulatedSnapshot
	seen := map[string]bool{}
	byLine := map[int]string{} // line number → id
	parents := map[int]int{}   // index in out → parent line number
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, parent, err := parseTimeLine(n, line)
		if err != nil {
			return nil, err
		}
		if seen[s.ID] {
			s.ID = fmt.Sprintf("%s#%d", s.ID, n)
		}
		seen[s.ID], byLine[n] = true, s.ID
		if parent > 0 {
			parents[len(out)] = parent
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read --timestamps: %w", err)
	}
	for i, line := range parents {
		id, ok := byLine[line]
		if !ok || id == out[i].ID {
			return nil, cmdutil.UsageErrorf("--timestamps: parent=%d of %s names no other snapshot line", line, out[i].ID)
		}
		out[i].ParentID = id
	}
	return out, nil
}

// parseTimeLine reads "TIME [ok|failed|corrupt] [parent=N]".
func parseTimeLine(n int, line string) (sdk.SimulatedSnapshot, int, error) {
	words := strings.Fields(line)
	t, err := time.Parse(time.RFC3339, words[0])
	if err != nil {
		return sdk.SimulatedSnapshot{}, 0, cmdutil.UsageErrorf(
			"--timestamps line %d: %q is not an RFC 3339 time such as 2026-11-20T10:00:00Z", n, words[0])
	}
	s, parent := sdk.SimulatedSnapshot{ID: words[0], CreatedAt: t}, 0
	for _, w := range words[1:] {
		switch v, isParent := strings.CutPrefix(w, "parent="); {
		case isParent && parent == 0:
			if parent, err = strconv.Atoi(v); err != nil || parent < 1 {
				return s, 0, cmdutil.UsageErrorf("--timestamps line %d: %q: parent= takes a line number (1, 2, …)", n, w)
			}
		case !isParent && s.VerifyStatus == "" && (w == "ok" || w == "failed" || w == "corrupt"):
			s.VerifyStatus = sdk.VerifyStatus(w)
		case !isParent && s.VerifyStatus == "":
			return s, 0, cmdutil.UsageErrorf("--timestamps line %d: verify status %q must be ok, failed or corrupt", n, w)
		default:
			return s, 0, cmdutil.UsageErrorf(
				"--timestamps line %d: expected a time, at most a verify status (ok, failed, corrupt) and parent=N", n)
		}
	}
	return s, parent, nil
}
