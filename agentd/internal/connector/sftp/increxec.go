package sftp

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sshexec"
	"github.com/xvault/xvault/agentd/internal/incremental"
)

// incrementalExec lists the tree with find and reads the changed files with
// tar, in one exec session (sshexec.Listing), and writes the entries in
// listing order: directories and unchanged-or-metadata entries from their
// records, stored files from the tar stream.
func (c *Connector) incrementalExec(ctx context.Context, client *ssh.Client, sink connector.Sink, req connector.IncrementalRequest) (*connector.IncrementalResult, error) {
	l, err := sshexec.StartListing(ctx, client, c.cfg.Paths, c.cfg.Exclude)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	recs, warns, err := l.Records(sizeHint(req.Parent))
	if err != nil {
		return nil, err
	}
	for _, w := range warns {
		sink.Warn(w.Path, w.Err)
	}
	pl, reason, err := plan(&req, recs, c.roots(), incremental.ListingFind, l.Start())
	if err != nil {
		return nil, err
	}
	if err := describe(sink, req, pl, incremental.ListingFind, TransferExec); err != nil {
		return nil, err
	}
	var paths []string
	for _, e := range pl.Entries {
		if e.Action == incremental.ActionStore {
			paths = append(paths, e.Record.Path)
		}
	}
	if err := l.Request(paths); err != nil {
		return nil, err
	}
	x := &execEmitter{l: l, sink: sink, pl: pl}
	if err := x.emit(ctx); err != nil {
		return nil, err
	}
	warns, err = l.Wait()
	if err != nil {
		return nil, err
	}
	for _, w := range warns {
		sink.Warn(w.Path, w.Err)
	}
	if err := correct(sink, pl, x.vanished); err != nil {
		return nil, err
	}
	h := incremental.Header{Listing: incremental.ListingFind, ListingStart: l.Start(), TarFlavour: l.TarFlavour().Flavour.String()}
	return result(req, pl, reason, h), nil
}

// execEmitter merges the plan (listing order) with the tar stream of the
// requested files (the same order, less the vanished ones).
type execEmitter struct {
	l        *sshexec.Listing
	sink     connector.Sink
	pl       *incremental.Plan
	vanished []string
	// the next file of the stream, read ahead while the entries before it
	// are written
	name string
	hdr  *tar.Header
	body io.Reader
	eof  bool
}

func (x *execEmitter) emit(ctx context.Context) error {
	for _, e := range x.pl.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		switch e.Action {
		case incremental.ActionSkip:
			continue
		case incremental.ActionStore:
			if err := x.store(e); err != nil {
				return err
			}
			continue
		}
		ent := entryOfRecord(*e.Record)
		ent.Dumpdir = e.Dumpdir
		if err := x.sink.Put(ent, emptyBody{}); err != nil {
			return fmt.Errorf("archive /%s: %w", ent.Name, err)
		}
	}
	if !x.eof { // the stream must end after the last requested file
		if err := x.advance(); err != nil {
			return err
		}
		if !x.eof {
			return fmt.Errorf("remote tar sent /%s after the last requested file", x.name)
		}
	}
	return nil
}

// store writes e's file from the stream, or notes it vanished when the
// stream skipped it.
func (x *execEmitter) store(e incremental.Entry) error {
	path := e.Record.Path
	if x.hdr == nil && !x.eof {
		if err := x.advance(); err != nil {
			return err
		}
	}
	if x.eof || x.name != path {
		x.vanished = append(x.vanished, path)
		x.sink.Warn("/"+path, errors.New("vanished before it was read: not stored"))
		return nil
	}
	ent := entryOfRecord(*e.Record)
	if x.hdr.Size != e.Record.Size || x.hdr.ModTime.Unix() != time.Unix(0, e.Record.MtimeNS).Unix() {
		ent.Size, ent.ModTime = x.hdr.Size, x.hdr.ModTime
		if err := x.pl.Reread(path, x.hdr.Size, x.hdr.ModTime); err != nil {
			return err
		}
		x.sink.Warn("/"+path, errors.New("changed between listing and read: stored as read, read again next time"))
	}
	x.sink.Progress("/" + path)
	body := x.body
	x.hdr, x.body = nil, nil
	if err := x.sink.Put(ent, body); err != nil {
		return fmt.Errorf("archive /%s: %w", path, err)
	}
	return nil
}

// advance reads the next file of the stream, collecting the names the
// stream skipped.
func (x *execEmitter) advance() error {
	name, hdr, body, _, err := x.l.Next()
	if errors.Is(err, io.EOF) {
		x.eof = true
		return nil
	}
	if err != nil {
		return err
	}
	x.name, x.hdr, x.body = name, hdr, body
	return nil
}

// sizeHint sizes the listing after the parent's index.
func sizeHint(parent *incremental.Index) sshexec.SizeHint {
	if parent == nil {
		return sshexec.SizeHint{}
	}
	h := sshexec.SizeHint{Entries: len(parent.Records)}
	for i := range parent.Records {
		h.PathBytes += len(parent.Records[i].Path) + len(parent.Records[i].Target)
	}
	return h
}
