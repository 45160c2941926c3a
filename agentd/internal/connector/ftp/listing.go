package ftp

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xvault/xvault/sdk/archive"
)

// kind is what a listed name is.
type kind int

const (
	kindFile kind = iota + 1
	kindDir
	kindSymlink
	kindOther // devices, pipes, sockets: skipped with a warning
)

// listEntry is one name of a directory listing.
type listEntry struct {
	name    string
	kind    kind
	other   string // kindOther: what it is ("named pipe")
	mode    fs.FileMode
	size    int64
	mtime   time.Time
	precise bool // mtime is exact to the second (MLSD); LIST gives minutes or days
	uid     int
	gid     int
	target  string // symlinks
}

// listing is a parsed directory listing, sorted by name.
type listing struct {
	entries []listEntry
	// dots is true when the server listed "." (LIST -a does on Unix
	// servers): a readable directory always has it.
	dots bool
}

// find returns the entry named name.
func (l *listing) find(name string) (listEntry, bool) {
	i, ok := slices.BinarySearchFunc(l.entries, name, func(e listEntry, n string) int { return strings.Compare(e.name, n) })
	if !ok {
		return listEntry{}, false
	}
	return l.entries[i], true
}

// maxLineQuoted bounds how much of a bad line an error quotes.
const maxLineQuoted = 200

// parseListing parses the raw data of a LIST or MLSD reply. Every name must
// be one path element; "." and ".." are dropped; a name listed twice, a
// line that cannot be parsed or a bad name fails the listing.
//
// Servers send names verbatim, so a name holding a line break spans lines:
// a line that is not a listing line of its own continues the entry above
// it. (Such a file or directory cannot be named in an FTP command; the walk
// skips it with a warning.)
func parseListing(data []byte, mlsd bool, now time.Time) (*listing, error) {
	parse := func(line string) (listEntry, error) {
		if mlsd {
			return parseMLSDLine(line)
		}
		return parseListLine(line, now)
	}
	var raws [][]string // the lines of each entry
	for raw := range bytes.SplitSeq(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		line := strings.TrimSuffix(string(raw), "\r")
		if len(raws) == 0 && (line == "" || !mlsd && isTotalLine(line)) {
			continue
		}
		switch {
		case startsEntry(line, mlsd, now):
			raws = append(raws, []string{line})
		case len(raws) > 0:
			raws[len(raws)-1] = append(raws[len(raws)-1], line)
		default:
			_, err := parse(line)
			return nil, fmt.Errorf("cannot parse the line %q: %w", quoteLine(line), err)
		}
	}
	l := &listing{}
	for _, lines := range raws {
		raw := strings.Join(lines, "\n")
		e, err := parse(raw)
		if err != nil {
			return nil, fmt.Errorf("cannot parse the line %q: %w", quoteLine(raw), err)
		}
		if e.name == "." || e.name == ".." {
			l.dots = l.dots || e.name == "."
			continue
		}
		if err := checkElement(e.name); err != nil {
			return nil, fmt.Errorf("server listed a bad name: %w", err)
		}
		if e.kind == kindSymlink && strings.IndexByte(e.target, 0) >= 0 {
			return nil, fmt.Errorf("server listed an invalid target %q for symlink %q", e.target, e.name)
		}
		l.entries = append(l.entries, e)
	}
	slices.SortFunc(l.entries, func(a, b listEntry) int { return strings.Compare(a.name, b.name) })
	for i := 1; i < len(l.entries); i++ {
		if l.entries[i].name == l.entries[i-1].name {
			return nil, fmt.Errorf("server listed the name %q twice", l.entries[i].name)
		}
	}
	return l, nil
}

// startsEntry reports whether line begins a listed entry: everything
// before the name parses (the name itself may continue on later lines).
func startsEntry(line string, mlsd bool, now time.Time) bool {
	if mlsd {
		_, _, err := splitFacts(line)
		return err == nil
	}
	if _, _, err := unixHead(line, now); err == nil {
		return true
	}
	_, err := parseDOSLine(line)
	return err == nil
}

func quoteLine(line string) string {
	if len(line) > maxLineQuoted {
		return line[:maxLineQuoted] + "…"
	}
	return line
}

func isTotalLine(line string) bool {
	n, ok := strings.CutPrefix(line, "total ")
	return ok && isDigits(n)
}

// checkElement accepts a listed name only if it is one path element that
// the artifact format allows: not empty, not "." or "..", no "/" and no NUL.
func checkElement(name string) error {
	if strings.IndexByte(name, '/') >= 0 {
		return fmt.Errorf("%w %q: not a single path element", archive.ErrInvalidName, name)
	}
	return archive.ValidName(name)
}

// field is one space-separated token of a LIST line: line[start:end].
type field struct{ start, end int }

func fields(line string, max int) []field {
	var fs []field
	for i := 0; i < len(line) && len(fs) < max; {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		start := i
		for i < len(line) && line[i] != ' ' {
			i++
		}
		if i > start {
			fs = append(fs, field{start, i})
		}
	}
	return fs
}

// parseListLine parses one line of a LIST reply: the Unix "ls -l" form most
// servers send (vsftpd, ProFTPD, Pure-FTPd), else the MS-DOS form of IIS.
func parseListLine(line string, now time.Time) (listEntry, error) {
	if e, err := parseUnixLine(line, now); !errors.Is(err, errNotUnix) {
		return e, err
	}
	return parseDOSLine(line)
}

var errNotUnix = errors.New("not a Unix listing line")

// parseUnixLine parses "drwxr-xr-x 2 0 0 4096 Dec 01 19:14 name": mode,
// links, owner, group (some servers omit it), size, a date of three fields,
// one space, and the name verbatim (symlinks: "name -> target").
func parseUnixLine(line string, now time.Time) (listEntry, error) {
	e, perm, err := unixHead(line, now)
	if err != nil {
		return listEntry{}, err
	}
	return withType(e, perm[0])
}

// unixHead parses everything of a Unix LIST line but the type: the rest of
// the line after the date is the name, possibly empty.
func unixHead(line string, now time.Time) (listEntry, string, error) {
	fs := fields(line, 8)
	if len(fs) < 7 || !validPerm(line[fs[0].start:fs[0].end]) {
		return listEntry{}, "", errNotUnix
	}
	text := func(i int) string { return line[fs[i].start:fs[i].end] }
	date := -1
	for _, i := range []int{5, 4, 3} { // with owner and group, without group, without both
		if i+2 < len(fs) && isDigits(text(i-1)) && monthOf(text(i)) > 0 && isDigits(text(i+1)) {
			date = i
			break
		}
	}
	if date < 0 {
		return listEntry{}, "", errors.New("no size and date")
	}
	mtime, err := lsTime(text(date), text(date+1), text(date+2), now)
	if err != nil {
		return listEntry{}, "", err
	}
	size, err := strconv.ParseInt(text(date-1), 10, 64)
	if err != nil {
		return listEntry{}, "", fmt.Errorf("bad size: %w", err)
	}
	perm := text(0)
	e := listEntry{name: line[min(fs[date+2].end+1, len(line)):], mode: permBits(perm), size: size, mtime: mtime}
	if date == 5 {
		e.uid, e.gid = atoiOr0(text(2)), atoiOr0(text(3))
	} else if date == 4 {
		e.uid = atoiOr0(text(2))
	}
	return e, perm, nil
}

// withType sets the kind from the type letter of an "ls -l" mode and
// splits a symlink's name from its target.
func withType(e listEntry, t byte) (listEntry, error) {
	switch t {
	case '-':
		e.kind = kindFile
	case 'd':
		e.kind, e.size = kindDir, 0
	case 'l':
		e.kind = kindSymlink
		name, target, err := splitLink(e.name, e.size)
		if err != nil {
			return listEntry{}, err
		}
		e.name, e.target, e.size = name, target, 0
	default:
		e.kind, e.size = kindOther, 0
		e.other = map[byte]string{'c': "character device", 'b': "block device", 'p': "named pipe", 's': "socket", 'D': "door"}[t]
	}
	return e, nil
}

// splitLink splits "name -> target". A symlink's listed size is the length
// of its target, which tells where the target starts even when the name
// holds " -> " too; without a usable size the separator must be unique.
func splitLink(s string, size int64) (name, target string, err error) {
	const sep = " -> "
	if n := int64(len(s)); size > 0 && n > size+int64(len(sep)) && s[n-size-int64(len(sep)):n-size] == sep {
		return s[:n-size-int64(len(sep))], s[n-size:], nil
	}
	switch strings.Count(s, sep) {
	case 0:
		return "", "", errors.New("symlink without a target")
	case 1:
		name, target, _ = strings.Cut(s, sep)
		if target == "" {
			return "", "", errors.New("symlink with an empty target")
		}
		return name, target, nil
	}
	return "", "", errors.New(`ambiguous symlink: " -> " occurs more than once`)
}

// validPerm accepts "drwxr-xr-x" with an optional ACL or attribute marker.
func validPerm(p string) bool {
	if len(p) == 11 && strings.ContainsRune("+.@", rune(p[10])) {
		p = p[:10]
	}
	if len(p) != 10 || !strings.ContainsRune("-dlcbpsD", rune(p[0])) {
		return false
	}
	for i, c := range p[1:] {
		ok := c == '-' || c == rune("rwx"[i%3]) || i%3 == 2 && strings.ContainsRune("sStTlL", c)
		if !ok {
			return false
		}
	}
	return true
}

// permBits converts "rwxr-sr-t" (after the type letter) into mode bits.
func permBits(p string) fs.FileMode {
	var m fs.FileMode
	for i, c := range p[1:10] {
		if c != '-' && c != 'S' && c != 'T' && c != 'L' && c != 'l' {
			m |= 1 << (8 - i)
		}
	}
	switch p[3] {
	case 's', 'S':
		m |= fs.ModeSetuid
	}
	switch p[6] {
	case 's', 'S', 'l', 'L':
		m |= fs.ModeSetgid
	}
	switch p[9] {
	case 't', 'T':
		m |= fs.ModeSticky
	}
	return m
}

// lsTime parses "Dec 01 19:14" (a recent date: the year is the latest
// that does not put it more than a day into the future) or "Dec 01 2019".
// Servers send UTC unless configured otherwise (vsftpd use_localtime).
func lsTime(mon, day, clock string, now time.Time) (time.Time, error) {
	d, err := strconv.Atoi(day)
	if err != nil || d < 1 || d > 31 {
		return time.Time{}, fmt.Errorf("bad day %q", day)
	}
	m := time.Month(monthOf(mon))
	if h, mm, ok := strings.Cut(clock, ":"); ok {
		hour, err1 := strconv.Atoi(h)
		min, err2 := strconv.Atoi(mm)
		if err1 != nil || err2 != nil || hour > 23 || min > 59 || hour < 0 || min < 0 {
			return time.Time{}, fmt.Errorf("bad time %q", clock)
		}
		now = now.UTC()
		t := time.Date(now.Year(), m, d, hour, min, 0, 0, time.UTC)
		if t.After(now.Add(24 * time.Hour)) {
			t = t.AddDate(-1, 0, 0)
		}
		return t, nil
	}
	year, err := strconv.Atoi(clock)
	if err != nil || len(clock) != 4 {
		return time.Time{}, fmt.Errorf("bad year %q", clock)
	}
	return time.Date(year, m, d, 0, 0, 0, 0, time.UTC), nil
}

func monthOf(s string) int {
	for i, m := range []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"} {
		if strings.EqualFold(s, m) {
			return i + 1
		}
	}
	return 0
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func atoiOr0(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
