package sshexec

import (
	"bufio"
	"errors"
	"fmt"
	"path"

	"github.com/xvault/xvault/agentd/internal/connector/sshconn"
	"github.com/xvault/xvault/agentd/internal/incremental"
)

// Warning is a non-fatal problem with one remote path (absolute), for the
// sink's Warn.
type Warning struct {
	Path string
	Err  error
}

// listParser reads the records of the listing finds. Paths and link
// targets of all records go into one arena, turned into one string at the
// end, so a record costs its fixed fields plus its path bytes.
type listParser struct {
	fr      *fieldReader
	exclude []string
	recs    []incremental.Record
	spans   []recSpan
	arena   []byte
	warns   []Warning
	// cur is the remote path of the deepest directory of the walk, ends[j]
	// the length of cur for the directory at depth j, excl[j] whether that
	// directory is excluded.
	cur  []byte
	ends []int
	excl []bool
}

// recSpan locates a record's path (arena[off:mid]) and target (arena[mid:end]).
type recSpan struct{ off, mid, end int }

// rawRecord is one record as read, before it is kept or dropped.
type rawRecord struct {
	typ   byte
	depth int
	name  []byte // valid until the next field is read
	keep  bool   // set when placed: the record is kept; its path is arena[off:mid]
	off   int
	mid   int
	rec   incremental.Record
}

// finish returns the records with their strings set.
func (p *listParser) finish() []incremental.Record {
	s := string(p.arena)
	for i, sp := range p.spans {
		p.recs[i].Path = s[sp.off:sp.mid]
		p.recs[i].Target = s[sp.mid:sp.end]
	}
	p.arena = nil
	return p.recs
}

// readFind reads the records of one find up to its "E" trailer, handing each
// to rec (with its 1-based number). It returns the number of records and
// the exit status find reported.
func (p *listParser) readFind(rec func(n int, r *rawRecord) error) (int, int, error) {
	for n := 1; ; n++ {
		b, err := p.fr.field()
		if err != nil {
			return n - 1, 0, fmt.Errorf("record %d: %w", n, err)
		}
		if string(b) == "E" {
			st, err := p.status()
			return n - 1, st, err
		}
		if len(b) != 1 || !knownType(b[0]) {
			return n - 1, 0, fmt.Errorf("record %d: %w: unknown type %q", n, errFraming, truncate(string(b), 40))
		}
		r := rawRecord{typ: b[0]}
		if err := p.fields(&r, func() error { return rec(n, &r) }); err != nil {
			return n - 1, 0, fmt.Errorf("record %d: %w", n, err)
		}
		if r.keep {
			r.rec.Type, r.rec.Flags = incremental.Type(r.typ), incremental.FlagExec
			if r.typ != 'f' {
				r.rec.Size = 0
			}
			p.recs = append(p.recs, r.rec)
			p.spans = append(p.spans, recSpan{off: r.off, mid: r.mid, end: len(p.arena)})
		}
	}
}

func (p *listParser) status() (int, error) {
	b, err := p.fr.field()
	if err != nil {
		return 0, fmt.Errorf("exit status: %w", err)
	}
	st, err := parseUint(b, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("%w: exit status %w", errFraming, err)
	}
	return int(st), nil
}

// knownType: the %y letters find prints.
func knownType(c byte) bool {
	switch c {
	case 'f', 'd', 'l', 'b', 'c', 'p', 's', 'D', 'U':
		return true
	}
	return false
}

// skipReason says why an entry of a type that is not archived is skipped.
func skipReason(c byte) string {
	switch c {
	case 'b':
		return "skipped: block device"
	case 'c':
		return "skipped: character device"
	case 'p':
		return "skipped: named pipe"
	case 's':
		return "skipped: socket"
	case 'D':
		return "skipped: door"
	}
	return "skipped: unknown file type"
}

// fields reads the 11 fields after the type. at is called once the depth
// and the name are read (r.name valid), to place the entry; the numeric
// fields follow.
func (p *listParser) fields(r *rawRecord, at func() error) error {
	b, err := p.fr.field()
	if err != nil {
		return err
	}
	d, err := parseUint(b, 10, 16)
	if err != nil {
		return fmt.Errorf("%w: depth %w", errFraming, err)
	}
	r.depth = int(d)
	if r.name, err = p.fr.field(); err != nil {
		return err
	}
	if err := at(); err != nil {
		return err
	}
	return p.numbers(r)
}

// numbers reads size … target into r.rec.
func (p *listParser) numbers(r *rawRecord) error {
	x := &r.rec
	vals := [5]uint64{}
	var err error
	for i, f := range []struct {
		name string
		time *int64
		bits int
		base uint64
	}{{name: "size", bits: 63, base: 10}, {name: "mtime", time: &x.MtimeNS}, {name: "ctime", time: &x.CtimeNS},
		{name: "inode", bits: 64, base: 10}, {name: "mode", bits: 32, base: 8}, {name: "uid", bits: 32, base: 10},
		{name: "gid", bits: 32, base: 10}, {name: "nlink", bits: 32, base: 10}} {
		b, ferr := p.fr.field()
		if ferr != nil {
			return ferr
		}
		if f.time != nil {
			if *f.time, err = parseFindTime(b); err != nil {
				return fmt.Errorf("%w: %s %w", errFraming, f.name, err)
			}
			continue
		}
		v, err := parseUint(b, f.base, f.bits)
		if err != nil {
			return fmt.Errorf("%w: %s %w", errFraming, f.name, err)
		}
		if i == 0 {
			x.Size = int64(v)
		} else {
			vals[i-3] = v
		}
	}
	x.Inode, x.UID, x.GID, x.Nlink = vals[0], uint32(vals[2]), uint32(vals[3]), uint32(vals[4])
	if vals[1] > 0o7777 {
		return fmt.Errorf("%w: mode %o above 07777", errFraming, vals[1])
	}
	x.Mode = uint32(vals[1])
	return p.target(r)
}

// target reads the link target: non-empty for a symlink, empty otherwise.
func (p *listParser) target(r *rawRecord) error {
	b, err := p.fr.field()
	if err != nil {
		return err
	}
	if (r.typ == 'l') != (len(b) > 0) {
		if r.typ == 'l' {
			return fmt.Errorf("%w: symlink with an empty target", errFraming)
		}
		return fmt.Errorf("%w: a link target on an entry of type %c", errFraming, r.typ)
	}
	if r.keep && r.typ == 'l' {
		p.arena = append(p.arena, b...)
	}
	return nil
}

// validBase checks a %f name: one path element.
func validBase(name []byte) error {
	switch {
	case len(name) == 0:
		return errors.New("empty name")
	case string(name) == "." || string(name) == "..":
		return fmt.Errorf("name %q", name)
	}
	for _, c := range name {
		if c == '/' {
			return fmt.Errorf("name %q contains a slash", truncate(string(name), 80))
		}
	}
	return nil
}

// child places a record of depth ≥ 1 below the last directory at depth-1
// and returns its remote path (p.cur, valid until the next record) and
// whether it is excluded. The path is valid by construction: a valid
// directory path, "/", one checked element.
func (p *listParser) child(r *rawRecord) ([]byte, bool, error) {
	k := r.depth
	if k == 0 {
		return nil, false, fmt.Errorf("%w: a second entry at depth 0", errFraming)
	}
	if k > len(p.ends) {
		return nil, false, fmt.Errorf("%w: depth %d does not follow a directory at depth %d", errFraming, k, k-1)
	}
	if err := validBase(r.name); err != nil {
		return nil, false, fmt.Errorf("%w: %w", errFraming, err)
	}
	p.cur = append(append(p.cur[:p.ends[k-1]], '/'), r.name...)
	if len(p.cur) > maxListPath {
		return nil, false, fmt.Errorf("%w: a path longer than %d bytes", errFraming, maxListPath)
	}
	excluded := p.excl[k-1] || len(p.exclude) > 0 && sshconn.Excluded(p.exclude, string(p.cur))
	p.ends, p.excl = p.ends[:k], p.excl[:k]
	if r.typ == 'd' {
		p.ends, p.excl = append(p.ends, len(p.cur)), append(p.excl, excluded)
	}
	return p.cur, excluded, nil
}

// keep marks the record with remote path full as kept and puts the path in
// the arena, or warns and drops an entry of a type that is not archived.
func (p *listParser) keep(r *rawRecord, full []byte) {
	if r.typ != 'f' && r.typ != 'd' && r.typ != 'l' {
		p.warns = append(p.warns, Warning{Path: string(full), Err: errors.New(skipReason(r.typ))})
		return
	}
	r.keep, r.off = true, len(p.arena)
	p.arena = append(p.arena, full[1:]...)
	r.mid = len(p.arena)
}

// rootName is what find prints as %f for a starting point.
func rootName(p string) string {
	if p == "/" {
		return "/"
	}
	return path.Base(p)
}

// rootMissingError: the find of a configured root printed no record.
type rootMissingError struct {
	root   string
	detail string // find's stderr, when known
}

func (e *rootMissingError) Error() string {
	msg := fmt.Sprintf("configured path %s does not exist", e.root)
	if e.detail != "" {
		msg += " (" + e.detail + ")"
	}
	return msg
}

// readListing reads the records of the parents' find (when dirs is not
// empty) and of each root's find, in the order of listingScript, leaving br
// at the first byte after the last trailer (the tar stream). A missing root
// is a *rootMissingError; a malformed record names its find and number.
func readListing(br *bufio.Reader, roots, dirs, exclude []string, hint SizeHint) ([]incremental.Record, []Warning, error) {
	if b, _ := br.Peek(2); string(b) == "N\x00" {
		return nil, nil, ErrNoFind
	}
	p := &listParser{fr: &fieldReader{br: br}, exclude: exclude}
	p.presize(hint)
	if len(dirs) > 0 {
		if err := p.readParents(dirs); err != nil {
			return nil, nil, err
		}
	}
	for _, r := range roots {
		n, _, err := p.readRoot(r)
		if err != nil {
			return nil, nil, fmt.Errorf("listing of %s: %w", r, err)
		}
		if n == 0 {
			return nil, nil, &rootMissingError{root: r}
		}
	}
	return p.finish(), p.warns, nil
}

// SizeHint is what a listing is expected to hold (the parent's index): the
// parser allocates that much up front, with a little room to grow, instead
// of growing its slices record by record.
type SizeHint struct {
	Entries   int
	PathBytes int // paths and link targets together
}

func (p *listParser) presize(h SizeHint) {
	const maxHintEntries = 1 << 24 // a hint is a guess: never let it allocate wildly
	if h.Entries <= 0 || h.Entries > maxHintEntries {
		return
	}
	n := h.Entries + h.Entries/16
	p.recs = make([]incremental.Record, 0, n)
	p.spans = make([]recSpan, 0, n)
	if h.PathBytes > 0 && h.PathBytes < 64*maxHintEntries {
		p.arena = make([]byte, 0, h.PathBytes+h.PathBytes/16)
	}
}

// readParents reads the find of the parent directories: one record per
// directory, in order, each a directory (find -H followed symlinks).
func (p *listParser) readParents(dirs []string) error {
	n, _, err := p.readFind(func(n int, r *rawRecord) error {
		if n > len(dirs) {
			return fmt.Errorf("%w: more records than parents", errFraming)
		}
		d := dirs[n-1]
		if r.depth != 0 || string(r.name) != rootName(d) {
			return fmt.Errorf("stat %s (parent of a configured path): not found (find printed %q next)", d, truncate(string(r.name), 80))
		}
		if r.typ != 'd' {
			return fmt.Errorf("%s (parent of a configured path) is not a directory", d)
		}
		p.keep(r, []byte(d))
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing of the parents of the configured paths: %w", err)
	}
	if n < len(dirs) {
		return fmt.Errorf("stat %s (parent of a configured path): not found", dirs[n])
	}
	return nil
}

// readRoot reads the find of one root: the root itself first, then its
// content in pre-order.
func (p *listParser) readRoot(root string) (int, int, error) {
	return p.readFind(func(n int, r *rawRecord) error {
		if n == 1 {
			return p.placeRoot(root, r)
		}
		full, excluded, err := p.child(r)
		if err != nil {
			return err
		}
		if !excluded {
			p.keep(r, full)
		}
		return nil
	})
}

// placeRoot starts the walk of root at its own record. The root "/" itself
// is not archived (as over SFTP), only its content.
func (p *listParser) placeRoot(root string, r *rawRecord) error {
	if r.depth != 0 || string(r.name) != rootName(root) {
		return fmt.Errorf("%w: the first record must be the root itself, got %q at depth %d",
			errFraming, truncate(string(r.name), 80), r.depth)
	}
	p.cur = append(p.cur[:0], root...)
	if root == "/" {
		if r.typ != 'd' {
			return fmt.Errorf("%w: the root \"/\" must be a directory", errFraming)
		}
		p.cur = p.cur[:0]
	} else {
		p.keep(r, []byte(root))
	}
	p.ends, p.excl = p.ends[:0], p.excl[:0]
	if r.typ == 'd' {
		p.ends, p.excl = append(p.ends, len(p.cur)), append(p.excl, false)
	}
	return nil
}
