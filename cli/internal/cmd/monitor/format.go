package monitor

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// Status words come with a glyph, so no state is told by colour alone.
var jobGlyphs = map[sdk.JobStatus]string{
	sdk.JobQueued:     "○",
	sdk.JobRunning:    "▶",
	sdk.JobFinalizing: "◆",
	sdk.JobCompleted:  "✓",
	sdk.JobFailed:     "✗",
	sdk.JobCanceled:   "⊘",
}

var agentGlyphs = map[sdk.AgentStatus]string{
	sdk.AgentOnline:   "●",
	sdk.AgentOffline:  "○",
	sdk.AgentDraining: "◐",
}

func jobStatusText(s sdk.JobStatus) string {
	g, ok := jobGlyphs[s]
	if !ok {
		g = "?"
	}
	return g + " " + string(s)
}

func agentStatusText(s sdk.AgentStatus) string {
	g, ok := agentGlyphs[s]
	if !ok {
		g = "?"
	}
	return g + " " + string(s)
}

// shortID is the first 8 characters of an id, enough to tell rows apart.
func shortID(id string) string {
	if len(id) <= 8 {
		return id
	}
	return id[:8]
}

// age is a compact "how long ago": 42s, 3m, 5h, 2d.
func age(t, now time.Time) string {
	if t.IsZero() {
		return "–"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "0s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
}

func agePtr(t *time.Time, now time.Time) string {
	if t == nil {
		return "–"
	}
	return age(*t, now)
}

// eta renders a remaining duration: 45s, 12m30s, 3h05m.
func eta(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	default:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
}

func bytesText(n int64) string { return strings.ReplaceAll(output.Bytes(n), " ", "") }

func rateText(bps float64) string {
	if bps <= 0 {
		return "–"
	}
	return bytesText(int64(bps)) + "/s"
}

// truncate cuts s to w cells, marking the cut with "…".
func truncate(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) <= w {
		return s
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		rw := lipgloss.Width(string(r))
		if used+rw > w-1 {
			break
		}
		b.WriteRune(r)
		used += rw
	}
	return b.String() + "…"
}

// truncateMiddle keeps both ends of s (a path's root and its file name).
func truncateMiddle(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	if w <= 1 {
		return truncate(s, w)
	}
	r := []rune(s)
	keepEnd := (w - 1) / 2
	keepStart := w - 1 - keepEnd
	return string(r[:keepStart]) + "…" + string(r[len(r)-keepEnd:])
}

// pad fits s into exactly w cells, left or right aligned.
func pad(s string, w int, right bool) string {
	s = truncate(s, w)
	gap := w - lipgloss.Width(s)
	if gap <= 0 {
		return s
	}
	if right {
		return strings.Repeat(" ", gap) + s
	}
	return s + strings.Repeat(" ", gap)
}

// bar is a progress bar of w cells for a fraction 0..1.
func bar(frac float64, w int) string {
	frac = min(max(frac, 0), 1)
	full := int(frac * float64(w))
	return "[" + strings.Repeat("█", full) + strings.Repeat("░", w-full) + "]"
}

// wrap breaks s into lines of at most w cells.
func wrap(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(lipgloss.NewStyle().Width(w).Render(s), "\n") {
		lines = append(lines, strings.TrimRight(l, " "))
	}
	return lines
}
