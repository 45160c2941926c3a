package agent

import (
	"archive/tar"
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"

	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/sdk/archive"
)

// Failures of the artifact itself, as opposed to those of its consumer.
var (
	errArtifactMissing = errors.New("artifact missing")
	errDamaged         = errors.New("artifact damaged")
)

// maxDescriptorBytes bounds xvault.json.
const maxDescriptorBytes = 4 << 20

// snapshotWalk streams a snapshot's artifact through the checking reader,
// entry by entry, and remembers the first error of the artifact itself
// (sha256, age, zstd, tar): whatever consumes an entry, a damaged artifact
// is told apart from a consumer's failure.
type snapshotWalk struct {
	f    io.ReadCloser
	rd   *archive.Reader
	err  error               // first error of the artifact; sticky
	desc *archive.Descriptor // nil for snapshots made before the layout had one
	hdr  *tar.Header         // current entry
	ctx  context.Context     // an error after ctx ended is an interruption, not damage
}

// openSnapshotWalk opens the committed artifact of a snapshot and reads up
// to its first entry; an xvault.json there becomes desc.
func (a *Agent) openSnapshotWalk(ctx context.Context, l *lease, ids storage.SnapshotIDs, sha string,
	id age.Identity) (*snapshotWalk, error) {
	f, err := a.openStoredArtifact(ctx, l, ids)
	if errors.Is(err, errArtifactMissing) {
		return nil, fmt.Errorf("%w: %w", errArtifactMissing, err)
	} else if err != nil {
		return nil, err
	}
	w := &snapshotWalk{f: f, ctx: ctx}
	in := &countingReader{r: &ctxReader{ctx: ctx, r: f}, n: &l.bytesRead}
	w.rd, err = archive.NewReader(bufio.NewReaderSize(in, 1<<20), id, archive.ReadOptions{ExpectedSHA256: sha})
	if err != nil {
		_ = f.Close()
		return nil, w.fail(fmt.Errorf("open artifact of snapshot %s (wrong tenant key or not an age file): %w", ids.SnapshotID, err))
	}
	if _, err := w.next(); err != nil {
		w.close()
		if errors.Is(err, io.EOF) {
			return nil, w.fail(fmt.Errorf("artifact of snapshot %s holds no entry", ids.SnapshotID))
		}
		return nil, err
	}
	if w.hdr.Name == archive.DescriptorName {
		var d archive.Descriptor
		dec := json.NewDecoder(io.LimitReader(w, maxDescriptorBytes))
		if err := dec.Decode(&d); err != nil {
			w.close()
			if w.err != nil {
				return nil, w.err
			}
			return nil, w.fail(fmt.Errorf("snapshot %s: %s is not valid JSON: %v", ids.SnapshotID, archive.DescriptorName, err))
		}
		w.desc = &d
	}
	return w, nil
}

// fail records err as the artifact's own failure (if none was) and returns
// it, wrapping errDamaged.
func (w *snapshotWalk) fail(err error) error {
	if w.err == nil {
		w.err = fmt.Errorf("%w: %w", errDamaged, err)
	}
	return w.err
}

// next advances to the next entry; io.EOF once the whole artifact checked out.
func (w *snapshotWalk) next() (*tar.Header, error) {
	if w.err != nil {
		return nil, w.err
	}
	hdr, err := w.rd.Next()
	if err != nil && !errors.Is(err, io.EOF) {
		if w.ctx.Err() != nil {
			return nil, err // interrupted, not damaged
		}
		return nil, w.fail(err)
	}
	w.hdr = hdr
	return hdr, err
}

// Read reads the current entry's body.
func (w *snapshotWalk) Read(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.rd.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		if w.ctx.Err() == nil {
			w.fail(err)
		}
	}
	return n, err
}

func (w *snapshotWalk) close() {
	_ = w.rd.Close()
	_ = w.f.Close()
}

// skipTo advances to the entry named name; io.EOF if there is none.
func (w *snapshotWalk) skipTo(name string) error {
	for {
		hdr, err := w.next()
		if err != nil {
			return err
		}
		if hdr.Name == name {
			return nil
		}
	}
}

// databaseOf is the descriptor's database whose dump is entry name.
func (w *snapshotWalk) databaseOf(name string) *archive.Database {
	if w.desc == nil {
		return nil
	}
	for i := range w.desc.Databases {
		if w.desc.Databases[i].File == name {
			return &w.desc.Databases[i]
		}
	}
	return nil
}
