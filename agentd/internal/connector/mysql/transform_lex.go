package mysql

import (
	"bytes"
	"strings"
)

// A lexer splits one statement line of a dump into the tokens the
// transform needs: words, backquoted identifiers, quoted strings and single
// punctuation bytes. The markers of versioned comments ("/*!50013",
// "/*M!100101", and their "*/") are skipped, as the server executes what
// they hold; plain comments ("/* … */", "-- ", "#") are skipped too. It
// works on one line: a string or identifier still open at its end runs to
// the end of the line.

type tokKind uint8

const (
	tWord   tokKind = iota // bare word: keyword or unquoted identifier
	tIdent                 // `backquoted identifier`
	tString                // 'string' or "string"
	tPunct                 // any other single byte
)

type token struct {
	kind       tokKind
	start, end int // byte span in the line
}

type lexer struct {
	b []byte
	i int
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// next returns the next token, or false at the end of the line.
func (l *lexer) next() (token, bool) {
	b := l.b
	for l.i < len(b) {
		c := b[l.i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			l.i++
		case c == '/' && l.i+1 < len(b) && b[l.i+1] == '*':
			l.skipComment()
		case c == '*' && l.i+1 < len(b) && b[l.i+1] == '/': // end of a versioned comment
			l.i += 2
		case c == '#' || c == '-' && l.i+1 < len(b) && b[l.i+1] == '-' && (l.i+2 == len(b) || b[l.i+2] <= ' '):
			l.i = len(b)
		case c == '`' || c == '\'' || c == '"':
			start := l.i
			l.i = quotedEnd(b, l.i)
			kind := tString
			if c == '`' {
				kind = tIdent
			}
			return token{kind: kind, start: start, end: l.i}, true
		case isWordByte(c):
			start := l.i
			for l.i < len(b) && isWordByte(b[l.i]) {
				l.i++
			}
			return token{kind: tWord, start: start, end: l.i}, true
		default:
			l.i++
			return token{kind: tPunct, start: l.i - 1, end: l.i}, true
		}
	}
	return token{}, false
}

// skipComment is at "/*": a versioned comment's marker is skipped (its
// content is code), a plain comment entirely.
func (l *lexer) skipComment() {
	b := l.b
	j := l.i + 2
	if j < len(b) && b[j] == 'M' && j+1 < len(b) && b[j+1] == '!' {
		j++
	}
	if j < len(b) && b[j] == '!' {
		j++
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		l.i = j
		return
	}
	if k := bytes.Index(b[l.i+2:], []byte("*/")); k >= 0 {
		l.i += 2 + k + 2
		return
	}
	l.i = len(b)
}

// quotedEnd is the end of the quoted token starting at b[i]: the closing
// quote (a doubled quote is part of the token; in strings a backslash
// escapes the next byte), or the end of the line.
func quotedEnd(b []byte, i int) int {
	q := b[i]
	for j := i + 1; j < len(b); j++ {
		switch {
		case b[j] == '\\' && q != '`':
			j++
		case b[j] == q:
			if j+1 < len(b) && b[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(b)
}

// identName is the name a backquoted identifier token stands for.
func identName(tok []byte) string {
	s := string(tok[1:])
	s = strings.TrimSuffix(s, "`")
	return strings.ReplaceAll(s, "``", "`")
}

// upperWord is a word token in upper case (for keyword comparison); longer
// words than any keyword come back empty.
func upperWord(b []byte, t token) string {
	if t.kind != tWord || t.end-t.start > 16 {
		return ""
	}
	return strings.ToUpper(string(b[t.start:t.end]))
}

// headWords are the first n words of a line, upper-cased, skipping
// versioned-comment markers: "/*!40000 DROP DATABASE" → DROP DATABASE.
func headWords(line []byte, n int) []string {
	l := lexer{b: line}
	var out []string
	for len(out) < n {
		t, ok := l.next()
		if !ok || t.kind != tWord {
			break
		}
		out = append(out, upperWord(line, t))
	}
	return out
}

// headText is the first tokens of a line concatenated without spaces, upper
// case: "SET @@GLOBAL.GTID_PURGED=…" → "SET@@GLOBAL.GTID_PURGED=".
func headText(line []byte, n int) string {
	l := lexer{b: line}
	var sb strings.Builder
	for range n {
		t, ok := l.next()
		if !ok || t.kind == tString || t.kind == tIdent {
			break
		}
		sb.Write(bytes.ToUpper(line[t.start:t.end]))
	}
	return sb.String()
}
