package snapshot

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

type verifyOptions struct {
	cmdutil.Deps
	ID       string
	Wait     bool
	Interval time.Duration
}

func newVerifyCmd(f *cmdutil.Factory) *cli.Command {
	opts := &verifyOptions{}
	return &cli.Command{
		Name:  "verify",
		Usage: "Prove a snapshot would restore: check the artifact and load its databases into a scratch server",
		UsageText: `xv snapshot verify ID [--wait] [--tenant ID]

Runs a verify job on the agent holding the snapshot. It streams the artifact
through the checking reader (the sha256 recorded at backup, every age chunk,
every zstd frame, every tar header). Each database dump is loaded into a
throwaway database on the agent's scratch server (agentd --scratch-mysql,
--scratch-postgres), its row counts are compared with those recorded at dump
time, and the throwaway database is dropped. Without a scratch server a dump
is checked structurally (complete, trailer present), and the result says so.

The verdict is recorded on the snapshot (xv snapshot show, list):
   ok        the snapshot restores
   failed    the artifact is intact but a dump did not load or its row counts differ
   corrupt   the artifact is damaged or missing; it is not offered for restores without --force

With --wait xv waits for the verdict and exits 0 for ok, 4 otherwise.

Examples:
   xv snapshot verify snap_01J... --wait
   xv snapshot verify snap_01J... --wait -o json | jq -r .status`,
		Flags: []cli.Flag{
			cmdutil.TenantFlag(),
			&cli.BoolFlag{Name: "wait", Aliases: []string{"w"}, Usage: "wait for the verdict", Destination: &opts.Wait},
			&cli.DurationFlag{Name: "poll-interval", Value: time.Second, Usage: "with --wait, check every `DURATION`", Destination: &opts.Interval},
		},
		Action: func(c *cli.Context) error {
			args, err := cmdutil.Args(c, "ID")
			if err != nil {
				return err
			}
			if opts.Interval <= 0 {
				return cmdutil.UsageErrorf("--poll-interval must be positive")
			}
			opts.ID = args[0]
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			return verifyRun(c.Context, opts)
		},
	}
}

func verifyRun(ctx context.Context, opts *verifyOptions) error {
	j, created, err := opts.Client.VerifySnapshot(ctx, opts.ID)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(opts.IO.ErrOut, "Verifying snapshot %s (job %s)…\n", opts.ID, j.ID)
	} else {
		fmt.Fprintf(opts.IO.ErrOut, "Snapshot %s is already being verified (job %s).\n", opts.ID, j.ID)
	}
	if !opts.Wait {
		if opts.Out.JSON() {
			return opts.Out.PrintJSON(j)
		}
		fmt.Fprintf(opts.IO.Out, "%s\n", j.ID)
		return nil
	}
	final, err := cmdutil.WaitJob(ctx, opts.Client, j.ID, cmdutil.WaitOptions{Events: opts.Client.Events, Interval: opts.Interval})
	if err != nil {
		return fmt.Errorf("wait for verify job %s: %w", j.ID, err)
	}
	if final.Status != sdk.JobCompleted || final.Verify == nil {
		return &cmdutil.JobFailedError{Job: final}
	}
	rep := final.Verify
	if opts.Out.JSON() {
		if err := opts.Out.PrintJSON(rep); err != nil {
			return err
		}
	} else if err := printVerify(opts.Deps, rep); err != nil {
		return err
	}
	if rep.Status != sdk.VerifyOK {
		final.Status, final.ErrorMessage = sdk.JobFailed, fmt.Sprintf("snapshot %s is %s: %s", opts.ID, rep.Status, rep.Message)
		return &cmdutil.JobFailedError{Job: final}
	}
	return nil
}

// printVerify prints a verdict and, per database, what was checked.
func printVerify(d cmdutil.Deps, rep *sdk.VerifyReport) error {
	fmt.Fprintf(d.IO.Out, "Verdict: %s — %s\n", rep.Status, rep.Message)
	if len(rep.Databases) == 0 {
		return nil
	}
	t := d.Out.Table("DATABASE", "ENGINE", "CHECK", "RESULT", "TABLES", "ROWS", "SECONDS", "DETAIL")
	for _, db := range rep.Databases {
		res := "ok"
		if !db.OK {
			res = "FAILED"
		}
		var rows int64
		detail := db.Error
		for _, tb := range db.Tables {
			rows += tb.Loaded
			if tb.Loaded != tb.Expected && len(detail) < 300 {
				detail += fmt.Sprintf(" %s: %d recorded, %d loaded;", tb.Name, tb.Expected, tb.Loaded)
			}
		}
		tables, rowText := "-", "-"
		if db.Mode == sdk.VerifyModeLoad {
			tables, rowText = fmt.Sprint(len(db.Tables)), fmt.Sprint(rows)
		}
		t.Row(db.Name, db.Engine, db.Mode, res, tables, rowText, fmt.Sprintf("%.1f", db.Seconds), detail)
	}
	return t.Flush()
}
