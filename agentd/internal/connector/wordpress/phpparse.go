package wordpress

import (
	"fmt"
	"strings"
)

// A statement-level PHP reader over the tokens of lex. It does not build a
// syntax tree: it follows statements and blocks only far enough to know,
// for every define() call, `const` statement and variable assignment,
// whether it runs unconditionally when the file is loaded (at the top
// level, or inside an `if (!defined('X'))` guard of the constant it
// defines) or only sometimes (in an if/else, a loop, a function, a class,
// or behind && / || / ?:). It stops at the `require … 'wp-settings.php'`
// that ends a wp-config.php: what follows runs after WordPress connected.

// maxNesting bounds blocks and braceless bodies inside each other.
const maxNesting = 200

// definition is one define(), const or assignment found.
type definition struct {
	line  int
	value []token // the value expression
	op    string  // assignments: "=", ".=", …
	cond  bool    // may not run when the file is loaded
}

// include is one include/require statement.
type include struct {
	line     int
	text     string // the statement, abbreviated, for messages
	settings bool   // loads wp-settings.php
}

type parsed struct {
	file     string                // for messages
	defines  map[string]definition // the first definition of each constant
	assigns  map[string]definition // the last assignment of each wanted variable
	includes []include
}

type scope struct {
	cond  bool   // code here may not run
	guard string // inside `if (!defined('X'))`: X
	top   bool   // not inside any block
}

type parser struct {
	toks  []token
	i     int
	depth int
	ns    string          // the current namespace ("" is the global one)
	vars  map[string]bool // variables whose assignments are recorded
	out   parsed
	done  bool
	err   error
}

var eof = token{kind: tEOF}

func parsePHP(toks []token, vars ...string) (parsed, error) {
	p := &parser{toks: toks, vars: map[string]bool{},
		out: parsed{defines: map[string]definition{}, assigns: map[string]definition{}}}
	for _, v := range vars {
		p.vars[v] = true
	}
	p.statements(scope{top: true}, nil)
	return p.out, p.err
}

func (p *parser) peek(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return eof
}

func isOp(t token, s string) bool { return t.kind == tOp && t.text == s }

// isKw reports whether t is the (case-insensitive) keyword kw.
func isKw(t token, kw ...string) bool {
	if t.kind != tIdent {
		return false
	}
	for _, k := range kw {
		if strings.EqualFold(t.text, k) {
			return true
		}
	}
	return false
}

// statements reads statements until the end, or a token end accepts (left unread).
func (p *parser) statements(sc scope, end func(token) bool) {
	for !p.done && p.i < len(p.toks) {
		if end != nil && end(p.peek(0)) {
			return
		}
		before := p.i
		p.statement(sc)
		if p.i == before {
			p.i++ // a stray token ("}" at the top level): skip it
		}
	}
}

func (p *parser) statement(sc scope) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxNesting {
		p.err, p.done = fmt.Errorf("line %d: blocks nested deeper than %d", p.peek(0).line, maxNesting), true
		return
	}
	t := p.peek(0)
	switch {
	case isOp(t, ";"):
		p.i++
	case isOp(t, "{"):
		p.i++
		p.block(scope{cond: sc.cond, guard: sc.guard})
	case isOp(t, "#["):
		p.skipAttribute() // then the declaration it belongs to
	case isKw(t, "if", "elseif", "while", "for", "foreach", "switch") && isOp(p.peek(1), "("):
		p.control(sc)
	case isKw(t, "else"):
		p.i++
		if isOp(p.peek(0), ":") {
			p.i++ // alternative syntax: the enclosing block goes on
			return
		}
		p.statement(scope{cond: true})
	case isKw(t, "do"):
		p.i++
		p.statement(scope{cond: true})
	case isKw(t, "try", "finally"):
		p.i++
		p.statement(scope{cond: sc.cond, guard: sc.guard})
	case isKw(t, "catch"):
		p.i++
		p.skipParens()
		p.statement(scope{cond: true})
	case isKw(t, "case", "default") && !isOp(p.peek(1), "("):
		p.skipTo(":")
	case isKw(t, "function") && (p.peek(1).kind == tIdent || isOp(p.peek(1), "&")),
		isKw(t, "class", "interface", "trait", "enum", "abstract", "final", "readonly") && p.peek(1).kind == tIdent:
		p.declaration()
	case isKw(t, "namespace") && !isOp(p.peek(1), "("):
		p.namespace(sc)
	case isKw(t, "const") && sc.top:
		p.constStatement(sc)
	case isKw(t, "__halt_compiler"):
		p.done = true
	default:
		p.expression(sc)
	}
}

// block reads statements up to the closing "}" (the "{" was read).
func (p *parser) block(sc scope) {
	p.statements(sc, func(t token) bool { return isOp(t, "}") })
	if isOp(p.peek(0), "}") {
		p.i++
	}
}

var altEnd = map[string]string{"if": "endif", "while": "endwhile", "for": "endfor", "foreach": "endforeach", "switch": "endswitch"}

// control reads if/elseif/while/for/foreach/switch with its body, in
// braces, braceless, or in the alternative `: … endif;` syntax.
func (p *parser) control(sc scope) {
	kw := strings.ToLower(p.peek(0).text)
	p.i++
	start := p.i + 1
	closed := p.skipParens()
	body := scope{cond: true}
	if kw == "if" && closed {
		if g := selfGuard(p.toks[start : p.i-1]); g != "" {
			body = scope{cond: sc.cond || sc.guard != "", guard: g}
		}
	}
	if !isOp(p.peek(0), ":") {
		p.statement(body)
		return
	}
	p.i++
	if kw == "elseif" {
		return // alternative syntax: the enclosing if block goes on
	}
	end := altEnd[kw]
	for !p.done && p.i < len(p.toks) {
		p.statements(body, func(t token) bool { return isKw(t, end, "else", "elseif") })
		if !isKw(p.peek(0), "else", "elseif") {
			break
		}
		body = scope{cond: true} // an else branch is never the guarded one
		p.statement(body)
	}
	if isKw(p.peek(0), end) {
		p.i++
	}
}

// selfGuard returns X when the condition is exactly `!defined('X')`.
func selfGuard(cond []token) string {
	if len(cond) == 5 && isOp(cond[0], "!") && isKw(cond[1], "defined", `\defined`) &&
		isOp(cond[2], "(") && cond[3].kind == tString && !cond[3].interp && isOp(cond[4], ")") {
		return cond[3].text
	}
	return ""
}

// skipParens skips a balanced (…) group, if one starts here; false when
// there is none or it never closes.
func (p *parser) skipParens() bool {
	if !isOp(p.peek(0), "(") {
		return false
	}
	nest := 0
	for ; p.i < len(p.toks); p.i++ {
		switch t := p.toks[p.i]; {
		case isOp(t, "("):
			nest++
		case isOp(t, ")"):
			nest--
			if nest == 0 {
				p.i++
				return true
			}
		}
	}
	return false
}

// skipAttribute skips a #[…] attribute.
func (p *parser) skipAttribute() {
	nest := 0
	for ; p.i < len(p.toks); p.i++ {
		switch t := p.toks[p.i]; {
		case isOp(t, "#[") || isOp(t, "["):
			nest++
		case isOp(t, "]"):
			nest--
			if nest == 0 {
				p.i++
				return
			}
		}
	}
}

// skipTo skips past the next op at nesting level 0 (case labels).
func (p *parser) skipTo(op string) {
	nest := 0
	for ; p.i < len(p.toks); p.i++ {
		switch t := p.toks[p.i]; {
		case isOp(t, "(") || isOp(t, "["):
			nest++
		case isOp(t, ")") || isOp(t, "]"):
			nest--
		case nest <= 0 && (isOp(t, op) || isOp(t, ";")):
			p.i++
			return
		}
	}
}

// declaration reads a function, class, interface, trait or enum: its body
// runs only when called (or holds members), so all of it is conditional.
func (p *parser) declaration() {
	nest := 0
	for ; p.i < len(p.toks); p.i++ {
		t := p.toks[p.i]
		switch {
		case isOp(t, "(") || isOp(t, "["):
			nest++
		case isOp(t, ")") || isOp(t, "]"):
			nest--
		case nest <= 0 && isOp(t, ";"):
			p.i++ // an abstract method or an interface member
			return
		case nest <= 0 && isOp(t, "{"):
			p.i++
			p.block(scope{cond: true})
			return
		}
	}
}

// namespace reads `namespace X;` or `namespace X { … }` (still top
// level). It matters to `const`, which defines X\NAME, not NAME.
func (p *parser) namespace(sc scope) {
	p.i++
	name := ""
	if t := p.peek(0); t.kind == tIdent {
		name = strings.TrimPrefix(t.text, `\`)
		p.i++
	}
	switch {
	case isOp(p.peek(0), "{"):
		p.i++
		outer := p.ns
		p.ns = name
		p.block(sc)
		p.ns = outer
	case isOp(p.peek(0), ";"):
		p.i++
		p.ns = name
	}
}
