package mysql

import (
	"bytes"
	"strings"
)

// edit replaces line[start:end] by repl.
type edit struct {
	start, end int
	repl       string
}

func applyEdits(line []byte, edits []edit) []byte {
	if len(edits) == 0 {
		return line
	}
	out := make([]byte, 0, len(line)+32*len(edits))
	at := 0
	for _, e := range edits {
		out = append(append(out, line[at:e.start]...), e.repl...)
		at = e.end
	}
	return append(out, line[at:]...)
}

// rewrite rewrites one statement line: DEFINER clauses, and with a prefix
// rename the table names that follow TABLE, TABLES (LOCK TABLES), INTO,
// VIEW, REFERENCES (with IF [NOT] EXISTS between), the table of a
// trigger's ON, and every backquoted name of a view's line (its
// definition names the tables it reads; a column whose name starts with
// the prefix is renamed too). Bodies of triggers, routines and events
// (after the first line) are not renamed; warnings count them.
func (t *transform) rewrite(line []byte) []byte {
	l := lexer{b: line}
	var edits []edit
	var prev [4]string // the last words, most recent first
	prevWord := false  // the previous token is a word
	view, trigger, triggerOn := false, false, false
	for {
		tok, ok := l.next()
		if !ok {
			break
		}
		switch tok.kind {
		case tWord:
			w := upperWord(line, tok)
			if w == "DEFINER" {
				la := l
				if end, rewrite := parseDefiner(&la); end > 0 {
					l = la
					if rewrite {
						repl := "DEFINER=CURRENT_USER"
						if end < len(line) && isWordByte(line[end]) {
							repl += " " // `a`@`b`x: keep x a word of its own
						}
						edits = append(edits, edit{tok.start, end, repl})
						t.definers++
					}
					prevWord = false
					continue
				}
			}
			if t.prefix != nil && trigger && !triggerOn && prev[0] == "ON" {
				triggerOn = true
				edits = t.rename(edits, line, tok)
			}
			switch w {
			case "VIEW":
				view = true
			case "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT":
				if w == "TRIGGER" {
					trigger = true
				}
				if t.prefix != nil && prev[0] != "DROP" && prev[1] != "DROP" {
					t.bodies++
				}
			}
			copy(prev[1:], prev[:3])
			prev[0] = w
			prevWord = true
			continue
		case tIdent:
			if t.prefix != nil {
				switch {
				case view, prevWord && renamesNext(prev):
					edits = t.rename(edits, line, tok)
				case trigger && !triggerOn && prevWord && prev[0] == "ON":
					triggerOn = true
					edits = t.rename(edits, line, tok)
				}
			}
		}
		prevWord = false
	}
	return applyEdits(line, edits)
}

// renamesNext: the name after these words is a table (or view) name.
func renamesNext(prev [4]string) bool {
	switch prev[0] {
	case "TABLE", "TABLES", "INTO", "VIEW", "REFERENCES":
		return true
	case "EXISTS":
		k := prev[2] // TABLE IF EXISTS
		if prev[1] == "NOT" {
			k = prev[3] // TABLE IF NOT EXISTS
		}
		return k == "TABLE" || k == "VIEW"
	}
	return false
}

// rename renames the table name tok (backquoted or bare) if it starts
// with the prefix.
func (t *transform) rename(edits []edit, line []byte, tok token) []edit {
	name := string(line[tok.start:tok.end])
	if tok.kind == tIdent {
		name = identName(line[tok.start:tok.end])
	}
	if !strings.HasPrefix(name, t.prefix.From) {
		return edits
	}
	if len(t.renamed) < maxRenamedNames {
		t.renamed[name] = true
	}
	return append(edits, edit{tok.start, tok.end, quoteIdent(t.prefix.To + name[len(t.prefix.From):])})
}

// maxRenamedNames bounds the names remembered for the warning.
const maxRenamedNames = 100_000

// quoteIdent backquotes an identifier, doubling backquotes in it.
func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// parseDefiner reads "= user@host" after the word DEFINER. It returns the
// end of the clause (0: not a DEFINER clause) and whether to rewrite it
// (not when it already is CURRENT_USER).
func parseDefiner(l *lexer) (end int, rewrite bool) {
	eq, ok := l.next()
	if !ok || eq.kind != tPunct || l.b[eq.start] != '=' {
		return 0, false
	}
	user, ok := userPart(l)
	if !ok {
		return 0, false
	}
	if user.kind == tWord && strings.EqualFold(string(l.b[user.start:user.end]), "CURRENT_USER") {
		end = user.end
		la := *l
		if p, ok := la.next(); ok && p.kind == tPunct && l.b[p.start] == '(' {
			if q, ok := la.next(); ok && q.kind == tPunct && l.b[q.start] == ')' {
				*l, end = la, q.end
			}
		}
		return end, false
	}
	end = user.end
	la := *l
	if at, ok := la.next(); ok && at.kind == tPunct && l.b[at.start] == '@' {
		if host, ok := userPart(&la); ok {
			*l, end = la, host.end
		}
	}
	return end, true
}

// userPart reads the user or host of an account: a quoted token, or bare
// words joined by '.', '%' or '-' without blanks (192.168.0.%). The
// returned token spans all of it.
func userPart(l *lexer) (token, bool) {
	first, ok := l.next()
	if !ok {
		return token{}, false
	}
	switch {
	case first.kind == tIdent || first.kind == tString:
		return first, true
	case first.kind == tWord || first.kind == tPunct && l.b[first.start] == '%':
	default:
		return token{}, false
	}
	span := first
	for {
		la := *l
		nt, ok := la.next()
		if !ok || nt.start != span.end {
			break
		}
		if nt.kind != tWord && !(nt.kind == tPunct && bytes.IndexByte([]byte(".%-"), l.b[nt.start]) >= 0) {
			break
		}
		*l, span.end = la, nt.end
	}
	return span, true
}

// renameInsertHeader renames the table of a data statement's header
// ("INSERT [IGNORE] INTO `name`"), looking no further than the name.
func (t *transform) renameInsertHeader(chunk []byte) []byte {
	if t.prefix == nil {
		return chunk
	}
	content, eol := splitEOL(chunk)
	l := lexer{b: content}
	for range 6 {
		tok, ok := l.next()
		if !ok || tok.kind == tString || tok.kind == tPunct {
			return chunk
		}
		if tok.kind == tIdent {
			return append(applyEdits(content, t.rename(nil, content, tok)), eol...)
		}
	}
	return chunk
}
