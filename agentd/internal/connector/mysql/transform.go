package mysql

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/xvault/xvault/agentd/internal/connector"
)

// The transform filters a dump on its way into the client, at restore time
// (the stored dump is never changed). It is a line filter with bounded
// memory:
//
//   - Data lines (a top-level INSERT INTO/REPLACE INTO and the tuple lines
//     that continue it up to the line ending in ";") are copied as they
//     come, in chunks, without being looked at beyond the statement's
//     header; a data line of any length costs no memory. The dump client
//     escapes line breaks inside strings, so every line of a data statement
//     but the last ends outside a string.
//   - Statement lines (starting with CREATE, DROP, ALTER, LOCK, SET, USE,
//     INSERT/REPLACE inside a DELIMITER block, or a versioned comment
//     "/*!…") are read whole (up to maxStatementLine) and rewritten:
//     DEFINER=user@host → DEFINER=CURRENT_USER, so that an account without
//     SUPER/SET_USER_ID can create the views, routines, triggers and events
//     defined by root@otherhost; GTID statements (SET @@GLOBAL.GTID_PURGED,
//     SET @@SESSION.SQL_LOG_BIN, SET GLOBAL gtid_slave_pos), which need
//     SUPER and describe another server, are dropped; with a PrefixRename,
//     the table names of DDL/DML headers and views are renamed.
//   - MariaDB's first line "/*M!999999\- enable the sandbox mode */" is
//     dropped (older and MySQL clients fail on it); the loader passes
//     --sandbox to clients that know it instead.
//   - A top-level USE, CREATE DATABASE or DROP DATABASE fails the load with
//     the line's number: such a dump would act on another database than
//     the one asked for (xVault's dumps hold none).
//   - At the end, the input's last line must be the dump client's
//     completion trailer, else the dump is incomplete (an error).
//
// A dropped line is replaced by an empty line, so the client's "at line N"
// in an error message is the stored dump's line N.

const (
	transformBuf     = 64 << 10 // chunk size: a longer line is handled in chunks
	maxStatementLine = 16 << 20 // longest statement line read whole
)

// transform is one pass of the filter. Build it with newTransform and call
// run once.
type transform struct {
	prefix *connector.PrefixRename

	line     int    // number of the current line, from 1
	delim    string // the client's delimiter (DELIMITER lines change it)
	atStart  bool   // the current line starts a statement
	inData   bool   // inside a data statement
	dropping bool   // inside a dropped statement
	inTable  bool   // inside CREATE TABLE (FOREIGN KEY … REFERENCES lines)
	end      []byte // the last two non-blank bytes of a streamed line
	tail     scanner

	definers, gtidPurged, logBin, slavePos, bodies int
	renamed                                        map[string]bool // names renamed (up to maxRenamedNames)
	sandbox                                        bool
}

func newTransform(prefix *connector.PrefixRename) *transform {
	return &transform{prefix: prefix, delim: ";", atStart: true, renamed: map[string]bool{}}
}

// dumpError is a dump the transform refuses. It is permanent.
type dumpError struct {
	line int
	msg  string
}

func (e *dumpError) Error() string {
	if e.line == 0 {
		return "the dump " + e.msg
	}
	return fmt.Sprintf("line %d of the dump: %s", e.line, e.msg)
}

func (e *dumpError) Unwrap() error { return connector.ErrPermanent }

// run copies src to dst, transformed. Errors of src and dst are returned
// as they are; a refused dump is a *dumpError.
func (t *transform) run(dst io.Writer, src io.Reader) error {
	br := bufio.NewReaderSize(src, transformBuf)
	bw := bufio.NewWriterSize(dst, transformBuf)
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			t.line++
			if lerr := t.processLine(bw, br, chunk, err); lerr != nil {
				return lerr
			}
		}
		switch {
		case err == nil || errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			if !t.tail.completed() {
				return &dumpError{msg: fmt.Sprintf("is incomplete: its last line is not the completion trailer %q (a dump cut short, or not made by mysqldump/mariadb-dump)", string(trailer))}
			}
			return bw.Flush()
		default:
			return err
		}
	}
}

// processLine handles one line, whose first chunk is given (err is the
// chunk's read error: ErrBufferFull when the line continues in br).
func (t *transform) processLine(w *bufio.Writer, br *bufio.Reader, chunk []byte, err error) error {
	t.tail.keepTail(chunk)
	more := errors.Is(err, bufio.ErrBufferFull)
	head := bytes.TrimLeft(chunk, " \t")
	switch {
	case t.line == 1 && bytes.HasPrefix(chunk, []byte(`/*M!999999\- enable the sandbox mode`)):
		t.sandbox = true
		return t.drop(w, br, chunk, more)
	case t.inData:
		return t.stream(w, br, chunk, more, func() { t.inData = !t.ends(";"); t.atStart = !t.inData })
	case t.dropping:
		return t.drop(w, br, chunk, more)
	case t.delim == ";" && hasWordPrefix(head, "INSERT", "REPLACE"):
		chunk = t.renameInsertHeader(chunk)
		return t.stream(w, br, chunk, more, func() { t.inData = !t.ends(";"); t.atStart = !t.inData })
	case !t.isStatementLine(head):
		return t.stream(w, br, chunk, more, func() { t.afterLine(head) })
	}
	line, err := t.readLine(br, chunk, more)
	if err != nil {
		return err
	}
	out, err := t.statement(line)
	if err != nil {
		return err
	}
	_, err = w.Write(out)
	return err
}

// isStatementLine says whether a line (its start, blanks trimmed) is read
// whole and rewritten.
func (t *transform) isStatementLine(head []byte) bool {
	if bytes.HasPrefix(head, []byte("/*!")) || bytes.HasPrefix(head, []byte("/*M!")) {
		return true
	}
	if hasWordPrefix(head, "CREATE", "DROP", "ALTER", "LOCK", "SET", "USE", "DELIMITER", "INSERT", "REPLACE") {
		return true
	}
	return t.prefix != nil && t.inTable && hasWordPrefix(head, "CONSTRAINT", "FOREIGN")
}

// hasWordPrefix: b starts with one of the words (any case), followed by a
// byte that is not part of a word.
func hasWordPrefix(b []byte, words ...string) bool {
	for _, w := range words {
		if len(b) >= len(w) && bytes.EqualFold(b[:len(w)], []byte(w)) && (len(b) == len(w) || !isWordByte(b[len(w)])) {
			return true
		}
	}
	return false
}

// stream copies a line through, chunk by chunk; done runs at its end.
func (t *transform) stream(w *bufio.Writer, br *bufio.Reader, chunk []byte, more bool, done func()) error {
	t.end = t.end[:0]
	for {
		t.noteEnd(chunk)
		if _, err := w.Write(chunk); err != nil {
			return err
		}
		if !more {
			done()
			return nil
		}
		var err error
		chunk, err = br.ReadSlice('\n')
		t.tail.keepTail(chunk)
		more = errors.Is(err, bufio.ErrBufferFull)
		if err != nil && !more && !errors.Is(err, io.EOF) {
			return err
		}
	}
}

// drop replaces a line of a dropped statement by an empty line.
func (t *transform) drop(w *bufio.Writer, br *bufio.Reader, chunk []byte, more bool) error {
	t.end = t.end[:0]
	for {
		t.noteEnd(chunk)
		if !more {
			break
		}
		var err error
		chunk, err = br.ReadSlice('\n')
		t.tail.keepTail(chunk)
		more = errors.Is(err, bufio.ErrBufferFull)
		if err != nil && !more && !errors.Is(err, io.EOF) {
			return err
		}
	}
	if t.dropping && t.ends(t.delim) {
		t.dropping = false
		t.atStart = true
	}
	return w.WriteByte('\n')
}

// noteEnd keeps the last two non-blank bytes of the line so far.
func (t *transform) noteEnd(chunk []byte) {
	c := bytes.TrimRight(chunk, " \t\r\n")
	t.end = append(t.end, c[max(0, len(c)-2):]...)
	if len(t.end) > 2 {
		t.end = append(t.end[:0], t.end[len(t.end)-2:]...)
	}
}

// ends says whether the streamed line ended with the delimiter d (";" or
// a block's ";;").
func (t *transform) ends(d string) bool {
	return bytes.HasSuffix(t.end, []byte(d[max(0, len(d)-2):]))
}

// afterLine updates the statement boundary after a streamed line: blank
// and comment lines leave it as it was.
func (t *transform) afterLine(head []byte) {
	h := bytes.TrimRight(head, " \t\r\n")
	if len(h) == 0 || bytes.HasPrefix(h, []byte("--")) || bytes.HasPrefix(h, []byte("#")) {
		return
	}
	t.atStart = t.ends(t.delim)
	if t.atStart {
		t.inTable = false
	}
}

// readLine reads the rest of a statement line into memory.
func (t *transform) readLine(br *bufio.Reader, chunk []byte, more bool) ([]byte, error) {
	line := append([]byte(nil), chunk...)
	for more {
		c, err := br.ReadSlice('\n')
		t.tail.keepTail(c)
		more = errors.Is(err, bufio.ErrBufferFull)
		if err != nil && !more && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if len(line)+len(c) > maxStatementLine {
			return nil, &dumpError{line: t.line, msg: fmt.Sprintf("a statement line longer than %d MiB", maxStatementLine>>20)}
		}
		line = append(line, c...)
	}
	return line, nil
}

// statement handles a statement line read whole.
func (t *transform) statement(line []byte) ([]byte, error) {
	text := bytes.TrimRight(line, " \t\r\n")
	start := t.atStart
	t.end = append(t.end[:0], text[max(0, len(text)-2):]...)
	ends := t.ends(t.delim)
	words := headWords(line, 3)
	if len(words) > 0 && words[0] == "DELIMITER" {
		if f := strings.Fields(string(text)); len(f) == 2 {
			t.delim = f[1]
		}
		t.atStart = true
		return line, nil
	}
	if start {
		if err := t.refuse(words); err != nil {
			return nil, err
		}
		if t.dropStatement(line) {
			t.dropping = !ends
			return []byte("\n"), nil
		}
		if len(words) >= 2 && words[0] == "CREATE" && (words[1] == "TABLE" || words[1] == "TEMPORARY") {
			t.inTable = true
		}
	}
	t.atStart = ends
	if ends {
		t.inTable = false
	}
	content, eol := splitEOL(line)
	return append(t.rewrite(content), eol...), nil
}

// splitEOL splits a line from its line break ("\n", "\r\n" or none), so
// that no rewrite can swallow it.
func splitEOL(line []byte) (content, eol []byte) {
	n := len(line)
	if n > 0 && line[n-1] == '\n' {
		n--
		if n > 0 && line[n-1] == '\r' {
			n--
		}
	}
	return line[:n], line[n:]
}

// refuse fails on a statement that would act on another database.
func (t *transform) refuse(words []string) error {
	if len(words) == 0 {
		return nil
	}
	what := ""
	switch {
	case words[0] == "USE":
		what = "a USE statement"
	case len(words) >= 2 && (words[0] == "CREATE" || words[0] == "DROP") && (words[1] == "DATABASE" || words[1] == "SCHEMA"):
		what = "a " + words[0] + " " + words[1] + " statement"
	default:
		return nil
	}
	return &dumpError{line: t.line, msg: what + " would act on another database than the one loaded into " +
		"(hint: dump one database without --databases/--all-databases, as xVault does)"}
}

// dropStatement recognises the GTID statements that are dropped.
func (t *transform) dropStatement(line []byte) bool {
	h := headText(line, 8)
	switch {
	case strings.HasPrefix(h, "SET@@GLOBAL.GTID_PURGED") || strings.HasPrefix(h, "SET@@GTID_PURGED"):
		t.gtidPurged++
	case strings.HasPrefix(h, "SET@@SESSION.SQL_LOG_BIN") || strings.HasPrefix(h, "SET@@SQL_LOG_BIN") ||
		strings.HasPrefix(h, "SETSQL_LOG_BIN") || strings.HasPrefix(h, "SETSESSIONSQL_LOG_BIN"):
		t.logBin++
	case strings.HasPrefix(h, "SETGLOBALGTID_SLAVE_POS") || strings.HasPrefix(h, "SET@@GLOBAL.GTID_SLAVE_POS"):
		t.slavePos++
	default:
		return false
	}
	return true
}

// warnings say what the transform changed.
func (t *transform) warnings() []string {
	var out []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			out = append(out, one)
		case n > 1:
			out = append(out, fmt.Sprintf(many, n))
		}
	}
	add(t.definers, "1 DEFINER clause rewritten to CURRENT_USER", "%d DEFINER clauses rewritten to CURRENT_USER")
	add(t.gtidPurged, "GTID_PURGED statement dropped", "%d GTID_PURGED statements dropped")
	add(t.logBin, "1 SQL_LOG_BIN statement dropped", "%d SQL_LOG_BIN statements dropped")
	add(t.slavePos, "gtid_slave_pos statement dropped", "%d gtid_slave_pos statements dropped")
	if t.prefix != nil {
		out = append(out, fmt.Sprintf("table prefix %s renamed to %s: %d tables and views", t.prefix.From, t.prefix.To, len(t.renamed)))
		add(t.bodies, "1 trigger, routine or event body was not prefix-renamed: the tables it names keep the prefix "+t.prefix.From,
			"%d trigger, routine or event bodies were not prefix-renamed: the tables they name keep the prefix "+t.prefix.From)
	}
	return out
}
