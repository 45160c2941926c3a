package validate

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxDuration bounds ParseDuration: large enough for any real period, small
// enough that no time arithmetic overflows.
const maxDuration = 100 * 366 * 24 * time.Hour

// units of ParseDuration, longest name first where names share a prefix.
var units = map[string]time.Duration{
	"w": 7 * 24 * time.Hour, "d": 24 * time.Hour, "h": time.Hour, "m": time.Minute,
}

// ParseDuration reads a retention duration: one or more <integer><unit>
// terms with units w (weeks), d (days), h (hours) and m (minutes), such as
// "7d", "36h", "2w" or "1d12h". It must be positive and at most 100 years.
func ParseDuration(s string) (time.Duration, error) {
	const hint = `must be a duration such as "7d", "36h", "2w" or "1d12h" (units w, d, h, m)`
	rest := strings.TrimSpace(s)
	if rest == "" || len(rest) > 64 {
		return 0, fmt.Errorf("%s", hint)
	}
	var total time.Duration
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		j := i
		for j < len(rest) && rest[j] >= 'a' && rest[j] <= 'z' {
			j++
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		unit, ok := units[rest[i:j]]
		if i == 0 || err != nil || !ok || n > int64(maxDuration/unit) {
			return 0, fmt.Errorf("%s", hint)
		}
		total += time.Duration(n) * unit
		if total > maxDuration {
			return 0, fmt.Errorf("must be at most 100 years")
		}
		rest = rest[j:]
	}
	if total <= 0 {
		return 0, fmt.Errorf("must be longer than zero")
	}
	return total, nil
}

// FormatDuration writes d the way ParseDuration reads it ("1d12h").
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "0h"
	}
	var b strings.Builder
	for _, u := range []struct {
		name string
		d    time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.d
		}
	}
	if b.Len() == 0 {
		return "0m"
	}
	return b.String()
}
