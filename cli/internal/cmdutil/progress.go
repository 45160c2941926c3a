package cmdutil

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// ProgressLine redraws one line on a terminal with a job's progress: files,
// bytes read and written, the smoothed read rate and, when Total (the bytes
// the job is expected to read) is known, a bar with the percentage and an ETA.
type ProgressLine struct {
	W     io.Writer
	Width int
	Now   func() time.Time
	// Total is the expected bytes read, 0 when unknown (no bar, no ETA).
	// Estimate marks it as a guess from an earlier run: the ETA reads "~".
	Total    int64
	Estimate bool

	drawn    bool
	lastRead int64
	lastAt   time.Time
	rate     float64 // bytes/s, smoothed
}

// Update redraws the line for the job's current state.
func (p *ProgressLine) Update(j *sdk.Job) {
	now := p.Now()
	line := p.render(j, now)
	if p.Width > 1 {
		line = truncate(line, p.Width-1)
	}
	fmt.Fprintf(p.W, "\r%s\x1b[K", line)
	p.drawn = true
}

func (p *ProgressLine) render(j *sdk.Job, now time.Time) string {
	switch {
	case j.Status == sdk.JobQueued && j.Attempt == 0:
		return fmt.Sprintf("%s queued, waiting for an agent…", j.ID)
	case j.Status == sdk.JobQueued:
		return fmt.Sprintf("%s queued for retry (attempt %d of %d failed)…", j.ID, j.Attempt, j.MaxAttempts)
	case j.Progress == nil:
		return fmt.Sprintf("%s %s…", j.ID, j.Status)
	}
	pr := j.Progress
	if !p.lastAt.IsZero() && now.After(p.lastAt) && pr.BytesRead >= p.lastRead {
		inst := float64(pr.BytesRead-p.lastRead) / now.Sub(p.lastAt).Seconds()
		if p.rate == 0 {
			p.rate = inst
		} else {
			p.rate = 0.6*p.rate + 0.4*inst
		}
	}
	p.lastRead, p.lastAt = pr.BytesRead, now

	parts := []string{string(j.Status)}
	if p.Total > 0 && (!p.Estimate || pr.BytesRead < p.Total) { // a passed estimate says nothing
		parts = append(parts, bar(pr.BytesRead, p.Total))
	}
	parts = append(parts,
		output.Count(pr.FilesDone)+" files",
		output.Bytes(pr.BytesRead)+" read",
		output.Bytes(pr.BytesWritten)+" written")
	if p.rate > 0 {
		parts = append(parts, output.Bytes(int64(p.rate))+"/s")
		if eta := p.eta(pr.BytesRead); eta != "" {
			parts = append(parts, eta)
		}
	}
	if pr.Warnings > 0 {
		parts = append(parts, fmt.Sprintf("%d warnings", pr.Warnings))
	}
	if j.CancelRequested {
		parts = append(parts, "canceling")
	}
	if pr.CurrentPath != "" {
		parts = append(parts, pr.CurrentPath)
	}
	return strings.Join(parts, "  ")
}

// eta is "ETA 2m10s" ("ETA ~2m10s" for an estimated total), "" when
// unknown or when the job has passed the expected total already.
func (p *ProgressLine) eta(read int64) string {
	if p.Total <= 0 || p.rate <= 0 || read >= p.Total {
		return ""
	}
	d := time.Duration(float64(p.Total-read) / p.rate * float64(time.Second)).Round(time.Second)
	if p.Estimate {
		return "ETA ~" + output.Duration(d)
	}
	return "ETA " + output.Duration(d)
}

// bar is "[#####-----] 50%", held at 99% until the job says it is done.
func bar(done, total int64) string {
	const width = 10
	pct := min(99, int(done*100/total))
	filled := pct * width / 100
	return "[" + strings.Repeat("#", filled) + strings.Repeat("-", width-filled) + "] " + fmt.Sprintf("%d%%", pct)
}

// Clear erases the line so what follows starts on a clean one.
func (p *ProgressLine) Clear() {
	if p.drawn {
		fmt.Fprint(p.W, "\r\x1b[K")
		p.drawn = false
	}
}

// truncate cuts s to n runes, marking the cut with an ellipsis.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if n < 2 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}
