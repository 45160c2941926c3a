package wordpress

import (
	"errors"
	"strconv"
	"strings"
)

// unescapeSingle decodes the body of a '…' string: only \\ and \' are
// escapes; any other backslash is kept.
func unescapeSingle(body string) string {
	if !strings.Contains(body, `\`) {
		return body
	}
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		if body[i] == '\\' && i+1 < len(body) && (body[i+1] == '\\' || body[i+1] == '\'') {
			i++
		}
		b.WriteByte(body[i])
	}
	return b.String()
}

var simpleEscapes = map[byte]byte{
	'n': '\n', 't': '\t', 'r': '\r', 'v': '\v', 'e': 0x1b, 'f': '\f', '\\': '\\', '$': '$',
}

// unescapeDouble decodes the body of a "…" string (quote '"') or of a
// heredoc (quote 0) with PHP's escapes: \n \t \r \v \e \f \\ \$ \" \xHH
// \u{…} and octal \ooo; an unknown escape keeps its backslash. interp is
// true when the body interpolates a variable ($name, {$…}, ${…}): its
// value is then not a constant, and the decoded text is not returned.
func unescapeDouble(body string, quote byte) (value string, interp bool, err error) {
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		var next byte
		if i+1 < len(body) {
			next = body[i+1]
		}
		switch {
		case c == '$' && (isIdentStart(next) || next == '{'), c == '{' && next == '$':
			return "", true, nil
		case c != '\\' || i+1 >= len(body):
			b.WriteByte(c)
		case simpleEscapes[next] != 0:
			b.WriteByte(simpleEscapes[next])
			i++
		case quote != 0 && next == quote:
			b.WriteByte(quote)
			i++
		case next == 'x' && i+2 < len(body) && isHex(body[i+2]):
			n := 1
			if i+3 < len(body) && isHex(body[i+3]) {
				n = 2
			}
			v, _ := strconv.ParseUint(body[i+2:i+2+n], 16, 8)
			b.WriteByte(byte(v))
			i += 1 + n
		case next >= '0' && next <= '7':
			n := 1
			for n < 3 && i+1+n < len(body) && body[i+1+n] >= '0' && body[i+1+n] <= '7' {
				n++
			}
			v, _ := strconv.ParseUint(body[i+1:i+1+n], 8, 16)
			b.WriteByte(byte(v)) // PHP wraps \400 and above
			i += n
		case next == 'u' && i+2 < len(body) && body[i+2] == '{':
			end := strings.IndexByte(body[i+3:], '}')
			if end < 0 {
				return "", false, errors.New(`invalid UTF-8 codepoint escape sequence (\u{ without })`)
			}
			cp, err := strconv.ParseUint(body[i+3:i+3+end], 16, 32)
			if err != nil || end == 0 {
				return "", false, errors.New(`invalid UTF-8 codepoint escape sequence`)
			}
			if cp > 0x10FFFF {
				return "", false, errors.New(`invalid UTF-8 codepoint escape sequence: codepoint too large`)
			}
			b.Write(encodeUTF8(rune(cp)))
			i += 3 + end
		default:
			b.WriteByte(c) // unknown escape: the backslash stays
		}
	}
	return b.String(), false, nil
}

// encodeUTF8 encodes r as PHP does, surrogates included (utf8.EncodeRune
// would replace those with U+FFFD).
func encodeUTF8(r rune) []byte {
	switch {
	case r < 0x80:
		return []byte{byte(r)}
	case r < 0x800:
		return []byte{0xC0 | byte(r>>6), 0x80 | byte(r&0x3F)}
	case r < 0x10000:
		return []byte{0xE0 | byte(r>>12), 0x80 | byte(r>>6&0x3F), 0x80 | byte(r&0x3F)}
	default:
		return []byte{0xF0 | byte(r>>18), 0x80 | byte(r>>12&0x3F), 0x80 | byte(r>>6&0x3F), 0x80 | byte(r&0x3F)}
	}
}
