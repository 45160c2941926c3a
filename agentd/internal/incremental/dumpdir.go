package incremental

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/xvault/xvault/sdk/archive"
)

// dumpdirs sets the dumpdir of every directory inside a root: Y for a new
// or changed child, N for an unchanged one, D for a subdirectory.
func (pl *planner) dumpdirs() error {
	n := len(pl.recs)
	start := make([]int32, n+1) // children of q: kids[start[q]:start[q+1]], in path order
	for _, q := range pl.parent {
		if q >= 0 {
			start[q+1]++
		}
	}
	for q := range n {
		start[q+1] += start[q]
	}
	kids := make([]int32, start[n])
	next := slices.Clone(start[:n])
	for j, q := range pl.parent {
		if q >= 0 {
			kids[next[q]] = int32(j)
			next[q]++
		}
	}
	next = nil
	meta := pl.plan.meta
	var buf []archive.DumpdirChild
	for q := range pl.recs {
		if pl.recs[q].Type != TypeDir || meta[q].flags&metaInside == 0 {
			continue
		}
		cut := len(pl.recs[q].Path) + 1
		buf = buf[:0]
		for _, j := range kids[start[q]:start[q+1]] {
			buf = append(buf, archive.DumpdirChild{Name: pl.recs[j].Path[cut:], Code: meta[j].code})
		}
		dd, err := archive.EncodeDumpdir(buf)
		if err != nil {
			return fmt.Errorf("plan: directory %q: %w", pl.recs[q].Path, err)
		}
		meta[q].flags |= metaDumpdir
		pl.plan.Entries[pl.listPos[q]].Dumpdir = dd
	}
	return nil
}

// Correction is a directory entry to append to the artifact (before
// xvault.end.json) after Store children of it vanished: the directory's
// record again with a dumpdir that no longer names them.
type Correction struct {
	Record  *Record
	Dumpdir string
}

// Vanished records that the Store entries at paths could not be read
// (gone or unreadable since the listing): they are dropped from the new
// index, so the next run treats them as new. It returns, sorted by path,
// the corrections for their directories; each dumpdir leaves out every
// entry vanished so far, so a later correction of the same directory
// supersedes an earlier one.
func (p *Plan) Vanished(paths ...string) ([]Correction, error) {
	var dirs []int
	for _, path := range paths {
		j, ok := findPath(p.records, path)
		switch {
		case !ok:
			return nil, fmt.Errorf("plan: vanished %q is not in the listing", path)
		case p.meta[j].flags&metaStore == 0:
			return nil, fmt.Errorf("plan: vanished %q was not to be stored", path)
		case p.meta[j].flags&metaVanished != 0:
			continue
		}
		p.meta[j].flags |= metaVanished
		p.Counts.Stored--
		p.Counts.Vanished++
		if slash := strings.LastIndexByte(path, '/'); slash >= 0 {
			if q, ok := findPath(p.records, path[:slash]); ok && p.meta[q].flags&metaDumpdir != 0 {
				dirs = append(dirs, q)
			}
		}
	}
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	out := make([]Correction, 0, len(dirs))
	for _, q := range dirs {
		dd, err := p.dumpdirOf(q)
		if err != nil {
			return nil, fmt.Errorf("plan: correct directory %q: %w", p.records[q].Path, err)
		}
		out = append(out, Correction{Record: &p.records[q], Dumpdir: dd})
	}
	return out, nil
}

// dumpdirOf renders the dumpdir of the directory at q without its
// vanished children.
func (p *Plan) dumpdirOf(q int) (string, error) {
	prefix := p.records[q].Path + "/"
	var kids []archive.DumpdirChild
	k := sort.Search(len(p.records), func(k int) bool { return p.records[k].Path >= prefix })
	for ; k < len(p.records) && strings.HasPrefix(p.records[k].Path, prefix); k++ {
		name := p.records[k].Path[len(prefix):]
		if strings.IndexByte(name, '/') >= 0 || p.meta[k].flags&metaVanished != 0 {
			continue
		}
		kids = append(kids, archive.DumpdirChild{Name: name, Code: p.meta[k].code})
	}
	return archive.EncodeDumpdir(kids)
}

// Reread records that the Store entry at path was stored with a tar header
// whose size or mtime differs from the listing (it changed while read):
// the new index gets the header's values and the reread flag.
func (p *Plan) Reread(path string, size int64, mtime time.Time) error {
	j, ok := findPath(p.records, path)
	switch {
	case !ok:
		return fmt.Errorf("plan: reread %q is not in the listing", path)
	case p.meta[j].flags&metaStore == 0:
		return fmt.Errorf("plan: reread %q was not to be stored", path)
	case size < 0:
		return fmt.Errorf("plan: reread %q: negative size %d", path, size)
	}
	r := &p.records[j]
	r.Size, r.MtimeNS = size, mtime.UnixNano()
	r.Flags |= FlagReread
	p.Counts.Reread++
	return nil
}

// Index returns the new index with header h (Entries is set): the current
// listing in path order, racy and reread records flagged, vanished ones
// left out. Its records are shared with the plan when nothing vanished.
func (p *Plan) Index(h Header) *Index {
	recs := p.records
	if p.Counts.Vanished > 0 {
		recs = make([]Record, 0, len(p.records)-p.Counts.Vanished)
		for j := range p.records {
			if p.meta[j].flags&metaVanished == 0 {
				recs = append(recs, p.records[j])
			}
		}
	}
	h.Listing = p.kind
	h.Entries = len(recs)
	return &Index{Header: h, Records: recs}
}
