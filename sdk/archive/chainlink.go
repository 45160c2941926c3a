package archive

import (
	"archive/tar"
	"fmt"
	"maps"
	"strings"
)

// checkLink checks the descriptor of link c.i against the chain asked for.
func (c *ChainReader) checkLink(d *Descriptor) error {
	n, i := len(c.links), c.i
	want := c.links[i].SnapshotID
	if n == 1 {
		if d.LayoutVersion >= LayoutIncremental {
			return &IncrementalError{SnapshotID: d.SnapshotID, ParentSnapshotID: d.Incremental.ParentSnapshotID}
		}
		if d.SnapshotID != "" && want != "" && d.SnapshotID != want {
			return fmt.Errorf("archive: the artifact of snapshot %s is snapshot %s", want, d.SnapshotID)
		}
		return nil
	}
	if d.SnapshotID != want {
		return fmt.Errorf("archive: chain broken: link %d should be snapshot %s, but its artifact is snapshot %q", i+1, want, d.SnapshotID)
	}
	if i == n-1 {
		if d.LayoutVersion == LayoutIncremental {
			return fmt.Errorf("archive: chain broken: the last link %s is incremental (parent %s), not a full",
				want, d.Incremental.ParentSnapshotID)
		}
		return nil
	}
	if d.LayoutVersion != LayoutIncremental {
		return fmt.Errorf("archive: chain broken: snapshot %s is a full, so it must be the last link, not link %d of %d", want, i+1, n)
	}
	inc := d.Incremental
	switch next, full := c.links[i+1].SnapshotID, c.links[n-1].SnapshotID; {
	case inc.ParentSnapshotID != next:
		return fmt.Errorf("archive: chain broken: snapshot %s names parent %s, but the next link is %s", want, inc.ParentSnapshotID, next)
	case inc.ChainPosition != n-1-i:
		return fmt.Errorf("archive: chain broken: snapshot %s has chain_position %d, but %d link(s) are given below it (down to %s)",
			want, inc.ChainPosition, n-1-i, full)
	case inc.FullSnapshotID != full:
		return fmt.Errorf("archive: chain broken: snapshot %s belongs to the chain of full %s, not of %s", want, inc.FullSnapshotID, full)
	}
	return nil
}

// entry decides what becomes of an entry of link c.i: the header to pass on,
// or nil to skip it.
func (c *ChainReader) entry(hdr *tar.Header) (*tar.Header, error) {
	switch {
	case hdr.Name == DescriptorName:
		return nil, fmt.Errorf("archive: snapshot %s: a second %s", c.links[c.i].SnapshotID, DescriptorName)
	case len(c.links) == 1:
		if !Selected(c.opts.Paths, hdr.Name) {
			return nil, nil
		}
		return hdr, nil
	case c.i == 0:
		return c.tipEntry(hdr)
	}
	return c.olderEntry(hdr)
}

func (c *ChainReader) tipEntry(hdr *tar.Header) (*tar.Header, error) {
	id := c.links[0].SnapshotID
	switch {
	case c.end != nil:
		return nil, fmt.Errorf("archive: snapshot %s: entry %q after %s", id, hdr.Name, EndName)
	case hdr.Name == EndName:
		raw, err := readSmall(hdr, c.rd)
		if err != nil {
			return nil, fmt.Errorf("snapshot %s: %w", id, err)
		}
		h := *hdr
		c.end, c.endBody = &h, raw
		c.done = !Selected(c.opts.Paths, EndName)
		return nil, nil
	case !strings.HasPrefix(hdr.Name, FilesPrefix):
		return nil, fmt.Errorf("archive: snapshot %s is incremental but holds %q: an incremental holds only %s entries", id, hdr.Name, FilesPrefix)
	}
	emit, err := c.tip.entry(hdr)
	if err != nil {
		return nil, fmt.Errorf("archive: snapshot %s: %w", id, err)
	}
	if !emit || !Selected(c.opts.Paths, hdr.Name) {
		return nil, nil
	}
	return stripDumpdir(hdr), nil
}

func (c *ChainReader) olderEntry(hdr *tar.Header) (*tar.Header, error) {
	id, name := c.links[c.i].SnapshotID, hdr.Name
	switch {
	case name == EndName:
		return nil, nil
	case !strings.HasPrefix(name, FilesPrefix):
		if c.i < len(c.links)-1 {
			return nil, fmt.Errorf("archive: snapshot %s is incremental but holds %q: an incremental holds only %s entries", id, name, FilesPrefix)
		}
		return nil, nil // a full's databases/ or server/: never part of a file source's chain
	}
	if _, ok := c.want[name]; ok {
		if hdr.Typeflag == tar.TypeDir {
			return nil, fmt.Errorf("archive: chain broken: the tip %s lists %s as unchanged (N), but snapshot %s stores a directory there",
				c.links[0].SnapshotID, name, id)
		}
		delete(c.want, name)
		return stripDumpdir(hdr), nil
	}
	if c.tip.covers(name) || c.tip.has(name) {
		return nil, nil
	}
	if _, ok := c.outs[name]; ok || !Selected(c.opts.Paths, name) {
		return nil, nil
	}
	c.outs[name] = struct{}{}
	return stripDumpdir(hdr), nil
}

// stripDumpdir returns hdr without its GNU.dumpdir record.
func stripDumpdir(hdr *tar.Header) *tar.Header {
	if _, ok := hdr.PAXRecords[DumpdirKey]; !ok {
		return hdr
	}
	h := *hdr
	h.PAXRecords = maps.Clone(hdr.PAXRecords)
	delete(h.PAXRecords, DumpdirKey)
	if len(h.PAXRecords) == 0 {
		h.PAXRecords = nil
	}
	return &h
}
