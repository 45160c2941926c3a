package postgres

import (
	"strings"
	"sync"
)

// connString renders libpq keyword/value pairs as a connection string,
// every value single-quoted with \ and ' escaped, so a value may hold
// spaces, quotes, "=", newlines or anything else but NUL.
func connString(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(kv[i])
		b.WriteByte('=')
		b.WriteString(quoteConnValue(kv[i+1]))
	}
	return b.String()
}

var connValueEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`)

func quoteConnValue(v string) string { return "'" + connValueEscaper.Replace(v) + "'" }

var passfileEscaper = strings.NewReplacer(`\`, `\\`, `:`, `\:`)

// passfileLine is the one line of the job's password file: any host, port,
// database and user (the file serves this job's single connection target),
// the password with \ and : escaped. An empty password gives an empty file.
func passfileLine(password string) string {
	if password == "" {
		return ""
	}
	return "*:*:*:*:" + passfileEscaper.Replace(password) + "\n"
}

// stderrLimit is how much of a tool's stderr is kept for error messages.
const stderrLimit = 2 << 10

// headBuffer keeps the first stderrLimit bytes written to it and discards
// the rest, so a chatty tool can neither block nor fill memory.
type headBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (h *headBuffer) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if room := stderrLimit - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (h *headBuffer) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.b)
}

// firstLines joins the first n non-empty lines of s with "; ".
func firstLines(s string, n int) string {
	var out []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
		if len(out) == n {
			break
		}
	}
	return strings.Join(out, "; ")
}

// redact removes secret from s. No tool is ever given the password in
// argv or environment, so it should never be in their output; this is the
// second line of defence.
func redact(s, secret string) string {
	if len(secret) < 4 {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}
