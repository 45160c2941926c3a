package wordpress

import (
	"bytes"
	"fmt"
	"strings"
)

// A PHP tokenizer, just deep enough to read wp-config.php and version.php
// without running them: inline HTML outside <?php … ?>, comments, strings
// (single, double, heredoc, nowdoc, backticks) with PHP's escapes, names,
// variables, numbers and operators. It never evaluates anything.

type tokKind uint8

const (
	tEOF    tokKind = iota
	tIdent          // a name, namespace separators included ("define", "\getenv")
	tVar            // $name; text is the name without "$"
	tString         // text is the decoded value; interp says it is not constant
	tNumber         // text is the source spelling
	tOp             // operator or punctuation; "?>" becomes ";"
)

type token struct {
	kind   tokKind
	interp bool // tString: holds $variable interpolation (or is a shell command)
	shell  bool // tString: a `backtick` shell command
	line   int32
	text   string
}

// ops lists the multi-byte operators, longest first.
var ops = []string{
	"<<=", ">>=", "**=", "...", "<=>", "===", "!==", "??=", "?->",
	"<<", ">>", "**", "->", "=>", "::", "==", "!=", "<>", "<=", ">=", "&&", "||", "??",
	"++", "--", "+=", "-=", "*=", "/=", ".=", "%=", "&=", "|=", "^=", "#[",
}

type lexer struct {
	src      []byte
	pos      int
	line     int32
	toks     []token
	warnings []string
}

// lex splits src into tokens. It fails only where PHP itself would refuse
// to compile the file (an unterminated string, a bad \u{} escape).
func lex(src []byte) ([]token, []string, error) {
	l := &lexer{src: src, line: 1}
	for l.pos < len(src) {
		if !l.html() {
			break
		}
		if err := l.php(); err != nil {
			return nil, l.warnings, err
		}
	}
	return l.toks, l.warnings, nil
}

// html skips inline HTML up to the next open tag; false at the end.
func (l *lexer) html() bool {
	for {
		i := bytes.Index(l.src[l.pos:], []byte("<?"))
		if i < 0 {
			l.advance(len(l.src) - l.pos)
			return false
		}
		l.advance(i)
		rest := l.src[l.pos+2:]
		switch {
		case len(rest) >= 1 && rest[0] == '=':
			l.advance(3)
			l.emit(tIdent, "echo")
			return true
		case len(rest) >= 3 && strings.EqualFold(string(rest[:3]), "php") &&
			(len(rest) == 3 || isSpace(rest[3])):
			l.advance(5)
			return true
		}
		l.advance(2) // "<?" alone: short tags are off (php.ini-production)
	}
}

// advance moves n bytes forward, counting lines.
func (l *lexer) advance(n int) {
	l.line += int32(bytes.Count(l.src[l.pos:l.pos+n], []byte{'\n'}))
	l.pos += n
}

func (l *lexer) emit(k tokKind, text string) {
	l.toks = append(l.toks, token{kind: k, line: l.line, text: text})
}

func (l *lexer) at(s string) bool { return bytes.HasPrefix(l.src[l.pos:], []byte(s)) }

func (l *lexer) peekByte(off int) byte {
	if l.pos+off < len(l.src) {
		return l.src[l.pos+off]
	}
	return 0
}

// php reads PHP code up to "?>" (which acts as ";") or the end.
func (l *lexer) php() error {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case isSpace(c):
			l.advance(1)
		case l.at("?>"):
			l.emit(tOp, ";")
			l.advance(2)
			if l.at("\n") {
				l.advance(1)
			} else if l.at("\r\n") {
				l.advance(2)
			}
			return nil
		case c == '#' && l.peekByte(1) != '[', l.at("//"):
			l.lineComment()
		case l.at("/*"):
			l.blockComment()
		case c == '\'' || c == '"' || c == '`':
			if err := l.quoted(c); err != nil {
				return err
			}
		case (c == 'b' || c == 'B') && (l.peekByte(1) == '\'' || l.peekByte(1) == '"'):
			l.advance(1) // binary string prefix
		case l.at("<<<") && l.heredocStart():
			if err := l.heredoc(); err != nil {
				return err
			}
		case c == '$' && isIdentStart(l.peekByte(1)):
			l.advance(1)
			l.emit(tVar, l.ident())
		case isDigit(c) || c == '.' && isDigit(l.peekByte(1)):
			l.emit(tNumber, l.number())
		case isIdentStart(c) || c == '\\' && isIdentStart(l.peekByte(1)):
			l.emit(tIdent, l.name())
		default:
			l.op()
		}
	}
	return nil
}

// lineComment skips to the end of the line or to "?>", which it leaves.
func (l *lexer) lineComment() {
	for l.pos < len(l.src) && l.src[l.pos] != '\n' && l.src[l.pos] != '\r' && !l.at("?>") {
		l.pos++
	}
}

func (l *lexer) blockComment() {
	start := l.line
	i := bytes.Index(l.src[l.pos+2:], []byte("*/"))
	if i < 0 {
		// PHP warns and treats the rest of the file as the comment.
		l.warnings = append(l.warnings, fmt.Sprintf("line %d: unterminated comment", start))
		l.advance(len(l.src) - l.pos)
		return
	}
	l.advance(i + 4)
}

// opStart marks the first bytes of the operators in ops.
var opStart = func() (t [256]bool) {
	for _, o := range ops {
		t[o[0]] = true
	}
	return t
}()

func (l *lexer) op() {
	for _, o := range ops {
		if !opStart[l.src[l.pos]] {
			break
		}
		if l.at(o) {
			l.emit(tOp, o)
			l.pos += len(o)
			return
		}
	}
	l.emit(tOp, string(l.src[l.pos]))
	l.pos++
}

func (l *lexer) ident() string {
	start := l.pos
	for l.pos < len(l.src) && isIdentByte(l.src[l.pos]) {
		l.pos++
	}
	return string(l.src[start:l.pos])
}

// name reads an identifier with namespace separators ("\Foo\bar").
func (l *lexer) name() string {
	start := l.pos
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if isIdentByte(c) || c == '\\' && isIdentStart(l.peekByte(1)) {
			l.pos++
			continue
		}
		break
	}
	return string(l.src[start:l.pos])
}

// number reads an integer or float literal, separators included.
func (l *lexer) number() string {
	start := l.pos
	if l.src[l.pos] == '0' && l.pos+1 < len(l.src) && strings.IndexByte("xXbBoO", l.src[l.pos+1]) >= 0 {
		l.pos += 2
		for l.pos < len(l.src) && isIdentByte(l.src[l.pos]) && l.src[l.pos] < 0x80 {
			l.pos++
		}
		return string(l.src[start:l.pos])
	}
	digits := func() {
		for l.pos < len(l.src) && (isDigit(l.src[l.pos]) || l.src[l.pos] == '_') {
			l.pos++
		}
	}
	digits()
	if l.pos < len(l.src) && l.src[l.pos] == '.' {
		l.pos++
		digits()
	}
	if l.pos < len(l.src) && (l.src[l.pos] == 'e' || l.src[l.pos] == 'E') {
		n := 1
		if s := l.peekByte(1); s == '+' || s == '-' {
			n = 2
		}
		if isDigit(l.peekByte(n)) {
			l.pos += n
			digits()
		}
	}
	return string(l.src[start:l.pos])
}

// quoted reads a '…', "…" or `…` string.
func (l *lexer) quoted(q byte) error {
	line := l.line
	i := l.pos + 1
	for i < len(l.src) && l.src[i] != q {
		if l.src[i] == '\\' {
			i++
		}
		i++
	}
	if i >= len(l.src) {
		return fmt.Errorf("line %d: unterminated string", line)
	}
	body := string(l.src[l.pos+1 : i])
	l.advance(i + 1 - l.pos)
	t := token{kind: tString, line: line}
	switch q {
	case '\'':
		t.text = unescapeSingle(body)
	case '"':
		v, interp, err := unescapeDouble(body, '"')
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		t.text, t.interp = v, interp
	default:
		t.interp, t.shell = true, true
	}
	l.toks = append(l.toks, t)
	return nil
}

// heredocStart reports whether "<<<" at pos opens a heredoc or nowdoc.
func (l *lexer) heredocStart() bool {
	_, _, _, ok := l.heredocLabel()
	return ok
}

// heredocLabel parses `<<< ID`, `<<<"ID"` or `<<<'ID'` and its newline:
// the label, whether it is a nowdoc, and the length of the opener.
func (l *lexer) heredocLabel() (label string, nowdoc bool, n int, ok bool) {
	i := l.pos + 3
	for i < len(l.src) && (l.src[i] == ' ' || l.src[i] == '\t') {
		i++
	}
	var quote byte
	if i < len(l.src) && (l.src[i] == '\'' || l.src[i] == '"') {
		quote = l.src[i]
		i++
	}
	start := i
	if i >= len(l.src) || !isIdentStart(l.src[i]) {
		return "", false, 0, false
	}
	for i < len(l.src) && isIdentByte(l.src[i]) {
		i++
	}
	label = string(l.src[start:i])
	if quote != 0 {
		if i >= len(l.src) || l.src[i] != quote {
			return "", false, 0, false
		}
		i++
	}
	switch {
	case i < len(l.src) && l.src[i] == '\n':
		i++
	case i+1 < len(l.src) && l.src[i] == '\r' && l.src[i+1] == '\n':
		i += 2
	default:
		return "", false, 0, false
	}
	return label, quote == '\'', i - l.pos, true
}

// heredoc reads a heredoc or nowdoc. Its closing label may be indented
// (PHP 7.3+); that indentation is removed from every line of the body.
func (l *lexer) heredoc() error {
	line := l.line
	label, nowdoc, n, _ := l.heredocLabel()
	bodyStart := l.pos + n
	for i := bodyStart; i <= len(l.src); {
		j := i
		for j < len(l.src) && (l.src[j] == ' ' || l.src[j] == '\t') {
			j++
		}
		if bytes.HasPrefix(l.src[j:], []byte(label)) && (j+len(label) == len(l.src) || !isIdentByte(l.src[j+len(label)])) {
			body := ""
			if i > bodyStart {
				body = strings.TrimSuffix(strings.TrimSuffix(string(l.src[bodyStart:i]), "\n"), "\r")
			}
			body = dedent(body, j-i)
			t := token{kind: tString, line: line, text: body}
			if !nowdoc {
				v, interp, err := unescapeDouble(body, 0)
				if err != nil {
					return fmt.Errorf("line %d: %w", line, err)
				}
				t.text, t.interp = v, interp
			}
			l.advance(j + len(label) - l.pos)
			l.toks = append(l.toks, t)
			return nil
		}
		k := bytes.IndexByte(l.src[i:], '\n')
		if k < 0 {
			break
		}
		i += k + 1
	}
	return fmt.Errorf("line %d: unterminated heredoc <<<%s", line, label)
}

// dedent removes up to n leading spaces or tabs from every line of s.
func dedent(s string, n int) string {
	if n == 0 {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, ln := range lines {
		k := 0
		for k < n && k < len(ln) && (ln[k] == ' ' || ln[k] == '\t') {
			k++
		}
		lines[i] = ln[k:]
	}
	return strings.Join(lines, "\n")
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }
func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}
func isIdentByte(c byte) bool { return isIdentStart(c) || isDigit(c) }
