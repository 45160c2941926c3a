package monitor

import (
	"fmt"
	"slices"
	"strings"
)

// filterKeys are the keys of `/` filter terms; every row carries them.
var filterKeys = []string{"status", "source", "type", "agent", "tenant", "id"}

// filter is a parsed `/` filter: key:value terms and free words; a row
// must match all of them. Matching is case-insensitive, by substring.
type filter struct {
	raw   string
	terms map[string][]string
	words []string
}

// parseFilter reads "status:failed source:web1 disk": an unknown key or an
// empty value is an error naming what is allowed.
func parseFilter(s string) (filter, error) {
	f := filter{raw: strings.TrimSpace(s), terms: map[string][]string{}}
	for _, tok := range strings.Fields(s) {
		key, val, ok := strings.Cut(tok, ":")
		if !ok {
			f.words = append(f.words, strings.ToLower(tok))
			continue
		}
		key = strings.ToLower(key)
		if !slices.Contains(filterKeys, key) {
			return filter{}, fmt.Errorf("unknown filter key %q: use %s, or free text", key, strings.Join(filterKeys, ":, ")+":")
		}
		if val == "" {
			return filter{}, fmt.Errorf("filter %s: needs a value, e.g. %s:failed", key, key)
		}
		f.terms[key] = append(f.terms[key], strings.ToLower(val))
	}
	return f, nil
}

func (f filter) empty() bool { return len(f.terms) == 0 && len(f.words) == 0 }

// match tells whether a row passes. Terms on one key are alternatives
// (status:failed status:canceled); different keys must all match.
func (f filter) match(r row) bool {
	for key, vals := range f.terms {
		field := strings.ToLower(r.fields[key])
		if !slices.ContainsFunc(vals, func(v string) bool { return strings.Contains(field, v) }) {
			return false
		}
	}
	if len(f.words) == 0 {
		return true
	}
	text := strings.ToLower(strings.Join(r.cells, " ") + " " + r.id + " " + strings.Join(mapValues(r.fields), " "))
	for _, w := range f.words {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, k := range filterKeys {
		if v := m[k]; v != "" {
			out = append(out, v)
		}
	}
	return out
}

// mode is what `f` cycles through: every row, the active ones, the failed.
type mode int

const (
	modeAll mode = iota
	modeActive
	modeFailed
)

func (m mode) String() string { return [...]string{"all", "active", "failed"}[m] }

func (m mode) next() mode { return (m + 1) % 3 }

func (m mode) match(r row) bool {
	switch m {
	case modeActive:
		return r.class == classActive
	case modeFailed:
		return r.class == classFailed
	}
	return true
}
