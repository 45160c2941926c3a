package postgres

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"regexp"
)

// A plain dump is a psql script, and psql runs more than SQL: its
// backslash meta-commands (\! runs a shell command on the agent, \o writes
// a file, \copy reads one). pg_dump writes none but \restrict and
// \unrestrict, and the COPY data it ends with \. ; a dump that holds
// another (an object name smuggling a line break into a comment of an old
// pg_dump's output, CVE-2025-8714) is refused. The transform follows the
// script as psql's own lexer does (strings, E'' strings and their quote
// continuation, "identifiers", $tag$ bodies, nested comments, parentheses,
// BEGIN ATOMIC bodies), so it knows where every statement starts and ends,
// and passes COPY data through untouched. On top of that check, psql runs
// the script in restricted mode whenever it knows \restrict: the dump's own
// \restrict line is kept, and a dump without one gets one.
//
// Without KeepOwners the top-level ALTER … OWNER TO …, GRANT, REVOKE,
// ALTER DEFAULT PRIVILEGES and [RE]SET SESSION AUTHORIZATION statements are
// dropped (pg_restore's --no-owner --no-acl). Memory is bounded: lines are
// read 64 KiB at a time, a statement is held only while it may still be
// one to drop (ALTER …, at most maxHeld bytes), COPY data is copied as is.
//
// Limits: psql follows standard_conforming_strings as the server reports
// it; the transform follows the SET statements pg_dump writes (and refuses
// one it cannot read) but not a set_config() call. That matters only to a
// psql without \restrict, which the loader warns about.

// plainOptions say how a plain dump is transformed.
type plainOptions struct {
	keepOwners bool
	// restrict: the psql that runs the script knows \restrict.
	restrict bool
	// restrictKey makes the key of the \restrict line added to a dump
	// without one (nil: a random key).
	restrictKey func() string
	// readSize is the read buffer (default 64 KiB; tests use tiny ones).
	readSize int
}

// plainResult is what the transform did.
type plainResult struct {
	dropped         int    // statements dropped (owners, privileges)
	droppedRestrict bool   // the dump's \restrict lines, which psql does not know, were removed
	addedRestrict   string // the \restrict line added to a dump without one
}

const (
	// maxHeld bounds a statement held back while it may be one to drop;
	// a longer one is passed on (pg_dump's OWNER TO lines are short).
	maxHeld = 1 << 20
	// maxMetaLine bounds a \restrict line.
	maxMetaLine = 4 << 10
	// maxDollarTag bounds a $tag$ (an identifier: 63 bytes in practice).
	maxDollarTag = 1 << 10
	wordText     = 32 // keyword bytes kept per token
	firstTokens  = 6
)

// transformPlain copies the plain dump src to dst, transformed. It fails,
// and dst must then be discarded, when the dump is truncated (it ends in a
// statement or in COPY data, or lacks pg_dump's completion trailer), holds a
// psql meta-command, or dst fails.
func transformPlain(dst io.Writer, src io.Reader, opts plainOptions) (plainResult, error) {
	size := opts.readSize
	if size == 0 {
		size = 64 << 10
	}
	t := &plainTransform{opts: opts, out: bufio.NewWriterSize(dst, 64<<10), std: true, line: 1}
	err := t.run(bufio.NewReaderSize(src, size))
	return t.res, err
}

// readError is a failure to read the dump (not a fault of the dump).
type readError struct{ err error }

func (e *readError) Error() string { return "read the dump: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

type lexState uint8

const (
	sTop          lexState = iota
	sWord                  // unquoted identifier or keyword
	sNumber                // digits and what sticks to them
	sUAmp                  // the word U, then &: U&'…' or U&"…"?
	sDash                  // "-": a -- comment?
	sSlash                 // "/": a /* comment?
	sLineComment           // -- … end of line
	sBlock                 // /* … */ (nested)
	sBlockStar             // in a block comment, after "*"
	sBlockSlash            // in a block comment, after "/"
	sString                // '…' of kind strKind
	sStringEsc             // after a backslash in an escape string
	sAfterString           // after a closing quote: '' or a continuation on a later line?
	sAfterDash             // after a string, "-"
	sAfterComment          // after a string, in a -- comment
	sDouble                // "…"
	sDoubleQuote           // "…" then ": "" continues it
	sDollarOpen            // "$" then tag bytes
	sDollar                // $tag$ … $tag$
)

type strKind uint8

const (
	strStandard strKind = iota // '…' with standard_conforming_strings on, N'…', U&'…'
	strEscape                  // E'…' (or '…' with standard_conforming_strings off)
	strBits                    // B'…', X'…': '' does not continue them
)

type tokKind uint8

const (
	tokWord  tokKind = iota + 1 // unquoted: text upper-cased
	tokIdent                    // "quoted identifier"
	tokOther
)

type token struct {
	kind tokKind
	text string
}

// Statement modes: what happens to the bytes of the current statement.
const (
	modePass = iota
	modeHold // held in buf until it is known whether it is dropped
	modeDrop
)

type plainTransform struct {
	opts plainOptions
	out  *bufio.Writer
	res  plainResult

	check       outputCheck
	line        int // of the byte being read
	copyMode    bool
	copyLine    int
	pendingCopy bool // COPY … FROM stdin; ended: only blanks until the end of the line
	inMeta      bool // reading a meta-command line into meta
	meta        []byte
	restrictOK  bool // the dump's \restrict was kept, or ours added
	lastOut     byte

	// lexer
	state      lexState
	kind       strKind
	std        bool // standard_conforming_strings
	justClosed bool
	sawNewline bool
	pending    byte // "-" or "/" not yet known to start a statement
	depth      int  // block comment nesting
	word       []byte
	wordLong   bool
	tag        []byte
	dm         int // bytes of "$tag$" matched
	paren      int
	beginDepth int
	idents     [4]byte
	identCount int

	// statement
	inStmt    bool
	stmtLine  int
	mode      int
	held      []byte
	n         int
	first     [firstTokens]token
	last      [3]token
	fromStdin bool
}

func (t *plainTransform) run(br *bufio.Reader) error {
	lineStart := true
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			_, _ = t.check.Write(chunk)
			if e := t.chunk(chunk, lineStart, err == bufio.ErrBufferFull); e != nil {
				return e
			}
			if _, e := t.out.Write(nil); e != nil {
				return e
			}
			lineStart = chunk[len(chunk)-1] == '\n'
			if lineStart {
				t.line++
			}
		}
		switch {
		case err == nil || errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return t.end()
		default:
			return &readError{err}
		}
	}
}

func (t *plainTransform) chunk(p []byte, lineStart, partial bool) error {
	if t.copyMode {
		if lineStart && (string(p) == "\\.\n" || string(p) == "\\.") {
			t.copyMode = false
		}
		_, err := t.out.Write(p)
		return err
	}
	if t.inMeta || lineStart && p[0] == '\\' && !t.inStmt && t.state == sTop && !t.pendingCopy {
		// A meta-command line, read whole (it may come in pieces).
		t.inMeta = true
		if len(t.meta)+len(p) > maxMetaLine {
			return t.errorf("a line of more than %d bytes starting with a backslash", maxMetaLine)
		}
		t.meta = append(t.meta, p...)
		if partial {
			return nil
		}
		t.inMeta = false
		err := t.metaLine(t.meta)
		t.meta = t.meta[:0]
		return err
	}
	for _, c := range p {
		if err := t.step(c); err != nil {
			return err
		}
	}
	return nil
}

// restrictLine is the only meta-command line a dump may hold (pg_dump's key
// is 64 letters and digits).
var restrictLine = regexp.MustCompile(`^\\(un)?restrict [A-Za-z0-9]{1,256}\n?$`)

func (t *plainTransform) metaLine(p []byte) error {
	if !restrictLine.Match(p) {
		return t.errorf("psql meta-command %q refused: a dump made by pg_dump holds none but \\restrict and \\unrestrict",
			truncate(bytes.TrimRight(p, "\n"), 40))
	}
	switch {
	case !t.opts.restrict:
		t.res.droppedRestrict = true
	case t.res.addedRestrict != "":
		// psql runs restricted under our key: the dump's own lines would fail.
	default:
		t.restrictOK = true
		t.write(p)
	}
	return nil
}

func (t *plainTransform) end() error {
	switch {
	case t.copyMode:
		return t.errorf("the dump ends inside the COPY data begun on line %d: it is truncated", t.copyLine)
	case t.inMeta:
		if err := t.metaLine(t.meta); err != nil {
			return err
		}
	case t.inStmt || t.pending != 0 || (t.state != sTop && t.state != sLineComment):
		return t.errorf("the dump ends inside the statement begun on line %d: it is truncated", t.stmtLine)
	}
	if t.check.verify("sql") != nil {
		return errors.New("plain dump: it does not end with pg_dump's completion trailer (-- PostgreSQL database dump complete): " +
			"it is truncated, or not a pg_dump dump")
	}
	return t.out.Flush()
}

func (t *plainTransform) errorf(format string, args ...any) error {
	return fmt.Errorf("plain dump, line %d: %s", t.line, fmt.Sprintf(format, args...))
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

func (t *plainTransform) write(p []byte) {
	if len(p) > 0 {
		_, _ = t.out.Write(p)
		t.lastOut = p[len(p)-1]
	}
}

// put routes one byte of the script: between statements it is written;
// in a statement the statement's mode decides.
func (t *plainTransform) put(c byte) {
	if !t.inStmt || t.mode == modePass {
		_ = t.out.WriteByte(c)
		t.lastOut = c
		return
	}
	if t.mode == modeHold {
		if len(t.held) >= maxHeld {
			t.flushHeld()
			t.put(c)
			return
		}
		t.held = append(t.held, c)
	}
}

func (t *plainTransform) flushHeld() {
	t.write(t.held)
	t.held = t.held[:0]
	t.mode = modePass
}

// begin starts a statement at the current byte, if none is open. The
// first statement of a dump without \restrict, run by a psql that knows
// it, is preceded by a \restrict line of ours.
func (t *plainTransform) begin() {
	if t.inStmt {
		return
	}
	if t.opts.restrict && !t.restrictOK {
		key := newRestrictKey()
		if t.opts.restrictKey != nil {
			key = t.opts.restrictKey()
		}
		line := "\\restrict " + key + "\n"
		if t.lastOut != 0 && t.lastOut != '\n' {
			line = "\n" + line
		}
		t.write([]byte(line))
		t.res.addedRestrict, t.restrictOK = line, true
	}
	t.inStmt, t.stmtLine, t.n, t.fromStdin = true, t.line, 0, false
	t.held = t.held[:0]
	t.mode = modePass
	if !t.opts.keepOwners {
		t.mode = modeHold
	}
}

// token records a token of the current statement and decides, as early as
// it can, whether the statement is one to drop.
func (t *plainTransform) token(kind tokKind, text string) {
	tok := token{kind, text}
	if kind == tokWord {
		if t.n > 0 && t.last[2].kind == tokWord && t.last[2].text == "FROM" && text == "STDIN" {
			t.fromStdin = true
		}
		t.trackBegin(text)
	}
	if t.n < firstTokens {
		t.first[t.n] = tok
	}
	t.last = [3]token{t.last[1], t.last[2], tok}
	t.n++
	if t.mode == modeHold {
		t.decide()
	}
}

// trackBegin mirrors psql (14 and later): in CREATE [OR REPLACE]
// FUNCTION|PROCEDURE, BEGIN … END (and CASE … END within) hold semicolons
// that do not end the statement.
func (t *plainTransform) trackBegin(w string) {
	if t.identCount == 0 {
		t.idents = [4]byte{}
	}
	switch w {
	case "CREATE", "FUNCTION", "PROCEDURE", "OR", "REPLACE":
		if t.identCount < len(t.idents) {
			t.idents[t.identCount] = w[0]
		}
	}
	t.identCount++
	id := t.idents
	if id[0] == 'C' && (id[1] == 'F' || id[1] == 'P' || (id[1] == 'O' && id[2] == 'R' && (id[3] == 'F' || id[3] == 'P'))) && t.paren == 0 {
		switch w {
		case "BEGIN":
			t.beginDepth++
		case "CASE":
			if t.beginDepth >= 1 {
				t.beginDepth++
			}
		case "END":
			if t.beginDepth > 0 {
				t.beginDepth--
			}
		}
	}
}

func (t *plainTransform) kw(i int) string {
	if i < min(t.n, firstTokens) && t.first[i].kind == tokWord {
		return t.first[i].text
	}
	return ""
}

func (t *plainTransform) decide() {
	drop := func() { t.mode, t.held = modeDrop, t.held[:0] }
	switch first := t.kw(0); {
	case first == "GRANT" || first == "REVOKE":
		drop()
	case first == "SET" || first == "RESET":
		switch {
		case t.n == 2 && t.kw(1) != "SESSION":
			t.flushHeld()
		case t.n == 3 && t.kw(2) == "AUTHORIZATION":
			drop()
		case t.n == 3:
			t.flushHeld()
		}
	case first == "ALTER":
		if t.n == 3 && t.kw(1) == "DEFAULT" && t.kw(2) == "PRIVILEGES" {
			drop()
		}
		// ALTER … OWNER TO role: decided at the end.
	default:
		t.flushHeld()
	}
}

// endStatement ends the statement at its ";" (already put).
func (t *plainTransform) endStatement() error {
	isCopy := t.kw(0) == "COPY" && t.fromStdin
	owner := t.kw(0) == "ALTER" && t.n >= 5 && t.last[0].kind == tokWord && t.last[0].text == "OWNER" &&
		t.last[1].kind == tokWord && t.last[1].text == "TO" && (t.last[2].kind == tokWord || t.last[2].kind == tokIdent)
	if err := t.trackStdStrings(); err != nil {
		return err
	}
	switch {
	case t.mode == modeDrop || (t.mode == modeHold && owner):
		t.res.dropped++
	case t.mode == modeHold:
		t.flushHeld()
	}
	t.inStmt, t.identCount, t.held = false, 0, t.held[:0]
	if isCopy {
		t.pendingCopy = true
	}
	return nil
}

// trackStdStrings follows SET standard_conforming_strings, which changes
// how psql reads '…' (pg_dump writes "SET standard_conforming_strings = on;").
func (t *plainTransform) trackStdStrings() error {
	i := 1
	if w := t.kw(1); w == "SESSION" || w == "LOCAL" {
		i = 2
	}
	const name = "STANDARD_CONFORMING_STRINGS"
	switch {
	case t.kw(0) == "RESET" && (t.kw(1) == name || t.kw(1) == "ALL"):
		t.std = true
		return nil
	case t.kw(0) != "SET" || t.kw(i) != name:
		return nil
	}
	switch v := t.kw(i + 2); {
	case t.n != i+3:
	case v == "ON" || v == "TRUE" || v == "YES" || v == "DEFAULT":
		t.std = true
		return nil
	case v == "OFF" || v == "FALSE" || v == "NO":
		t.std = false
		return nil
	}
	return t.errorf("a SET standard_conforming_strings statement xVault cannot follow (it changes how psql reads the rest)")
}

const keyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newRestrictKey is a random \restrict key like pg_dump's.
func newRestrictKey() string {
	b := make([]byte, 64)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = keyAlphabet[int(b[i])%len(keyAlphabet)]
	}
	return string(b)
}
