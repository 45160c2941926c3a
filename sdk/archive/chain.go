package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"filippo.io/age"
)

// ChainArtifact is one artifact of an incremental chain.
type ChainArtifact struct {
	SnapshotID string
	// SHA256 is the artifact's expected hex sha256 (the hub's record); empty
	// skips the check.
	SHA256 string
	// Open opens the artifact bytes; the ChainReader closes them.
	Open func() (io.ReadCloser, error)
}

// ChainOptions tunes a [ChainReader].
type ChainOptions struct {
	// Paths selects entries with [Selected] semantics; empty selects all.
	Paths []string
}

// ChainReader assembles the whole tree of an incremental snapshot from the
// artifacts of its chain (docs/incremental.md, section 6), streaming, one
// pass per artifact, tip first:
//
//   - The tip's entries are passed on in their order: its directories (each
//     once: a directory repeated as a correction only updates its dumpdir),
//     and the files and symlinks it stores. Its GNU.dumpdir records decide
//     the tree; the last dumpdir of a directory counts. Each child listed N
//     (unchanged) is wanted from an older artifact.
//   - Each older artifact, newest first, yields the wanted entries it holds
//     (each once: the newest copy wins). Its directories, dumpdirs,
//     descriptor and end record are not passed on, nor entries outside
//     files/. Entries outside every directory that carries a dumpdir (a
//     configured path that is a regular file) are taken from the newest
//     artifact that holds them, as GNU tar would.
//   - The chain's full is read only when something is still wanted, or when
//     the selection may hold such outside entries.
//
// The output is a stream like a full's: xvault.json first, rewritten to
// layout_version 2 with "assembled_from" (the chain's ids, tip first), every
// directory before its children, no dumpdir records, the tip's
// xvault.end.json last. Only entries that opts.Paths selects are passed on.
// Memory holds the tip's directory listings and the wanted names, never a
// file body. A chain of one full just streams that full (refusing an
// incremental).
//
// Every link is checked: its descriptor must name the snapshot asked for, an
// incremental must name the next link as its parent, count its
// chain_position from the full, and hold only files/ entries; the last link
// must be a full. Each artifact read is checked to its end, sha256 included,
// before the next one is opened; a failure is final. A name still wanted at
// the end fails with "chain broken: files/… not found in any artifact".
type ChainReader struct {
	links []ChainArtifact
	id    age.Identity
	opts  ChainOptions
	ids   []string

	i    int // the link being read
	rd   *Reader
	rc   io.ReadCloser
	tip  *tipState
	want map[string]struct{} // N children not found yet
	outs map[string]struct{} // entries outside the tip's dumpdirs already passed on

	pending     *tar.Header // an entry to return before reading on
	pendingBody io.Reader
	body        io.Reader // the current entry's body
	end         *tar.Header
	endBody     []byte
	done        bool
	results     []Result
	err         error

	open func(i int) (*Reader, io.ReadCloser, error) // replaced by the fuzz target
}

// NewChainReader prepares to assemble links (tip first, the full last).
// Nothing is opened before the first Next.
func NewChainReader(links []ChainArtifact, id age.Identity, opts ChainOptions) (*ChainReader, error) {
	if len(links) == 0 || id == nil {
		return nil, errors.New("archive: chain reader: links and identity are required")
	}
	seen := make(map[string]bool, len(links))
	ids := make([]string, 0, len(links))
	for i, l := range links {
		switch {
		case l.Open == nil:
			return nil, fmt.Errorf("archive: chain reader: link %d (%s) has no Open", i, l.SnapshotID)
		case l.SnapshotID == "" && len(links) > 1:
			return nil, fmt.Errorf("archive: chain reader: link %d has no snapshot id", i)
		case seen[l.SnapshotID]:
			return nil, fmt.Errorf("archive: chain broken: snapshot %s is listed twice", l.SnapshotID)
		}
		if _, err := parseExpected(l.SHA256); err != nil {
			return nil, fmt.Errorf("archive: chain reader: link %s: %w", l.SnapshotID, err)
		}
		seen[l.SnapshotID] = true
		ids = append(ids, l.SnapshotID)
	}
	c := &ChainReader{links: links, id: id, opts: opts, ids: ids,
		want: map[string]struct{}{}, outs: map[string]struct{}{}}
	c.open = c.openArtifact
	return c, nil
}

func (c *ChainReader) openArtifact(i int) (*Reader, io.ReadCloser, error) {
	l := c.links[i]
	rc, err := l.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("open artifact of snapshot %s: %w", l.SnapshotID, err)
	}
	rd, err := NewReader(bufio.NewReaderSize(rc, ioBufferSize), c.id, ReadOptions{ExpectedSHA256: l.SHA256})
	if err != nil {
		_ = rc.Close()
		return nil, nil, fmt.Errorf("snapshot %s: %w", l.SnapshotID, err)
	}
	return rd, rc, nil
}

// Next advances to the next entry of the assembled tree. It returns io.EOF
// only after every artifact it needed was read and checked and nothing is
// missing; any other error is final.
func (c *ChainReader) Next() (*tar.Header, error) {
	if c.err != nil {
		return nil, c.err
	}
	hdr, err := c.next()
	if err != nil {
		c.err = err
		c.closeCurrent()
		return nil, err
	}
	return hdr, nil
}

func (c *ChainReader) next() (*tar.Header, error) {
	c.body = nil
	for {
		if c.pending != nil {
			hdr := c.pending
			c.body, c.pending, c.pendingBody = c.pendingBody, nil, nil
			return hdr, nil
		}
		if c.rd == nil {
			more, err := c.advance()
			if err != nil {
				return nil, err
			}
			if !more {
				return c.finish()
			}
			continue
		}
		hdr, err := c.rd.Next()
		if errors.Is(err, io.EOF) {
			if err := c.linkDone(); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", c.links[c.i].SnapshotID, err)
		}
		out, err := c.entry(hdr)
		if err != nil {
			return nil, err
		}
		if out != nil {
			c.body = c.rd
			return out, nil
		}
	}
}

// advance opens the next link and reads its descriptor; false when no more
// link is needed.
func (c *ChainReader) advance() (bool, error) {
	if c.i >= len(c.links) || (c.i > 0 && len(c.want) == 0 && !c.outsidePossible()) {
		return false, nil
	}
	rd, rc, err := c.open(c.i)
	if err != nil {
		return false, err
	}
	c.rd, c.rc = rd, rc
	return true, c.first()
}

// first reads and checks the first entry of link c.i, its descriptor.
func (c *ChainReader) first() error {
	id := c.links[c.i].SnapshotID
	hdr, err := c.rd.Next()
	if errors.Is(err, io.EOF) {
		err = errors.New("the artifact holds no entry")
	}
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", id, err)
	}
	if hdr.Name != DescriptorName {
		if len(c.links) == 1 { // a full made before layout 2
			if Selected(c.opts.Paths, hdr.Name) {
				c.pending, c.pendingBody = hdr, c.rd
			}
			return nil
		}
		return fmt.Errorf("archive: chain broken: snapshot %s has no %s (made before incremental snapshots)", id, DescriptorName)
	}
	d, raw, err := ReadDescriptor(hdr, c.rd)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", id, err)
	}
	if err := c.checkLink(d); err != nil {
		return err
	}
	if c.i > 0 {
		return nil
	}
	if len(c.links) > 1 {
		c.tip = newTipState()
		if raw, err = assembledDescriptor(raw, c.ids); err != nil {
			return fmt.Errorf("snapshot %s: %w", id, err)
		}
	}
	if !Selected(c.opts.Paths, DescriptorName) {
		return nil
	}
	h := *hdr
	h.Size = int64(len(raw))
	c.pending, c.pendingBody = &h, bytes.NewReader(raw)
	return nil
}

// linkDone runs at the clean end of link c.i.
func (c *ChainReader) linkDone() error {
	c.results = append(c.results, c.rd.Result())
	c.closeCurrent()
	if c.i == 0 && c.tip != nil {
		if err := c.tip.finish(c.links[0].SnapshotID, c.opts.Paths, c.want); err != nil {
			return err
		}
	}
	c.i++
	return nil
}

// finish returns the tip's end record, then io.EOF, once nothing is missing.
func (c *ChainReader) finish() (*tar.Header, error) {
	if len(c.want) > 0 {
		missing := slices.Sorted(maps.Keys(c.want))
		more := ""
		if len(missing) > 1 {
			more = fmt.Sprintf(" (and %d more)", len(missing)-1)
		}
		return nil, fmt.Errorf("archive: chain broken: %s not found in any artifact%s", missing[0], more)
	}
	if c.end != nil && !c.done {
		c.done = true
		c.body = bytes.NewReader(c.endBody)
		return c.end, nil
	}
	return nil, io.EOF
}

// Read reads the body of the current entry; io.EOF marks its end.
func (c *ChainReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.body == nil {
		return 0, io.EOF
	}
	n, err := c.body.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		c.err = fmt.Errorf("snapshot %s: %w", c.links[min(c.i, len(c.links)-1)].SnapshotID, err)
		c.closeCurrent()
		return n, c.err
	}
	return n, err
}

// Results describes each artifact read to its end, tip first. An artifact
// the assembly did not need is not read and has no Result.
func (c *ChainReader) Results() []Result { return slices.Clone(c.results) }

// Close releases the artifact being read. It is safe to call twice.
func (c *ChainReader) Close() error {
	if c.err == nil {
		c.err = errors.New("archive: chain reader closed")
	}
	return c.closeCurrent()
}

func (c *ChainReader) closeCurrent() error {
	var err error
	if c.rd != nil {
		_ = c.rd.Close()
		c.rd = nil
	}
	if c.rc != nil {
		err = c.rc.Close()
		c.rc = nil
	}
	c.body, c.pending, c.pendingBody = nil, nil, nil
	return err
}

// outsidePossible reports whether an older artifact may still hold a
// selected entry outside every directory that carries a dumpdir in the tip.
// Older links pass on only files/ entries, so a selection whose every path
// lies inside such a directory needs nothing else.
func (c *ChainReader) outsidePossible() bool {
	if c.tip == nil || len(c.opts.Paths) == 0 {
		return true
	}
	for _, p := range c.opts.Paths {
		q := strings.Trim(p, "/")
		if q == "" || !c.tip.covers(FilesPrefix+q) {
			return true
		}
		if strings.HasPrefix(q+"/", FilesPrefix) && !c.tip.covers(q) {
			return true
		}
	}
	return false
}
