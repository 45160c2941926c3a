package incremental

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/xvault/xvault/sdk/archive"
)

// Action says what the artifact writer does with a listed entry.
type Action uint8

const (
	// ActionStore: a regular file with content to read (new or changed, size > 0).
	ActionStore Action = iota + 1
	// ActionEmit: an entry written from its listing record alone: every
	// directory, a new or changed symlink or empty file, a parent of a root.
	ActionEmit
	// ActionSkip: unchanged since the parent; its content is in an earlier
	// artifact of the chain (dumpdir code N).
	ActionSkip
)

func (a Action) String() string {
	switch a {
	case ActionStore:
		return "store"
	case ActionEmit:
		return "emit"
	case ActionSkip:
		return "skip"
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// MaxDeleted is how many deleted paths a plan lists (Plan.DeletedTruncated
// counts the rest).
const MaxDeleted = 10_000

// PlanParams is the input of NewPlan.
type PlanParams struct {
	// Parent is the parent snapshot's index; nil plans a full.
	Parent *Index
	// Listing is the current listing in the order listed: pre-order (a
	// directory before its children), the parents of the roots first.
	// NewPlan sorts it in place by path and keeps it as the new index's
	// records (no copy: 88 bytes an entry): the caller must not use it
	// afterwards.
	Listing []Record
	// Roots are the configured paths, normalised, without leading "/".
	Roots []string
	// Kind is how Listing was made: ListingFind or ListingSFTP.
	Kind string
	// ListingStart is when the listing started (server clock for find,
	// agent clock for sftp): the racy rule counts from it.
	ListingStart time.Time
}

// Entry is what to do with one listed entry.
type Entry struct {
	// Record is the entry's record in the new index: Reread updates it.
	Record *Record
	Action Action
	// Dumpdir is the GNU.dumpdir value of a directory inside a root of an
	// incremental (archive.EncodeDumpdir); "" for a full, a parent of a root
	// and a non-directory.
	Dumpdir string
}

// Counts are a plan's counters, for the job's notes.
type Counts struct {
	Stored    int // ActionStore entries (less the vanished ones)
	Emitted   int // ActionEmit entries
	Unchanged int // ActionSkip entries
	Deleted   int // parent records without a current entry (a deleted tree counts each entry)
	Vanished  int // Store entries that could not be read
	Reread    int // Store entries that changed while read
	Racy      int // new index records flagged reread by the racy rule
	Future    int // of those, records whose mtime is after the listing start
}

// Plan is the comparison of a listing with its parent's index: what each
// entry of the new artifact is, what was deleted, and the new index.
type Plan struct {
	// Full is true when there was no parent: everything is stored or
	// emitted, no dumpdirs.
	Full bool
	// Entries has one entry per listing record, in listing order.
	Entries []Entry
	// Deleted holds the top-most deleted paths (a deleted directory once,
	// not its content), sorted, at most MaxDeleted.
	Deleted          []string
	DeletedTruncated int
	// Warnings are for the job (e.g. the remount rule).
	Warnings []string
	Counts   Counts

	records []Record  // the new index, sorted by path
	meta    []recMeta // per record
	kind    string
}

// recMeta is what a plan keeps per record besides the record.
type recMeta struct {
	code  byte // dumpdir code: archive.DumpdirStored, DumpdirUnchanged, DumpdirDir
	flags uint8
}

const (
	metaStore    uint8 = 1 << iota // ActionStore
	metaDumpdir                    // a directory with a dumpdir
	metaVanished                   // dropped from the new index
	metaInside                     // inside a root (not a parent of one)
)

// planner holds the scratch state of NewPlan (dropped when it returns).
type planner struct {
	PlanParams
	plan    *Plan
	recs    []Record // Listing, sorted
	listPos []int32  // sorted position -> listing index
	sorted  []int32  // listing index -> sorted position
	parent  []int32  // sorted position -> sorted position of its directory, -1
	changed []bool   // sorted position -> new or changed since Parent
	gone    []bool   // parent record -> no current entry
}

// NewPlan compares p.Listing with p.Parent (section 2 of
// docs/incremental.md). A directory whose dumpdir would be too large
// returns an error wrapping archive.ErrDumpdirTooLarge: the caller then
// makes a full.
func NewPlan(p PlanParams) (*Plan, error) {
	if err := checkParams(&p); err != nil {
		return nil, err
	}
	pl := &planner{PlanParams: p, plan: &Plan{Full: p.Parent == nil, kind: p.Kind}}
	if err := pl.sort(); err != nil {
		return nil, err
	}
	if err := pl.link(); err != nil {
		return nil, err
	}
	if err := pl.placeRoots(); err != nil {
		return nil, err
	}
	pl.compare()
	pl.decide()
	if !pl.plan.Full {
		if err := pl.dumpdirs(); err != nil {
			return nil, err
		}
		pl.deleted()
	}
	pl.racy()
	pl.plan.records = pl.recs
	return pl.plan, nil
}

func checkParams(p *PlanParams) error {
	if p.Kind != ListingFind && p.Kind != ListingSFTP {
		return fmt.Errorf("plan: unknown listing kind %q", p.Kind)
	}
	if p.ListingStart.IsZero() {
		return errors.New("plan: listing start time missing")
	}
	if len(p.Roots) == 0 {
		return errors.New("plan: no roots")
	}
	for _, r := range p.Roots {
		if err := archive.ValidName(r); err != nil {
			return fmt.Errorf("plan: root: %w", err)
		}
	}
	if p.Parent != nil && p.Parent.Header.Listing != ListingFind && p.Parent.Header.Listing != ListingSFTP {
		return fmt.Errorf("plan: parent index has unknown listing kind %q", p.Parent.Header.Listing)
	}
	if len(p.Listing) >= 1<<31-1 {
		return fmt.Errorf("plan: listing of %d entries is too large", len(p.Listing))
	}
	return nil
}

// sort puts the listing into path order (in place) and checks every
// record.
func (pl *planner) sort() error {
	n := len(pl.Listing)
	pl.listPos = make([]int32, n)
	for i := range pl.listPos {
		pl.listPos[i] = int32(i)
	}
	slices.SortFunc(pl.listPos, func(a, b int32) int {
		return strings.Compare(pl.Listing[a].Path, pl.Listing[b].Path)
	})
	pl.sorted = make([]int32, n)
	prev := ""
	for j, i := range pl.listPos {
		pl.sorted[i] = int32(j)
		if err := checkRecord(prev, j, &pl.Listing[i]); err != nil {
			return fmt.Errorf("plan: listing record %d: %w", i+1, err)
		}
		prev = pl.Listing[i].Path
	}
	pl.recs = pl.Listing
	permute(pl.recs, pl.listPos)
	pl.Listing = nil
	pl.plan.meta = make([]recMeta, n)
	return nil
}

// permute reorders recs in place so that the new recs[j] is the old
// recs[from[j]] (following each cycle once).
func permute(recs []Record, from []int32) {
	done := make([]bool, len(recs))
	for j := range recs {
		if done[j] {
			continue
		}
		tmp := recs[j]
		for k := j; ; {
			src := int(from[k])
			done[k] = true
			if src == j {
				recs[k] = tmp
				break
			}
			recs[k] = recs[src]
			k = src
		}
	}
}

// link finds each record's directory and checks the listing's order.
func (pl *planner) link() error {
	pl.parent = make([]int32, len(pl.recs))
	for j := range pl.recs {
		pl.parent[j] = -1
		path := pl.recs[j].Path
		slash := strings.LastIndexByte(path, '/')
		if slash < 0 {
			continue
		}
		dir := path[:slash]
		q, ok := findPath(pl.recs, dir)
		switch {
		case !ok:
			return fmt.Errorf("plan: listing: %q: its directory %q is not listed", path, dir)
		case pl.recs[q].Type != TypeDir:
			return fmt.Errorf("plan: listing: %q: %q is not a directory", path, dir)
		case pl.listPos[q] > pl.listPos[j]:
			return fmt.Errorf("plan: listing: %q is listed before its directory", path)
		}
		pl.parent[j] = int32(q)
	}
	return nil
}

// findPath returns the position of path in recs (sorted by path).
func findPath(recs []Record, path string) (int, bool) {
	k := sort.Search(len(recs), func(k int) bool { return recs[k].Path >= path })
	return k, k < len(recs) && recs[k].Path == path
}

// placeRoots marks the records inside a root and checks that every other
// record is a parent of one.
func (pl *planner) placeRoots() error {
	roots := slices.Clone(pl.Roots)
	slices.Sort(roots)
	meta := pl.plan.meta
	for i := range pl.listPos { // listing order: a directory before its children
		j := pl.sorted[i]
		path := pl.recs[j].Path
		_, isRoot := slices.BinarySearch(roots, path)
		if isRoot || (pl.parent[j] >= 0 && meta[pl.parent[j]].flags&metaInside != 0) {
			meta[j].flags |= metaInside
			continue
		}
		if !slices.ContainsFunc(roots, func(r string) bool { return strings.HasPrefix(r, path+"/") }) {
			return fmt.Errorf("plan: listing: %q is neither inside a root nor a parent of one", path)
		}
	}
	for _, r := range roots {
		if _, ok := findPath(pl.recs, r); !ok {
			return fmt.Errorf("plan: listing: root %q is not listed", r)
		}
	}
	return nil
}
