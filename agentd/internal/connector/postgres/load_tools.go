package postgres

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xvault/xvault/agentd/internal/connector"
)

// loadSet is one installation that can load dumps: psql, and pg_restore
// when the installation has it.
type loadSet struct {
	toolset
	restore bool
}

// findLoadSets returns every installation holding psql, newest first.
func (s *session) findLoadSets(ctx context.Context) ([]loadSet, error) {
	dirs := s.c.searchDirs()
	var sets []loadSet
	seen := map[string]bool{}
	for _, d := range dirs {
		if !filepath.IsAbs(d) || seen[d] || !isExecutable(filepath.Join(d, "psql")) {
			continue
		}
		seen[d] = true
		v, err := s.toolVersion(ctx, filepath.Join(d, "psql"))
		if err != nil {
			s.c.log.Warn("postgres: unusable psql", "dir", d, "err", err)
			continue
		}
		sets = append(sets, loadSet{toolset: toolset{dir: d, version: v, major: majorNumber(v)},
			restore: isExecutable(filepath.Join(d, "pg_restore"))})
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("psql was not found in %s (hint: install postgresql-client on the agent): %w",
			strings.Join(dirs, ":"), connector.ErrPermanent)
	}
	slices.SortStableFunc(sets, func(a, b loadSet) int { return cmp.Compare(b.major, a.major) })
	return sets, nil
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// pickFor chooses among candidates (newest first) the one for a server of
// major version server: the same major, else the closest newer one, else
// the newest older one.
func pickFor(cands []loadSet, server int) loadSet {
	best := -1
	for i, t := range cands {
		switch {
		case t.major == server:
			return t
		case t.major > server:
			best = i // later ones are older, so closer
		}
	}
	if best < 0 {
		best = 0
	}
	return cands[best]
}

// knowsRestrict reports whether psql version v understands \restrict
// (added in 18, and in 17.6, 16.10, 15.14, 14.19, 13.22).
func knowsRestrict(v string) bool {
	parts := strings.Split(v, ".")
	major, _ := strconv.Atoi(parts[0])
	minor := 0
	if len(parts) > 1 {
		minor, _ = strconv.Atoi(parts[1])
	}
	switch {
	case major >= 18:
		return true
	case major < 13:
		return false
	}
	return minor >= map[int]int{17: 6, 16: 10, 15: 14, 14: 19, 13: 22}[major]
}

// customHeader is the start of a pg_dump custom archive: "PGDMP", the
// archive format version, the sizes of its integers, the format byte,
// compression, creation time, database name, then the server's and
// pg_dump's versions.
type customHeader struct {
	vmaj, vmin, vrev byte
	database         string
	serverVersion    string // "15.20 (Debian 15.20-0+deb12u1)"
	dumpVersion      string // pg_dump's
}

func (h customHeader) version() string { return fmt.Sprintf("%d.%d.%d", h.vmaj, h.vmin, h.vrev) }

// headerPeek is how much of a custom archive parseCustomHeader may need.
const headerPeek = 4 << 10

// archFormats are pg_dump's archive format bytes (archCustom, archTar, archNull, archDirectory).
var archFormats = map[byte]string{1: "custom", 3: "tar", 4: "plain", 5: "directory"}

// parseCustomHeader reads the header at the start of b.
func parseCustomHeader(b []byte) (customHeader, error) {
	var h customHeader
	if !bytes.HasPrefix(b, []byte(customMagic)) {
		return h, errors.New("not a pg_dump custom archive (no PGDMP header)")
	}
	r := &headerReader{b: b[len(customMagic):]}
	h.vmaj, h.vmin, h.vrev = r.byte(), r.byte(), r.byte()
	if r.err != nil {
		return h, errors.New("the custom archive header is truncated")
	}
	if h.vmaj != 1 || h.vmin < 10 {
		return h, fmt.Errorf("custom archive format version %s is not one pg_dump 9 or later writes", h.version())
	}
	r.intSize, r.offSize = int(r.byte()), int(r.byte())
	if r.err == nil && (r.intSize < 1 || r.intSize > 8 || r.offSize < 1 || r.offSize > 8) {
		return h, fmt.Errorf("custom archive header: implausible integer sizes %d and %d", r.intSize, r.offSize)
	}
	if f := r.byte(); r.err == nil && f != 1 {
		name := archFormats[f]
		if name == "" {
			name = strconv.Itoa(int(f))
		}
		return h, fmt.Errorf("the archive says it is of format %s, not custom", name)
	}
	if h.vmin >= 15 {
		r.byte() // compression algorithm
	} else {
		r.int() // compression level
	}
	for range 7 { // creation time: sec, min, hour, mday, mon, year, isdst
		r.int()
	}
	h.database, h.serverVersion, h.dumpVersion = r.str(), r.str(), r.str()
	if r.err != nil {
		return h, fmt.Errorf("custom archive header: %w", r.err)
	}
	return h, nil
}

type headerReader struct {
	b                []byte
	intSize, offSize int
	err              error
}

func (r *headerReader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = cmp.Or(r.err, errors.New("truncated"))
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

// int reads pg_dump's ReadInt: a sign byte, then intSize bytes, least significant first.
func (r *headerReader) int() int64 {
	neg := r.byte()
	if r.err != nil || len(r.b) < r.intSize {
		r.err = cmp.Or(r.err, errors.New("truncated"))
		return 0
	}
	var buf [8]byte
	copy(buf[:], r.b[:r.intSize])
	r.b = r.b[r.intSize:]
	v := int64(binary.LittleEndian.Uint64(buf[:]))
	if neg != 0 {
		v = -v
	}
	return v
}

// str reads pg_dump's ReadStr: a length (-1: NULL), then the bytes.
func (r *headerReader) str() string {
	n := r.int()
	switch {
	case r.err != nil || n < 0:
		return ""
	case n > 1024 || int(n) > len(r.b):
		r.err = cmp.Or(r.err, fmt.Errorf("a string of %d bytes", n))
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// restoreMinMajor is the oldest pg_restore that reads archive format
// 1.vmin (pg_backup_archiver.h: 1.14 tableam in 12, 1.15 compression
// algorithm in 16, 1.16 BLOB METADATA in 17). A format newer than this
// table knows needs a pg_restore newer than 17; pg_restore itself then
// says whether it can read it.
func restoreMinMajor(vmin byte) int {
	switch {
	case vmin > 16:
		return 1800
	case vmin == 16:
		return 1700
	case vmin == 15:
		return 1600
	case vmin == 14:
		return 1200
	case vmin == 13:
		return 1000
	}
	return 900
}

// chooseRestore picks the pg_restore for a custom archive with header h,
// loading into a server of major version server.
func chooseRestore(sets []loadSet, h customHeader, server int) (loadSet, error) {
	need := restoreMinMajor(h.vmin)
	var cands []loadSet
	var have []string
	for _, t := range sets {
		if t.restore {
			have = append(have, t.version)
			if t.major >= need {
				cands = append(cands, t)
			}
		}
	}
	if len(cands) > 0 {
		return pickFor(cands, server), nil
	}
	installed := "no pg_restore is installed"
	if len(have) > 0 {
		installed = "pg_restore " + strings.Join(have, ", ") + " cannot read it"
	}
	by := ""
	if h.dumpVersion != "" {
		by = ", made by pg_dump " + h.dumpVersion
	}
	return loadSet{}, fmt.Errorf("the dump is a custom archive of format %s%s; %s (hint: install postgresql-client-%s or later on the agent): %w",
		h.version(), by, installed, majorName(need), connector.ErrPermanent)
}

// loadCommand builds a process of tool from installation t: fixed
// arguments, the session's minimal environment, the private HOME as
// working directory, killed if the agent dies.
func (s *session) loadCommand(ctx context.Context, t toolset, tool string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, t.path(tool), args...)
	cmd.Env = s.environ()
	cmd.Dir = s.home
	cmd.WaitDelay = 10 * time.Second
	cmd.SysProcAttr = loadSysProcAttr()
	return cmd
}

// CheckDump checks a dump as stored in a snapshot without a server:
// format "sql" (plain) must be a complete pg_dump script (the transform's
// checks: no statement or COPY data cut short, no psql meta-command but
// \restrict, the completion trailer at the end); "custom" must start with
// a valid PGDMP header and, when a pg_restore that reads its format is
// installed, `pg_restore --list` must read it. r is read to its end either
// way, so a checking reader below sees every byte. Errors about the dump
// itself wrap connector.ErrPermanent; errors reading r are returned as
// they are.
func CheckDump(ctx context.Context, format string, r io.Reader) error {
	switch format {
	case "sql":
		_, err := transformPlain(io.Discard, r, plainOptions{keepOwners: true, restrict: true, restrictKey: func() string { return "x" }})
		if err != nil && !isReadError(err) {
			err = fmt.Errorf("%w: %w", err, connector.ErrPermanent)
		}
		return err
	case "custom":
		return checkCustom(ctx, r)
	}
	return fmt.Errorf("dump format %q: not one of sql, custom: %w", format, connector.ErrPermanent)
}

func isReadError(err error) bool {
	var e *readError
	return errors.As(err, &e)
}

func checkCustom(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(headerPeek)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read the dump: %w", err)
	}
	h, err := parseCustomHeader(head)
	if err != nil {
		return fmt.Errorf("custom dump: %w: %w", err, connector.ErrPermanent)
	}
	restore := newestRestore(ctx, restoreMinMajor(h.vmin))
	if restore == "" {
		if _, err := io.Copy(io.Discard, br); err != nil {
			return fmt.Errorf("read the dump: %w", err)
		}
		return nil
	}
	home, err := os.MkdirTemp("", "xvpgcheck")
	if err != nil {
		return fmt.Errorf("custom dump: %w", err)
	}
	defer os.RemoveAll(home)
	cmd := exec.CommandContext(ctx, restore, "--list")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "LC_ALL=C", "PGSYSCONFDIR=" + home}
	cmd.Dir = home
	cmd.WaitDelay = 10 * time.Second
	cmd.SysProcAttr = loadSysProcAttr()
	stderr := &headBuffer{}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("custom dump: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start pg_restore: %w", err)
	}
	// pg_restore --list stops after the table of contents: the rest is
	// read here, to the end.
	_, copyErr := io.Copy(&toolInput{w: stdin}, br)
	_ = stdin.Close()
	var readErr error
	if copyErr != nil && !isToolInput(copyErr) {
		readErr = copyErr
		_ = cmd.Process.Kill()
	} else if _, err := io.Copy(io.Discard, br); err != nil {
		readErr = err
	}
	waitErr := cmd.Wait()
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("custom dump: %w", context.Cause(ctx))
	case readErr != nil:
		return fmt.Errorf("read the dump: %w", readErr)
	case waitErr != nil:
		return fmt.Errorf("custom dump: pg_restore --list: %v: %s: %w", waitErr, firstLines(stderr.String(), stderrLines), connector.ErrPermanent)
	}
	return nil
}

// newestRestore is the path of the newest installed pg_restore of major
// version need or later, "" when there is none.
func newestRestore(ctx context.Context, need int) string {
	best, bestMajor := "", 0
	for _, d := range (&Connector{}).searchDirs() {
		p := filepath.Join(d, "pg_restore")
		if !filepath.IsAbs(d) || !isExecutable(p) {
			continue
		}
		vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		cmd := exec.CommandContext(vctx, p, "--version")
		cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C"}
		out, err := cmd.Output()
		cancel()
		m := toolVersionRE.FindSubmatch(out)
		if err != nil || m == nil {
			continue
		}
		if major := majorNumber(string(m[1])); major >= need && major > bestMajor {
			best, bestMajor = p, major
		}
	}
	return best
}

// toolInput marks the errors of writing a tool's input: the tool stopped
// reading (it exited), as opposed to the dump failing to read.
type toolInput struct{ w io.Writer }

type toolInputError struct{ err error }

func (e *toolInputError) Error() string { return "write to the client program: " + e.err.Error() }
func (e *toolInputError) Unwrap() error { return e.err }

func (t *toolInput) Write(p []byte) (int, error) {
	n, err := t.w.Write(p)
	if err != nil {
		err = &toolInputError{err}
	}
	return n, err
}

func isToolInput(err error) bool {
	var e *toolInputError
	return errors.As(err, &e)
}
