package wordpress

import (
	"strconv"
	"strings"
)

// evaluate returns the value of a literal expression, or, for anything
// that would have to run, a short description of what computes it
// ("getenv()", "the variable $_SERVER", "include").
func evaluate(e []token) (phpValue, string) {
	e = stripParens(e)
	if len(e) == 0 {
		return phpValue{}, "an empty expression"
	}
	if operands := splitConcat(e); len(operands) > 1 {
		var b strings.Builder
		for _, o := range operands {
			o = stripParens(o)
			if len(o) != 1 || o[0].kind != tString || o[0].interp {
				return phpValue{}, describe(e)
			}
			b.WriteString(o[0].text)
		}
		return phpValue{kind: 's', s: b.String()}, ""
	}
	sign := ""
	if len(e) == 2 && (isOp(e[0], "-") || isOp(e[0], "+")) && e[1].kind == tNumber {
		sign, e = e[0].text, e[1:]
	}
	if len(e) != 1 {
		return phpValue{}, describe(e)
	}
	switch t := e[0]; {
	case t.kind == tString && !t.interp:
		return phpValue{kind: 's', s: t.text}, ""
	case t.kind == tNumber:
		return number(sign + t.text)
	case isKw(t, "true", `\true`, "false", `\false`):
		return phpValue{kind: 'b', b: isKw(t, "true", `\true`)}, ""
	case isKw(t, "null", `\null`):
		return phpValue{kind: 'n'}, ""
	}
	return phpValue{}, describe(e)
}

// splitConcat splits e at its top-level "." operators.
func splitConcat(e []token) [][]token {
	var out [][]token
	nest, from := 0, 0
	for k, t := range e {
		switch {
		case isOp(t, "(") || isOp(t, "[") || isOp(t, "{"):
			nest++
		case isOp(t, ")") || isOp(t, "]") || isOp(t, "}"):
			nest--
		case nest == 0 && isOp(t, "."):
			out = append(out, e[from:k])
			from = k + 1
		}
	}
	return append(out, e[from:])
}

// number parses a PHP integer or float literal (signed, with _ separators).
func number(s string) (phpValue, string) {
	s = strings.ReplaceAll(s, "_", "")
	if i, err := strconv.ParseInt(s, 0, 64); err == nil {
		return phpValue{kind: 'i', i: i}, ""
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return phpValue{kind: 'f', f: f}, ""
	}
	return phpValue{}, "an invalid number " + truncate(s, 20)
}

var casts = map[string]bool{
	"int": true, "integer": true, "bool": true, "boolean": true, "float": true, "double": true,
	"real": true, "string": true, "array": true, "object": true, "unset": true, "binary": true,
}

// describe names what computes a non-literal expression, the most telling
// thing first: an include, a function call, a variable, a constant.
func describe(e []token) string {
	for _, t := range e {
		if isKw(t, "include", "include_once", "require", "require_once") {
			return "include"
		}
	}
	for k, t := range e {
		if t.kind == tIdent && k+1 < len(e) && isOp(e[k+1], "(") {
			return strings.TrimPrefix(truncate(t.text, 40), `\`) + "()"
		}
	}
	for k, t := range e {
		switch {
		case t.kind == tVar:
			return "the variable $" + truncate(t.text, 40)
		case t.kind == tString && t.shell:
			return "a shell command"
		case t.kind == tIdent && k > 0 && isOp(e[k-1], "(") && k+1 < len(e) && isOp(e[k+1], ")") && casts[strings.ToLower(t.text)]:
			return "a (" + strings.ToLower(t.text) + ") cast"
		case t.kind == tIdent && !isKw(t, "true", "false", "null", "new", "fn", "function", "match"):
			return "the constant " + strings.TrimPrefix(truncate(t.text, 40), `\`)
		}
	}
	for _, t := range e {
		if t.kind == tString && t.interp {
			return "a string with $variable interpolation"
		}
	}
	if len(splitConcat(e)) > 1 {
		return "a concatenation"
	}
	return "an expression"
}
