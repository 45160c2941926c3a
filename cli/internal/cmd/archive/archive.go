// Package archive implements `xv archive verify` and `xv archive extract`:
// offline checks and disaster recovery on an artifact file, without a hub.
package archive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"filippo.io/age"
	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/extract"
	"github.com/xvault/xvault/cli/internal/output"
	sdkarchive "github.com/xvault/xvault/sdk/archive"
)

// NewCmd returns `xv archive`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:        "archive",
		Usage:       "Verify or extract an artifact file offline (no hub needed)",
		Subcommands: []*cli.Command{newVerifyCmd(f), newExtractCmd(f)},
	})
}

type verifyOptions struct {
	File, SHA256, Identity string
}

func newVerifyCmd(f *cmdutil.Factory) *cli.Command {
	opts := &verifyOptions{}
	return &cli.Command{
		Name:  "verify",
		Usage: "Check that an artifact is a complete age file with the expected sha256",
		UsageText: `xv archive verify FILE [--sha256 HEX] [--identity KEYFILE]

Without --identity it reads the age header and hashes the whole file; with the
tenant's identity ('xv tenant key export') it also decrypts and walks every
entry: age, zstd and tar must all end cleanly. Exit status 1 on any problem.

Examples:
   xv archive verify backup.tar.zst.age --sha256 "$(xv snapshot show SNAP -o json | jq -r .sha256)"
   xv archive verify backup.tar.zst.age --identity tenant.key`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "sha256", Usage: "expected sha256 `HEX` of the file (xv snapshot show)", Destination: &opts.SHA256},
			&cli.StringFlag{Name: "identity", Usage: "tenant identity `KEYFILE` (AGE-SECRET-KEY-1…)", Destination: &opts.Identity},
		},
		Action: func(c *cli.Context) error {
			args, err := cmdutil.Args(c, "FILE")
			if err != nil {
				return err
			}
			opts.File = args[0]
			out, err := f.Printer(c)
			if err != nil {
				return err
			}
			return verifyRun(c.Context, out, opts)
		},
	}
}

func verifyRun(ctx context.Context, out *output.Printer, opts *verifyOptions) error {
	var id age.Identity
	if opts.Identity != "" {
		var err error
		if id, err = readIdentity(opts.Identity); err != nil {
			return err
		}
	}
	in, err := os.Open(opts.File)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	res, err := sdkarchive.VerifyFile(ctx, bufio.NewReaderSize(in, 1<<20), id, opts.SHA256)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.File, err)
	}
	if out.JSON() {
		return out.PrintJSON(map[string]any{"file": opts.File, "ok": true, "sha256": res.SHA256,
			"size_bytes": res.StoredBytes, "entries": res.Entries, "files": res.Files, "plain_bytes": res.PlainBytes,
			"decrypted": id != nil, "sha256_checked": opts.SHA256 != ""})
	}
	fl := out.Fields()
	fl.Add("File", opts.File)
	fl.Add("Status", "ok")
	fl.Add("SHA256", res.SHA256)
	fl.Add("Size", fmt.Sprintf("%s (%d bytes)", output.Bytes(res.StoredBytes), res.StoredBytes))
	if id != nil {
		fl.Add("Entries", output.Count(res.Entries))
		fl.Add("Files", fmt.Sprintf("%s (%s)", output.Count(res.Files), output.Bytes(res.PlainBytes)))
	}
	return fl.Flush()
}

type extractOptions struct {
	Files        []string
	Identity, To string
	SHA256s      []string // none, or one per file in the order of Files
	Paths        []string
}

func newExtractCmd(f *cmdutil.Factory) *cli.Command {
	opts := &extractOptions{}
	var paths, sums cli.StringSlice
	return &cli.Command{
		Name:  "extract",
		Usage: "Decrypt and unpack an artifact (or an incremental's chain) with the tenant's exported key (disaster recovery)",
		UsageText: `xv archive extract FILE... --identity KEYFILE --to DIR [--path P]... [--sha256 HEX]...

Refuses entries that would land outside DIR and never writes through a
symlink. Entries are written as they are read: if the artifact turns out to
be damaged, the command fails and DIR holds what came before the damage.

An incremental snapshot holds only what changed since its parent: pass the
artifacts of its whole chain, down to its full, in any order ('xv snapshot
show SNAP' lists them); they are assembled into the snapshot's tree. With
several files, give --sha256 once per FILE, in the same order, or not at all.

Examples:
   xv archive extract backup.tar.zst.age --identity tenant.key --to ./restore
   xv archive extract backup.tar.zst.age --identity tenant.key --to ./etc --path etc/nginx
   xv archive extract snp_c.age snp_b.age snp_a.age --identity tenant.key --to ./restore`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "identity", Required: true, Usage: "tenant identity `KEYFILE` ('xv tenant key export')", Destination: &opts.Identity},
			&cli.StringFlag{Name: "to", Required: true, Usage: "unpack into `DIR`", Destination: &opts.To},
			&cli.StringSliceFlag{Name: "path", Usage: "only `PATH` and what lies below it (repeatable)", Destination: &paths},
			&cli.StringSliceFlag{Name: "sha256", Usage: "expected sha256 `HEX` of the file (one per FILE); checked at the end", Destination: &sums},
		},
		Action: func(c *cli.Context) error {
			opts.Files = c.Args().Slice()
			if len(opts.Files) == 0 {
				return cmdutil.UsageErrorf("%s: want FILE..., got 0 arguments", c.Command.HelpName)
			}
			opts.SHA256s = sums.Value()
			if len(opts.SHA256s) > 0 && len(opts.SHA256s) != len(opts.Files) {
				return cmdutil.UsageErrorf("--sha256 given %d time(s) for %d file(s): give it once per FILE, in the same order", len(opts.SHA256s), len(opts.Files))
			}
			for _, p := range paths.Value() {
				clean := strings.TrimPrefix(path.Clean("/"+p), "/")
				if sdkarchive.ValidName(clean) != nil {
					return cmdutil.UsageErrorf("--path %q is not a path inside the archive", p)
				}
				opts.Paths = append(opts.Paths, clean)
			}
			return extractRun(f, opts)
		},
	}
}

func extractRun(f *cmdutil.Factory, opts *extractOptions) error {
	id, err := readIdentity(opts.Identity)
	if err != nil {
		return err
	}
	var src extract.Source
	what := opts.Files[0]
	if len(opts.Files) == 1 {
		in, err := os.Open(opts.Files[0])
		if err != nil {
			return err
		}
		defer func() { _ = in.Close() }()
		sum := ""
		if len(opts.SHA256s) == 1 {
			sum = opts.SHA256s[0]
		}
		rd, err := sdkarchive.NewReader(bufio.NewReaderSize(in, 1<<20), id, sdkarchive.ReadOptions{ExpectedSHA256: sum})
		if err != nil {
			return cmdutil.WithHint(fmt.Errorf("%s: %w", opts.Files[0], err), "is KEYFILE the identity of this artifact's tenant?")
		}
		defer func() { _ = rd.Close() }()
		src = rd
	} else {
		chain, err := openChain(opts, id)
		if err != nil {
			return err
		}
		defer func() { _ = chain.Close() }()
		src, what = chain, fmt.Sprintf("the chain of %d artifacts", len(opts.Files))
	}
	st, err := extract.Extract(src, opts.To, extract.Options{Paths: opts.Paths, Warn: func(name, why string) {
		fmt.Fprintf(f.IO.ErrOut, "skipped %s: %s\n", name, why)
	}})
	if hinted := incrementalHint(opts.Files[0], err); hinted != nil {
		return hinted
	}
	if err != nil {
		return fmt.Errorf("extract %s into %s (incomplete): %w", what, opts.To, err)
	}
	checked := "the artifact checked out"
	if len(opts.Files) > 1 {
		checked = "every artifact checked out"
	}
	fmt.Fprintf(f.IO.ErrOut, "Extracted %s entries (%s files, %s) into %s; %s.\n",
		output.Count(st.Entries), output.Count(st.Files), output.Bytes(st.Bytes), opts.To, checked)
	return nil
}

func readIdentity(file string) (age.Identity, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	ids, err := age.ParseIdentities(strings.NewReader(string(b)))
	clear(b)
	if err != nil || len(ids) == 0 {
		return nil, cmdutil.WithHint(errors.New("no age identity in "+file), "export it with 'xv tenant key export TENANT --output FILE'")
	}
	return ids[0], nil
}
