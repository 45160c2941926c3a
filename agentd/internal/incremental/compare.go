package incremental

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xvault/xvault/sdk/archive"
)

// Racy windows (docs/incremental.md, section 2): a record whose mtime (find:
// or ctime) is at or after listing_start minus the window is read again by
// the next run.
const (
	racyWindowFind = 2_000_000_000  // ns; server clock, 1–2 s granularity, whole-second date
	racyWindowSFTP = 60_000_000_000 // ns; agent clock, whole seconds, skew and long walks
)

// compareMode says which fields decide equality.
type compareMode struct {
	exec        bool // both listings by find: ns times, ctime, inode, nlink
	ignoreInode bool // remount rule
}

// same reports whether a and b are equal in every compared field.
func same(a, b *Record, m compareMode) bool {
	if a.Type != b.Type || a.Size != b.Size || a.Mode != b.Mode || a.UID != b.UID ||
		a.GID != b.GID || a.Target != b.Target {
		return false
	}
	if !m.exec {
		return seconds(a.MtimeNS) == seconds(b.MtimeNS)
	}
	return a.MtimeNS == b.MtimeNS && a.CtimeNS == b.CtimeNS && a.Nlink == b.Nlink &&
		(m.ignoreInode || a.Inode == b.Inode)
}

// seconds floors ns to whole seconds (also before 1970).
func seconds(ns int64) int64 {
	s := ns / 1e9
	if ns%1e9 < 0 {
		s--
	}
	return s
}

// compare merges the sorted listing with the parent's sorted records and
// sets pl.changed. Without a parent everything is new.
func (pl *planner) compare() {
	pl.changed = make([]bool, len(pl.recs))
	if pl.Parent == nil {
		for j := range pl.changed {
			pl.changed[j] = true
		}
		return
	}
	match := pl.merge()
	mode := compareMode{exec: pl.Kind == ListingFind && pl.Parent.Header.Listing == ListingFind}
	if mode.exec {
		mode.ignoreInode = pl.remount(match)
	}
	old := pl.Parent.Records
	for j, k := range match {
		pl.changed[j] = k < 0 || old[k].Flags&FlagReread != 0 || !same(&pl.recs[j], &old[k], mode)
	}
}

// merge returns, per sorted record, the position of the parent's record of
// the same path, or -1, and sets pl.gone.
func (pl *planner) merge() []int32 {
	match := make([]int32, len(pl.recs))
	old := pl.Parent.Records
	pl.gone = make([]bool, len(old))
	k := 0
	for j := range pl.recs {
		path := pl.recs[j].Path
		for ; k < len(old) && old[k].Path < path; k++ {
			pl.gone[k] = true
		}
		match[j] = -1
		if k < len(old) && old[k].Path == path {
			match[j] = int32(k)
			k++
		}
	}
	for ; k < len(old); k++ {
		pl.gone[k] = true
	}
	return match
}

// remount applies the remount rule: when at least 90 % of the entries in
// both listings (and at least one) differ only by inode, inodes are not
// compared this run.
func (pl *planner) remount(match []int32) bool {
	old := pl.Parent.Records
	common, inodeOnly := 0, 0
	for j, k := range match {
		if k < 0 {
			continue
		}
		common++
		a, b := &pl.recs[j], &old[k]
		if a.Inode != b.Inode && same(a, b, compareMode{exec: true, ignoreInode: true}) {
			inodeOnly++
		}
	}
	if inodeOnly == 0 || inodeOnly*10 < common*9 {
		return false
	}
	pl.plan.Warnings = append(pl.plan.Warnings, fmt.Sprintf(
		"incremental: %s of %s entries changed only their inode (remount?): inodes ignored for this run",
		thousands(inodeOnly), thousands(common)))
	return true
}

// thousands formats n with commas: 41,500.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// decide sets each record's action and dumpdir code and builds the entries
// in listing order.
func (pl *planner) decide() {
	plan := pl.plan
	plan.Entries = make([]Entry, len(pl.recs))
	for j := range pl.recs {
		r, m := &pl.recs[j], &plan.meta[j]
		var a Action
		switch {
		case r.Type == TypeDir:
			a, m.code = ActionEmit, archive.DumpdirDir
		case r.Type == TypeSymlink:
			// Every symlink is in every artifact (a header, no content):
			// an assembled chain then takes only regular files from older
			// artifacts, and GNU tar, which creates symlinks last through
			// placeholders, restores the mtimes of their directories.
			a, m.code = ActionEmit, archive.DumpdirStored
		case !pl.changed[j]:
			a, m.code = ActionSkip, archive.DumpdirUnchanged
		case r.Type == TypeFile && r.Size > 0:
			a, m.code = ActionStore, archive.DumpdirStored
			m.flags |= metaStore
		default:
			a, m.code = ActionEmit, archive.DumpdirStored
		}
		switch a {
		case ActionStore:
			plan.Counts.Stored++
		case ActionEmit:
			plan.Counts.Emitted++
		case ActionSkip:
			plan.Counts.Unchanged++
		}
		plan.Entries[pl.listPos[j]] = Entry{Record: r, Action: a}
	}
	pl.changed = nil
}

// deleted lists the parent's records that have no current entry, keeping
// only the top-most: a record whose directory was deleted too is left out.
func (pl *planner) deleted() {
	old, gone := pl.Parent.Records, pl.gone
	plan := pl.plan
	for k := range old {
		if !gone[k] {
			continue
		}
		plan.Counts.Deleted++
		path := old[k].Path
		if slash := strings.LastIndexByte(path, '/'); slash >= 0 {
			if q, ok := findPath(old, path[:slash]); ok && gone[q] {
				continue
			}
		}
		if len(plan.Deleted) < MaxDeleted {
			plan.Deleted = append(plan.Deleted, path)
		} else {
			plan.DeletedTruncated++
		}
	}
}

// racy flags the new index's records that the next run must read again.
func (pl *planner) racy() {
	start := pl.ListingStart.UnixNano()
	window := int64(racyWindowSFTP)
	if pl.Kind == ListingFind {
		window = racyWindowFind
	}
	limit := start - window
	for j := range pl.recs {
		r := &pl.recs[j]
		ctimeRacy := pl.Kind == ListingFind && r.Flags&FlagExec != 0 && r.CtimeNS >= limit
		if r.MtimeNS < limit && !ctimeRacy {
			continue
		}
		r.Flags |= FlagReread
		pl.plan.Counts.Racy++
		if r.MtimeNS > start {
			pl.plan.Counts.Future++
		}
	}
}
