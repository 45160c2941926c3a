// Package snapshot implements `xv snapshot`: list and show the recorded
// backup artifacts.
package snapshot

import (
	"context"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmd/restore"
	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// NewCmd returns `xv snapshot`.
func NewCmd(f *cmdutil.Factory) *cli.Command {
	return cmdutil.Group(&cli.Command{
		Name:        "snapshot",
		Usage:       "List, show and restore snapshots (encrypted backup artifacts)",
		Subcommands: []*cli.Command{newListCmd(f), newShowCmd(f), restore.NewSnapshotRestoreCmd(f), newVerifyCmd(f), newCopyCmd(f), newDeleteCmd(f)},
	})
}

type listOptions struct {
	cmdutil.Deps
	List sdk.SnapshotListOptions
}

func newListCmd(f *cmdutil.Factory) *cli.Command {
	opts := &listOptions{}
	return &cli.Command{
		Name:  "list",
		Usage: "List snapshots, newest first",
		UsageText: `xv snapshot list [--source ID] [--failed-verify] [--limit N] [--cursor C] [--tenant ID]

KIND is full or incr (an incremental: only what changed since its parent;
xv snapshot show lists its chain). VERIFIED is the last verification's
verdict (xv snapshot verify): ok, failed, corrupt, or - when never verified.

Examples:
   xv snapshot list --source src_01J...
   xv snapshot list --failed-verify
   xv snapshot list --source src_01J... --limit 1 -o json | jq -r '.[0].id'`,
		Flags: append([]cli.Flag{
			cmdutil.TenantFlag(),
			&cli.StringFlag{Name: "source", Usage: "only snapshots of source `ID`", Destination: &opts.List.SourceID},
			&cli.BoolFlag{Name: "failed-verify", Usage: "only snapshots whose last verification was failed or corrupt", Destination: &opts.List.FailedVerify},
		}, cmdutil.ListFlags(&opts.List.ListOptions)...),
		Action: func(c *cli.Context) error {
			if err := cmdutil.StartList(c, f, opts.List.ListOptions, &opts.Deps); err != nil {
				return err
			}
			return listRun(c.Context, opts)
		},
	}
}

func listRun(ctx context.Context, opts *listOptions) error {
	page, err := opts.Client.ListSnapshots(ctx, opts.List)
	if err != nil {
		return err
	}
	cmdutil.NoteMore(opts.Deps, page.NextCursor)
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(output.Items(page.Items))
	}
	t := opts.Out.Table("ID", "SOURCE", "KIND", "STATUS", "SIZE", "FILES", "VERIFIED", "AGENT", "CREATED")
	for _, s := range page.Items {
		t.Row(s.ID, s.SourceID, kindShort(s.Kind), string(s.Status), output.Bytes(s.SizeBytes), output.Count(s.FileCount),
			verified(opts.Out, &s), s.AgentID, opts.Out.Ago(s.CreatedAt))
	}
	return t.Flush()
}

func newShowCmd(f *cmdutil.Factory) *cli.Command {
	opts := &cmdutil.IDOptions{}
	return &cli.Command{
		Name:  "show",
		Usage: "Show one snapshot: size, sha256, file count, its chain and where it is stored",
		UsageText: `xv snapshot show ID [--tenant ID]

The artifact is a standard age file; with the tenant's identity
('xv tenant key export') it opens without xVault:

   sha256sum backup.tar.zst.age        # compare with the sha256 shown
   age -d -i key.txt backup.tar.zst.age | zstd -d | tar -x

An incremental holds only what changed since its parent; "Chain" lists the
snapshots a restore of it reads, newest first, down to the full
('xv archive extract' takes their artifacts together).

Examples:
   xv snapshot show snap_01J...
   xv snapshot show snap_01J... -o json | jq -r .local_path`,
		Flags:  []cli.Flag{cmdutil.TenantFlag()},
		Action: func(c *cli.Context) error { return cmdutil.WithID(c, f, opts, showRun) },
	}
}

func showRun(ctx context.Context, opts *cmdutil.IDOptions) error {
	s, err := opts.Client.GetSnapshot(ctx, opts.ID)
	if err != nil {
		return err
	}
	if opts.Out.JSON() {
		return opts.Out.PrintJSON(s)
	}
	fl := opts.Out.Fields()
	fl.Add("ID", s.ID)
	fl.Add("Tenant", s.TenantID)
	fl.Add("Source", s.SourceID)
	fl.Add("Job", s.JobID)
	fl.Add("Status", string(s.Status))
	addChain(ctx, opts, fl, s)
	fl.Add("Size", fmt.Sprintf("%s (%d bytes, encrypted)", output.Bytes(s.SizeBytes), s.SizeBytes))
	fl.Add("Plain size", fmt.Sprintf("%s (%d bytes)", output.Bytes(s.PlainBytes), s.PlainBytes))
	fl.Add("Files", output.Count(s.FileCount))
	fl.Add("SHA256", s.SHA256)
	fl.Add("Storage backend", s.StorageBackend)
	if s.StorageTargetID != "" {
		fl.Add("Storage target", storageTargetName(ctx, opts, s.StorageTargetID))
		fl.Add("Made by agent", s.AgentID)
		fl.Add("Key prefix", s.LocalPath)
	} else {
		fl.Add("Agent", s.AgentID)
		fl.Add("Local path", s.LocalPath)
	}
	fl.Add("Age recipient", s.Recipient)
	fl.Add("Started", opts.Out.WhenPtr(s.StartedAt))
	fl.Add("Finished", opts.Out.WhenPtr(s.FinishedAt))
	if s.StartedAt != nil && s.FinishedAt != nil {
		fl.Add("Duration", output.Duration(s.FinishedAt.Sub(*s.StartedAt)))
	}
	fl.Add("Created", opts.Out.When(s.CreatedAt))
	fl.Add("Verified", verified(opts.Out, s))
	if s.VerifyReport != nil {
		fl.Add("Verification", s.VerifyReport.Message)
	}
	return fl.Flush()
}

// verified is a snapshot's last verdict and when it was reached.
func verified(out *output.Printer, s *sdk.Snapshot) string {
	if s.VerifyStatus == "" || s.VerifiedAt == nil {
		return "-"
	}
	return string(s.VerifyStatus) + " " + out.Ago(*s.VerifiedAt)
}

// kindShort is the KIND column: full or incr.
func kindShort(k sdk.SnapshotKind) string {
	if k == sdk.SnapshotIncremental {
		return "incr"
	}
	return "full"
}

// addChain shows kind, parent, chain length and bytes and, for an
// incremental, the chain's ids newest first (looked up parent by parent).
func addChain(ctx context.Context, opts *cmdutil.IDOptions, fl *output.Fields, s *sdk.Snapshot) {
	kind := s.Kind
	if kind == "" {
		kind = sdk.SnapshotFull
	}
	fl.Add("Kind", string(kind))
	parent := s.ParentSnapshotID
	if parent == "" {
		parent = "-"
	}
	fl.Add("Parent", parent)
	fl.Add("Chain length", fmt.Sprint(s.ChainLength))
	fl.Add("Chain bytes", fmt.Sprintf("%s (%d bytes, encrypted)", output.Bytes(s.ChainBytes), s.ChainBytes))
	ids := []string{s.ID}
	for cur := s.ParentSnapshotID; cur != "" && len(ids) <= s.ChainLength; {
		p, err := opts.Client.GetSnapshot(ctx, cur)
		if err != nil {
			ids = append(ids, cur+" (missing)")
			break
		}
		ids = append(ids, p.ID)
		cur = p.ParentSnapshotID
	}
	fl.Add("Chain", strings.Join(ids, " "))
}

// storageTargetName is "ID (name, bucket B at ENDPOINT)", or the id alone
// when the target cannot be read.
func storageTargetName(ctx context.Context, opts *cmdutil.IDOptions, id string) string {
	t, err := opts.Client.GetStorageTarget(ctx, id)
	if err != nil {
		return id
	}
	return fmt.Sprintf("%s (%s, bucket %s at %s)", id, t.Name, t.Bucket, t.Endpoint)
}
