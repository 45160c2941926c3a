package wordpress

import (
	"strconv"
	"strings"
)

// stmtEnd finds the end of the expression statement starting at p.i: end
// is the index after its last token (its ";" excluded), next where the
// following statement starts. A "}" that closes the enclosing block, and a
// keyword that only starts a statement (endif, else, …), end it unread.
func (p *parser) stmtEnd() (end, next int) {
	paren, brace := 0, 0
	for k := p.i; k < len(p.toks); k++ {
		t := p.toks[k]
		if t.kind == tIdent && k > p.i && paren == 0 && brace == 0 &&
			isKw(t, "endif", "endwhile", "endfor", "endforeach", "endswitch", "else", "elseif") {
			return k, k
		}
		if t.kind != tOp {
			continue
		}
		switch t.text {
		case "(", "[", "#[":
			paren++
		case ")", "]":
			paren = max(paren-1, 0)
		case "{":
			brace++
		case "}":
			if brace == 0 {
				return k, k
			}
			brace--
		case ";":
			if brace == 0 {
				return k, k + 1
			}
		}
	}
	return len(p.toks), len(p.toks)
}

// expression reads an expression statement: define() calls anywhere in
// it, an assignment of a recorded variable, an include.
func (p *parser) expression(sc scope) {
	start := p.i
	end, next := p.stmtEnd()
	p.i = next
	stmt := p.toks[start:end]
	brace := 0
	for k := 0; k < len(stmt); k++ {
		t := stmt[k]
		switch {
		case isOp(t, "{"):
			brace++
		case isOp(t, "}"):
			brace--
		case isKw(t, "define", `\define`) && k+1 < len(stmt) && isOp(stmt[k+1], "(") && !afterMember(stmt, k):
			k = p.define(stmt, k, sc, brace > 0)
		}
	}
	if len(stmt) >= 2 && stmt[0].kind == tVar && p.vars[stmt[0].text] && stmt[1].kind == tOp && isAssignOp(stmt[1].text) {
		p.out.assigns[stmt[0].text] = definition{line: int(stmt[0].line), value: stmt[2:], op: stmt[1].text, cond: sc.cond || sc.guard != ""}
	}
	p.includes(stmt, sc)
}

// afterMember reports whether stmt[k] is a method, a declared function or
// a class name rather than a call of the define() built-in.
func afterMember(stmt []token, k int) bool {
	if k == 0 {
		return false
	}
	prev := stmt[k-1]
	return isOp(prev, "->") || isOp(prev, "?->") || isOp(prev, "::") || isKw(prev, "function", "new", "const", "fn")
}

func isAssignOp(op string) bool {
	switch op {
	case "=", ".=", "+=", "-=", "*=", "/=", "%=", "**=", "??=", "&=", "|=", "^=", "<<=", ">>=":
		return true
	}
	return false
}

// define records the define() call at stmt[k] and returns the index of its
// closing ")", so that calls inside its arguments are not looked at (and
// a file of nested calls stays linear to read).
func (p *parser) define(stmt []token, k int, sc scope, inBraces bool) int {
	args, last := splitArgs(stmt, k+1)
	if len(args) == 0 {
		return last
	}
	nameTok := stripParens(args[0])
	if len(nameTok) != 1 || nameTok[0].kind != tString || nameTok[0].interp {
		return last // define($name, …): cannot be known
	}
	name := nameTok[0].text
	if _, seen := p.out.defines[name]; seen {
		return last // the first define wins, as in PHP
	}
	d := definition{line: int(stmt[k].line)}
	if len(args) > 1 {
		d.value = args[1]
	}
	d.cond = sc.cond || sc.guard != "" && sc.guard != name || inBraces || conditionalPrefix(stmt[:k], name)
	p.out.defines[name] = d
	return last
}

// splitArgs splits the argument list whose "(" is stmt[open] at its
// top-level commas; last is the index of the closing ")" (or the end).
func splitArgs(stmt []token, open int) (args [][]token, last int) {
	nest, from := 0, open+1
	for k := open; k < len(stmt); k++ {
		t := stmt[k]
		if t.kind != tOp {
			continue
		}
		switch t.text {
		case "(", "[", "{", "#[":
			nest++
		case ")", "]", "}":
			nest--
			if nest == 0 {
				if k > from || len(args) > 0 {
					args = append(args, stmt[from:k])
				}
				return args, k
			}
		case ",":
			if nest == 1 {
				args = append(args, stmt[from:k])
				from = k + 1
			}
		}
	}
	return args, len(stmt) - 1
}

// conditionalPrefix reports whether the tokens before a define() in its
// statement make it conditional. `defined('X') || define('X', …)` and
// `!defined('X') && define('X', …)` guard X by itself: not conditional.
func conditionalPrefix(prefix []token, name string) bool {
	if len(prefix) > 0 && isOp(prefix[0], "@") {
		prefix = prefix[1:]
	}
	if len(prefix) > 0 && isOp(prefix[0], "!") {
		if len(prefix) == 6 && isDefinedCall(prefix[1:5], name) && (isOp(prefix[5], "&&") || isKw(prefix[5], "and")) {
			return false
		}
	} else if len(prefix) == 5 && isDefinedCall(prefix[:4], name) && (isOp(prefix[4], "||") || isKw(prefix[4], "or")) {
		return false
	}
	for _, t := range prefix {
		if t.kind == tOp && (t.text == "?" || t.text == "??" || t.text == "&&" || t.text == "||" || t.text == ":") ||
			isKw(t, "and", "or", "xor", "fn", "function", "match") {
			return true
		}
	}
	return false
}

// isDefinedCall matches `defined ( 'name' )`.
func isDefinedCall(t []token, name string) bool {
	return isKw(t[0], "defined", `\defined`) && isOp(t[1], "(") && t[2].kind == tString &&
		!t[2].interp && t[2].text == name && isOp(t[3], ")")
}

// stripParens removes parentheses around a whole expression.
func stripParens(e []token) []token {
	for len(e) >= 2 && isOp(e[0], "(") && isOp(e[len(e)-1], ")") {
		nest := 0
		for k, t := range e {
			if isOp(t, "(") {
				nest++
			} else if isOp(t, ")") {
				nest--
				if nest == 0 && k != len(e)-1 {
					return e // "(a) . (b)"
				}
			}
		}
		e = e[1 : len(e)-1]
	}
	return e
}

// includes records an include/require statement; an unconditional one of
// wp-settings.php ends the reading.
func (p *parser) includes(stmt []token, sc scope) {
	found, settings := false, false
	for _, t := range stmt {
		if isKw(t, "include", "include_once", "require", "require_once") {
			found = true
		}
		if t.kind == tString && strings.Contains(t.text, "wp-settings.php") {
			settings = true
		}
	}
	if !found {
		return
	}
	p.out.includes = append(p.out.includes, include{line: int(stmt[0].line), text: render(stmt, 80), settings: settings})
	if settings && !sc.cond && sc.guard == "" {
		p.done = true
	}
}

// constStatement reads `const A = …, B = …;` at the top level.
func (p *parser) constStatement(sc scope) {
	p.i++
	start := p.i
	end, next := p.stmtEnd()
	p.i = next
	stmt := p.toks[start:end]
	from, nest := 0, 0
	for k := 0; k <= len(stmt); k++ {
		if k < len(stmt) {
			switch t := stmt[k]; {
			case isOp(t, "(") || isOp(t, "["):
				nest++
			case isOp(t, ")") || isOp(t, "]"):
				nest--
			}
			if nest != 0 || !isOp(stmt[k], ",") {
				continue
			}
		}
		part := stmt[from:k]
		from = k + 1
		if len(part) < 2 || part[0].kind != tIdent || !isOp(part[1], "=") {
			continue
		}
		name := part[0].text
		if p.ns != "" {
			name = p.ns + `\` + name // not the global constant WordPress reads
		}
		if _, seen := p.out.defines[name]; !seen {
			p.out.defines[name] = definition{line: int(part[0].line), value: part[2:], cond: sc.cond || sc.guard != ""}
		}
	}
}

// render prints tokens for a message, cut to about max bytes.
func render(toks []token, max int) string {
	var b strings.Builder
	for i, t := range toks {
		if b.Len() > max {
			b.WriteString(" …")
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		switch t.kind {
		case tVar:
			b.WriteString("$" + t.text)
		case tString:
			switch {
			case t.interp:
				b.WriteString(`"…"`)
			case len(t.text) > 60:
				b.WriteString(strconv.Quote(t.text[:60]) + "…")
			default:
				b.WriteString(strconv.Quote(t.text))
			}
		default:
			b.WriteString(t.text)
		}
	}
	return b.String()
}
