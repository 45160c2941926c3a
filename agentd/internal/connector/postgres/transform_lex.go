package postgres

// The lexer of the plain-dump transform: psql's rules for where SQL text
// is code, quoted, a comment or a $tag$ body (see transform.go).

// step feeds one byte to the lexer.
func (t *plainTransform) step(c byte) error {
	for {
		again, err := t.lex(c)
		if err != nil || !again {
			return err
		}
	}
}

// lex handles c in the current state; again asks for c to be handled
// once more, in the state lex moved to.
func (t *plainTransform) lex(c byte) (again bool, err error) {
	switch t.state {
	case sTop:
		return false, t.top(c)
	case sWord:
		return t.inWord(c), nil
	case sNumber:
		if isIdentCont(c) && c != '$' || c == '.' {
			t.put(c)
			return false, nil
		}
		if c == '\'' {
			return false, t.errorf("a number directly followed by a quote (psql versions read it differently)")
		}
		t.token(tokOther, "")
		t.state = sTop
		return true, nil
	case sUAmp:
		switch c {
		case '\'':
			t.token(tokOther, "")
			t.put(c)
			t.kind, t.state = strStandard, sString
			return false, nil
		case '"':
			t.token(tokIdent, "")
			t.put(c)
			t.state = sDouble
			return false, nil
		}
		t.endWord()
		t.token(tokOther, "&")
		t.state = sTop
		return true, nil
	case sDash, sSlash:
		return t.afterOperatorChar(c), nil
	case sLineComment:
		t.put(c)
		if c == '\n' || c == '\r' {
			t.state = sTop
		}
	case sBlock, sBlockStar, sBlockSlash:
		t.inBlock(c)
	case sString, sStringEsc, sAfterString, sAfterDash, sAfterComment:
		return t.inString(c), nil
	case sDouble:
		t.put(c)
		if c == '"' {
			t.state = sDoubleQuote
		}
	case sDoubleQuote:
		if c == '"' {
			t.put(c)
			t.state = sDouble
			return false, nil
		}
		t.state = sTop
		return true, nil
	case sDollarOpen:
		return t.dollarOpen(c)
	case sDollar:
		t.put(c)
		t.dollarBody(c)
	}
	return false, nil
}

func (t *plainTransform) top(c byte) error {
	if t.pendingCopy {
		switch c {
		case '\n':
			t.put(c)
			t.pendingCopy, t.copyMode, t.copyLine = false, true, t.line+1
			return nil
		case ' ', '\t', '\r':
			t.put(c)
			return nil
		}
		return t.errorf("text after a COPY … FROM stdin statement on its line")
	}
	switch {
	case isSpace(c):
		t.put(c)
	case c == '-' || c == '/':
		if t.inStmt {
			t.put(c)
		} else {
			t.pending = c
		}
		t.state = sDash
		if c == '/' {
			t.state = sSlash
		}
	case c == '\\':
		return t.errorf("psql meta-command refused: a dump made by pg_dump holds none outside COPY data but \\restrict and \\unrestrict lines")
	case c == ';':
		t.begin()
		t.put(c)
		if t.paren == 0 && t.beginDepth == 0 {
			return t.endStatement()
		}
		t.token(tokOther, ";")
	case c == '\'':
		t.begin()
		t.token(tokOther, "")
		t.put(c)
		t.kind, t.state = strStandard, sString
		if !t.std {
			t.kind = strEscape
		}
	case c == '"':
		t.begin()
		t.token(tokIdent, "")
		t.put(c)
		t.state = sDouble
	case c == '$':
		t.begin()
		t.put(c)
		t.tag, t.state = t.tag[:0], sDollarOpen
	case isIdentStart(c):
		t.begin()
		t.put(c)
		t.word, t.wordLong, t.state = append(t.word[:0], upper(c)), false, sWord
	case c >= '0' && c <= '9':
		t.begin()
		t.put(c)
		t.state = sNumber
	default:
		t.begin()
		switch c {
		case '(':
			t.paren++
		case ')':
			if t.paren > 0 {
				t.paren--
			}
		}
		t.token(tokOther, string(c))
		t.put(c)
	}
	return nil
}

func (t *plainTransform) inWord(c byte) bool {
	if isIdentCont(c) {
		if len(t.word) < wordText {
			t.word = append(t.word, upper(c))
		} else {
			t.wordLong = true
		}
		t.put(c)
		return false
	}
	if len(t.word) == 1 && !t.wordLong {
		switch t.word[0] {
		case 'E', 'B', 'X', 'N':
			if c == '\'' {
				t.token(tokOther, "")
				t.put(c)
				switch t.word[0] {
				case 'E':
					t.kind = strEscape
				case 'B', 'X':
					t.kind = strBits
				default:
					t.kind = strStandard
					if !t.std {
						t.kind = strEscape
					}
				}
				t.state = sString
				return false
			}
		case 'U':
			if c == '&' {
				t.put(c)
				t.state = sUAmp
				return false
			}
		}
	}
	t.endWord()
	t.state = sTop
	return true
}

func (t *plainTransform) endWord() {
	text := string(t.word)
	if t.wordLong {
		text = "" // matches no keyword
	}
	t.token(tokWord, text)
}

// afterOperatorChar: a "-" or "/" was read; c decides whether it opened a comment.
func (t *plainTransform) afterOperatorChar(c byte) bool {
	op := byte('-')
	if t.state == sSlash {
		op = '/'
	}
	if (op == '-' && c == '-') || (op == '/' && c == '*') {
		if t.pending != 0 {
			t.write([]byte{op})
			t.pending = 0
		}
		t.put(c)
		if op == '-' {
			t.state = sLineComment
		} else {
			t.state, t.depth = sBlock, 1
		}
		return false
	}
	if t.pending != 0 {
		t.pending = 0
		t.begin()
		t.put(op)
	}
	t.token(tokOther, string(op))
	t.state = sTop
	return true
}

func (t *plainTransform) inBlock(c byte) {
	t.put(c)
	switch {
	case t.state == sBlockStar && c == '/':
		t.depth--
		t.state = sBlock
		if t.depth == 0 {
			t.state = sTop
		}
	case t.state == sBlockSlash && c == '*':
		t.depth++
		t.state = sBlock
	case c == '*':
		t.state = sBlockStar
	case c == '/':
		t.state = sBlockSlash
	default:
		t.state = sBlock
	}
}

// inString follows a quoted string, and after its closing quote psql's
// rules for a doubled quote and for a continuation ('a', a line break,
// then 'b' is one string).
func (t *plainTransform) inString(c byte) bool {
	switch t.state {
	case sString:
		t.put(c)
		switch {
		case c == '\\' && t.kind == strEscape:
			t.state = sStringEsc
		case c == '\'':
			t.state, t.justClosed, t.sawNewline = sAfterString, true, false
		}
		return false
	case sStringEsc:
		t.put(c)
		t.state = sString
		return false
	case sAfterDash:
		if c == '-' {
			t.put(c)
			t.state = sAfterComment
			return false
		}
		t.token(tokOther, "-")
		t.state = sTop
		return true
	case sAfterComment:
		t.put(c)
		if c == '\n' || c == '\r' {
			t.state, t.sawNewline = sAfterString, true
		}
		return false
	}
	// sAfterString
	if t.justClosed {
		t.justClosed = false
		if c == '\'' && t.kind != strBits {
			t.put(c)
			t.state = sString
			return false
		}
	}
	switch {
	case c == '\'' && t.sawNewline:
		t.put(c)
		t.state = sString
	case c == ' ' || c == '\t' || c == '\f' || c == '\v':
		t.put(c)
	case c == '\n' || c == '\r':
		t.put(c)
		t.sawNewline = true
	case c == '-':
		t.put(c)
		t.state = sAfterDash
	default:
		t.state = sTop
		return true
	}
	return false
}

func (t *plainTransform) dollarOpen(c byte) (bool, error) {
	switch {
	case c == '$':
		t.put(c)
		t.token(tokOther, "")
		t.dm, t.state = 0, sDollar
		return false, nil
	case isIdentStart(c) || (len(t.tag) > 0 && c >= '0' && c <= '9'):
		if len(t.tag) >= maxDollarTag {
			return false, t.errorf("a $tag$ longer than %d bytes", maxDollarTag)
		}
		t.put(c)
		t.tag = append(t.tag, c)
		return false, nil
	}
	// Not a $tag$ (a parameter $1, or junk): psql reads the "$" alone,
	// then the tag bytes as a word.
	t.token(tokOther, "$")
	if len(t.tag) > 0 {
		t.word, t.wordLong = t.word[:0], len(t.tag) > wordText
		for _, b := range t.tag[:min(len(t.tag), wordText)] {
			t.word = append(t.word, upper(b))
		}
		t.endWord()
	}
	t.state = sTop
	return true, nil
}

// dollarBody looks for the closing "$tag$" (the tag holds no "$").
func (t *plainTransform) dollarBody(c byte) {
	want := len(t.tag) + 2
	switch {
	case t.dm > 0 && t.dm <= len(t.tag) && c == t.tag[t.dm-1]:
		t.dm++
	case t.dm == len(t.tag)+1 && c == '$':
		t.dm++
	case c == '$':
		t.dm = 1
	default:
		t.dm = 0
	}
	if t.dm == want {
		t.state, t.dm = sTop, 0
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}

func isIdentCont(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '$'
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
