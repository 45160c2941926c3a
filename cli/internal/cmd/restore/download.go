package restore

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

type downloadOptions struct {
	cmdutil.Deps
	ID, Output, ExtractTo string
	fetch                 *fetcher
}

func newDownloadCmd(f *cmdutil.Factory) *cli.Command {
	opts := &downloadOptions{}
	return &cli.Command{
		Name:  "download",
		Usage: "Download a ready restore (resumable) and optionally unpack it",
		UsageText: `xv restore download ID [--output FILE | --extract-to DIR] [--tenant ID]

Downloads from the agent that published the restore, or, for a restore
written to a bucket, with its presigned URL. An interrupted download leaves
FILE.partial; running the command again resumes it (HTTP Range). The byte
count is checked against the hub's record.

Examples:
   xv restore download rst_01J... --output site.zip
   xv restore download rst_01J... --extract-to ./site`,
		Flags: []cli.Flag{
			cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "output", Usage: "write the download to `FILE` (default restore-ID.FORMAT)", Destination: &opts.Output},
			&cli.StringFlag{Name: "extract-to", Usage: "unpack into `DIR` instead of keeping the file", Destination: &opts.ExtractTo},
		},
		Action: func(c *cli.Context) error {
			args, err := cmdutil.Args(c, "ID")
			if err != nil {
				return err
			}
			if opts.Output != "" && opts.ExtractTo != "" {
				return cmdutil.UsageErrorf("--output and --extract-to exclude each other")
			}
			opts.ID = args[0]
			if opts.Deps, err = f.Deps(c); err != nil {
				return err
			}
			opts.fetch = newFetcher(f, opts.Deps)
			return downloadRun(c.Context, opts)
		},
	}
}

func newFetcher(f *cmdutil.Factory, d cmdutil.Deps) *fetcher {
	hc := f.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &fetcher{d: d, hc: hc, progress: f.IO.StderrIsTTY()}
}

func downloadRun(ctx context.Context, opts *downloadOptions) error {
	r, err := opts.Client.GetRestore(ctx, opts.ID)
	if err != nil {
		return err
	}
	return save(ctx, opts.Deps, opts.fetch, r, opts.Output, opts.ExtractTo)
}

// save downloads a ready restore to a file or unpacks it, saying so on stderr.
func save(ctx context.Context, d cmdutil.Deps, f *fetcher, r *sdk.Restore, out, dir string) error {
	start := time.Now()
	if dir != "" {
		st, err := f.extractTo(ctx, r, dir)
		if err != nil {
			return err
		}
		fmt.Fprintf(d.IO.ErrOut, "Extracted %s entries (%s files, %s) into %s in %s.\n", output.Count(st.Entries),
			output.Count(st.Files), output.Bytes(st.Bytes), dir, output.Duration(time.Since(start)))
		return nil
	}
	if out == "" {
		out = "restore-" + r.ID + "." + string(r.Format)
	}
	if err := f.download(ctx, r, out); err != nil {
		return err
	}
	fmt.Fprintf(d.IO.ErrOut, "Downloaded %s to %s in %s.\n", output.Bytes(r.SizeBytes), out, output.Duration(time.Since(start)))
	return nil
}
