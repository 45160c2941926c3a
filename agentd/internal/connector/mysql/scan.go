package mysql

import (
	"bytes"
)

// Row counts come from the dump stream itself, not from COUNT(*) queries:
// the scanner below sees every byte the tool writes on its way into the
// spool and counts the row tuples of each data INSERT. The counts are then
// exactly what the dump holds, taken in the dump's own transaction (a
// COUNT(*) in a second "consistent snapshot" would be a different snapshot
// from the tool's, and wrong whenever the database is written during the
// backup), and they cost no extra query or table scan.
//
// mysqldump and mariadb-dump write table data as
//
//	INSERT INTO `name` VALUES (1,'a'),(2,'b\'c');          -- MySQL, MariaDB < 10.11.x
//	INSERT INTO `name` VALUES\n(1,'a'),\n(2,'b');           -- MariaDB ≥ 10.11.x
//
// always at the start of a line, at the top level of the script (trigger,
// routine and event bodies sit between "DELIMITER ;;" and "DELIMITER ;"
// lines, and are ignored). The scanner is a byte state machine, so a line of
// any length (a 100 MiB row) costs no memory: it tracks backquoted
// identifiers (`` escapes a backquote), single-quoted strings (backslash
// escapes, '' is two adjacent strings) and parenthesis depth, and counts a
// row at each "(" that opens at depth 0. The tool always escapes with
// backslashes: it sets its own session's sql_mode, so NO_BACKSLASH_ESCAPES
// on the server cannot change the output.
//
// It also remembers the stream's tail, so that the completion trailer
// ("-- Dump completed") can be checked on the last line, and the tool's
// "-- insufficient privileges to SHOW CREATE …" notes, which become warnings.

type scanState int

const (
	stLineStart  scanState = iota // collecting the first bytes of a line
	stSkipLine                    // ignoring up to the next newline
	stIdent                       // inside INSERT INTO `…`
	stIdentTick                   // saw a backquote inside the identifier
	stAfterIdent                  // between the identifier and the first tuple
	stTuples                      // in the VALUES list
	stString                      // inside '…' in the VALUES list
	stEscape                      // after a backslash inside a string
)

const (
	insertPrefix = "INSERT INTO `"
	maxPrefix    = 256 // bytes of a line kept to classify it
	maxName      = 512 // longest identifier kept (MySQL allows 64 characters)
	tailSize     = 128 // bytes kept from the end of the stream
	maxNotes     = 20
)

var trailer = []byte("-- Dump completed")

// scanner counts rows per table in a dump stream. It is an io.Writer that
// never fails.
type scanner struct {
	state   scanState
	line    []byte // the start of the current line (stLineStart)
	inBlock bool   // between DELIMITER ;; and DELIMITER ;
	name    []byte
	after   []byte // bytes between identifier and the first tuple
	depth   int
	rows    map[string]int64
	order   []string // tables in the order their data appeared
	notes   []string // "-- insufficient privileges …" lines
	tail    []byte
	total   int64
	current string
}

func newScanner() *scanner {
	return &scanner{rows: map[string]int64{}}
}

func (s *scanner) Write(p []byte) (int, error) {
	s.total += int64(len(p))
	s.keepTail(p)
	for i := 0; i < len(p); i++ {
		// Fast paths over the bytes that change nothing (most of a dump).
		switch s.state {
		case stSkipLine:
			j := bytes.IndexByte(p[i:], '\n')
			if j < 0 {
				return len(p), nil
			}
			i += j
		case stString:
			for i < len(p)-1 && p[i] != '\\' && p[i] != '\'' {
				i++
			}
		case stTuples:
			for i < len(p)-1 && !tupleSyntax[p[i]] {
				i++
			}
		}
		s.step(p[i])
	}
	return len(p), nil
}

// tupleSyntax are the bytes that matter in a VALUES list outside strings.
var tupleSyntax = [256]bool{'\'': true, '(': true, ')': true, ';': true}

func (s *scanner) keepTail(p []byte) {
	if len(p) >= tailSize {
		s.tail = append(s.tail[:0], p[len(p)-tailSize:]...)
		return
	}
	s.tail = append(s.tail, p...)
	if len(s.tail) > tailSize {
		s.tail = append(s.tail[:0], s.tail[len(s.tail)-tailSize:]...)
	}
}

func (s *scanner) step(c byte) {
	switch s.state {
	case stLineStart:
		s.lineByte(c)
	case stSkipLine:
		if c == '\n' {
			s.state = stLineStart
		}
	case stIdent:
		if c == '`' {
			s.state = stIdentTick
		} else if len(s.name) < maxName {
			s.name = append(s.name, c)
		}
	case stIdentTick:
		if c == '`' { // `` is a literal backquote
			s.state = stIdent
			if len(s.name) < maxName {
				s.name = append(s.name, c)
			}
			return
		}
		s.startTable()
		s.state = stAfterIdent
		s.afterByte(c)
	case stAfterIdent:
		s.afterByte(c)
	case stTuples:
		s.tupleByte(c)
	case stString:
		switch c {
		case '\\':
			s.state = stEscape
		case '\'':
			s.state = stTuples
		}
	case stEscape:
		s.state = stString
	}
}

// lineByte classifies a line by its first bytes.
func (s *scanner) lineByte(c byte) {
	if c == '\n' {
		s.endLine()
		return
	}
	s.line = append(s.line, c)
	if !s.inBlock && len(s.line) == len(insertPrefix) && string(s.line) == insertPrefix {
		s.line = s.line[:0]
		s.name = s.name[:0]
		s.state = stIdent
		return
	}
	if len(s.line) >= maxPrefix {
		s.endLine()
		s.state = stSkipLine
	}
}

// endLine looks at a complete (or cut) line prefix.
func (s *scanner) endLine() {
	l := bytes.TrimRight(s.line, " \r")
	switch {
	case bytes.Equal(l, []byte("DELIMITER ;;")):
		s.inBlock = true
	case bytes.Equal(l, []byte("DELIMITER ;")):
		s.inBlock = false
	case bytes.HasPrefix(l, []byte("-- insufficient privileges")) && len(s.notes) < maxNotes:
		s.notes = append(s.notes, string(bytes.TrimPrefix(l, []byte("-- "))))
	}
	s.line = s.line[:0]
}

func (s *scanner) startTable() {
	s.current = string(s.name)
	if _, seen := s.rows[s.current]; !seen {
		s.rows[s.current] = 0
		s.order = append(s.order, s.current)
	}
	s.after = s.after[:0]
	s.depth = 0
}

// afterByte expects " VALUES" and whitespace, then the first tuple.
func (s *scanner) afterByte(c byte) {
	if c == '(' && string(bytes.TrimSpace(s.after)) == "VALUES" {
		s.state = stTuples
		s.tupleByte(c)
		return
	}
	s.after = append(s.after, c)
	if len(s.after) > 16 { // not a data INSERT of the shape we know
		s.state = stSkipLine
		if c == '\n' {
			s.state = stLineStart
		}
	}
}

func (s *scanner) tupleByte(c byte) {
	switch c {
	case '\'':
		s.state = stString
	case '(':
		if s.depth == 0 {
			s.rows[s.current]++
		}
		s.depth++
	case ')':
		if s.depth > 0 {
			s.depth--
		}
	case ';':
		if s.depth == 0 {
			s.state = stSkipLine
		}
	}
}

// completed reports whether the stream's last line is the tool's
// completion trailer.
func (s *scanner) completed() bool {
	t := bytes.TrimRight(s.tail, " \r\n\t")
	if i := bytes.LastIndexByte(t, '\n'); i >= 0 {
		t = t[i+1:]
	}
	return bytes.HasPrefix(t, trailer)
}
