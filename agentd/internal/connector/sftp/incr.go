package sftp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sshconn"
	"github.com/xvault/xvault/agentd/internal/connector/sshexec"
	"github.com/xvault/xvault/agentd/internal/incremental"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// ConfigHash identifies the roots and excludes this connector pulls.
func (c *Connector) ConfigHash() string {
	return incremental.ConfigHash(c.roots(), c.cfg.Exclude)
}

// roots are the normalised roots as index paths (no leading "/"; "" for "/").
func (c *Connector) roots() []string {
	var out []string
	for _, r := range sshconn.NormaliseRoots(c.cfg.Paths) {
		out = append(out, strings.TrimPrefix(r, "/"))
	}
	return out
}

// PullIncremental lists the source, compares the listing with req.Parent
// and stores what changed (docs/incremental.md). Exec lists and reads in one
// session (a find script); SFTP walks, then reads the changed files.
func (c *Connector) PullIncremental(ctx context.Context, sink connector.Sink, req connector.IncrementalRequest) (*connector.IncrementalResult, error) {
	client, err := c.dialer.Dial(ctx)
	if err != nil {
		return nil, err
	}
	closeOnce := onceCloser(client)
	defer closeOnce()
	stop := context.AfterFunc(ctx, closeOnce)
	defer stop()
	start := time.Now()
	res, mode, err := c.pullIncremental(ctx, client, sink, req)
	c.log.Debug("incremental pull ended", "transfer", mode, "duration", time.Since(start), "error", err)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return nil, fmt.Errorf("pull %s: %w", c.addr(), ctxErr)
	}
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", c.addr(), err)
	}
	return res, nil
}

func (c *Connector) pullIncremental(ctx context.Context, client *ssh.Client, sink connector.Sink, req connector.IncrementalRequest) (*connector.IncrementalResult, string, error) {
	useExec, err := c.useExecListing(ctx, client, req)
	if err != nil {
		return nil, TransferExec, err
	}
	if useExec {
		res, err := c.incrementalExec(ctx, client, sink, req)
		switch {
		case err == nil:
			return res, TransferExec, nil
		case ctx.Err() != nil || !fallbackToSFTP(err):
			return nil, TransferExec, err
		case c.cfg.Transfer == TransferExec && errors.Is(err, sshexec.ErrNoExec):
			return nil, TransferExec, fmt.Errorf("transfer exec: %w (hint: the account must be allowed to run commands over SSH, "+
				"without ForceCommand internal-sftp; or set the source's transfer to auto or sftp): %w", err, connector.ErrPermanent)
		}
		c.log.Info("exec listing unavailable, using sftp", "reason", err)
	}
	res, err := c.incrementalSFTP(ctx, client, sink, req)
	return res, TransferSFTP, err
}

// useExecListing decides whether to try the exec listing. A full probes
// the server's tar first, as a full Pull does (an SFTP-only account answers
// an exec only after a timeout, the probe at once; a forced exec fails there
// with its hint); in auto mode an incremental whose parent was listed over
// SFTP stays on SFTP until the next full.
func (c *Connector) useExecListing(ctx context.Context, client *ssh.Client, req connector.IncrementalRequest) (bool, error) {
	switch {
	case c.cfg.Transfer == TransferSFTP:
		return false, nil
	case req.Parent == nil:
		mode, _, err := c.chooseTransfer(ctx, client)
		return mode == TransferExec, err
	case c.cfg.Transfer == TransferExec:
		return true, nil
	}
	return req.Parent.Header.Listing == incremental.ListingFind, nil
}

// describe writes the snapshot's descriptor for plan.
func describe(sink connector.Sink, req connector.IncrementalRequest, plan *incremental.Plan, listing, mode string) error {
	if r, ok := sink.(connector.TransferReporter); ok {
		r.TransferMode(mode)
	}
	d := archive.Descriptor{Kind: string(sdk.SnapshotFull), TransferMode: mode, Warnings: plan.Warnings}
	if req.Parent != nil {
		d.Kind = string(sdk.SnapshotIncremental)
		d.Incremental = &archive.Incremental{
			ParentSnapshotID: req.Parent.Header.SnapshotID, FullSnapshotID: req.FullSnapshotID,
			ChainPosition: req.ChainPosition, Listing: listing,
			Deleted: plan.Deleted, DeletedTruncated: plan.DeletedTruncated,
		}
		if d.Incremental.Deleted == nil {
			d.Incremental.Deleted = []string{}
		}
	}
	return sink.Describe(d)
}

// fallbackToSFTP reports whether an exec listing failed in a way the SFTP
// walk can stand in for: the account runs no commands, or the server lacks
// GNU find or a tar that reads a list of names.
func fallbackToSFTP(err error) bool {
	return errors.Is(err, sshexec.ErrNoExec) || errors.Is(err, sshexec.ErrNoFind) || errors.Is(err, sshexec.ErrNoListTar)
}

// plan compares the listing with req.Parent. A directory too large for a
// dumpdir makes the snapshot a full (req.Parent is then dropped and
// reason says why).
func plan(req *connector.IncrementalRequest, recs []incremental.Record, roots []string, kind string, start time.Time) (*incremental.Plan, string, error) {
	p := incremental.PlanParams{Parent: req.Parent, Listing: recs, Roots: roots, Kind: kind, ListingStart: start}
	pl, err := incremental.NewPlan(p)
	if req.Parent == nil || !errors.Is(err, archive.ErrDumpdirTooLarge) {
		return pl, "", err
	}
	reason := fmt.Sprintf("a directory has too many entries for an incremental: %v", err)
	req.Parent, req.ChainPosition, req.FullSnapshotID = nil, 0, req.SnapshotID
	p.Parent = nil
	pl, err = incremental.NewPlan(p)
	return pl, reason, err
}

// result describes the pull of pl.
func result(req connector.IncrementalRequest, pl *incremental.Plan, reason string, h incremental.Header) *connector.IncrementalResult {
	idx := pl.Index(h)
	return &connector.IncrementalResult{
		Incremental: req.Parent != nil, FullReason: reason, Index: idx,
		Stored: pl.Counts.Stored, Unchanged: pl.Counts.Unchanged, Deleted: pl.Counts.Deleted,
	}
}

// incrementalSFTP walks the whole tree first (one ReadDir per directory),
// compares, then reads only the changed files with the usual concurrent
// puller.
func (c *Connector) incrementalSFTP(ctx context.Context, client *ssh.Client, sink connector.Sink, req connector.IncrementalRequest) (*connector.IncrementalResult, error) {
	sc, err := pkgsftp.NewClient(client, pkgsftp.UseConcurrentReads(true), pkgsftp.UseFstat(true))
	if err != nil {
		return nil, fmt.Errorf("start sftp: %w (hint: is the sftp subsystem enabled in sshd_config?)", err)
	}
	defer sc.Close()
	start := time.Now()
	var items []*item
	var recs []incremental.Record
	w := &walker{c: sc, exclude: c.cfg.Exclude, parents: map[string]bool{}, send: func(_ context.Context, it *item) error {
		items = append(items, it)
		if it.entry.Type != 0 {
			recs = append(recs, recordOf(it.entry))
		}
		return nil
	}}
	if err := w.run(ctx, c.cfg.Paths); err != nil {
		return nil, err
	}
	pl, reason, err := plan(&req, recs, c.roots(), incremental.ListingSFTP, start)
	if err != nil {
		return nil, err
	}
	if err := describe(sink, req, pl, incremental.ListingSFTP, TransferSFTP); err != nil {
		return nil, err
	}
	p := newPuller(sc, sink, c.pullOptions())
	var vanished []string
	var changed []connector.Entry
	p.onVanished = func(remote string) { vanished = append(vanished, strings.TrimPrefix(remote, "/")) }
	p.onChanged = func(_ string, e connector.Entry) { changed = append(changed, e) }
	err = p.run(ctx, func(ctx context.Context, send func(context.Context, *item) error) error {
		k := 0
		for _, it := range items {
			if it.entry.Type != 0 {
				pe := pl.Entries[k]
				k++
				if pe.Action == incremental.ActionSkip {
					continue
				}
				it.entry.Dumpdir = pe.Dumpdir
			}
			if err := send(ctx, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, e := range changed {
		if err := pl.Reread(e.Name, e.Size, e.ModTime); err != nil {
			return nil, err
		}
	}
	if err := correct(sink, pl, vanished); err != nil {
		return nil, err
	}
	return result(req, pl, reason, incremental.Header{Listing: incremental.ListingSFTP, ListingStart: start}), nil
}

// correct drops the files that could not be read from the new index and
// appends their directories again with dumpdirs that no longer list them
// (docs/incremental.md, section 3: corrections).
func correct(sink connector.Sink, pl *incremental.Plan, vanished []string) error {
	if len(vanished) == 0 {
		return nil
	}
	fixes, err := pl.Vanished(vanished...)
	if err != nil || pl.Full {
		return err // a full has no dumpdirs to correct
	}
	for _, d := range fixes {
		e := entryOfRecord(*d.Record)
		e.Dumpdir = d.Dumpdir
		if err := sink.Put(e, emptyBody{}); err != nil {
			return fmt.Errorf("archive correction of %s: %w", e.Name, err)
		}
	}
	return nil
}
