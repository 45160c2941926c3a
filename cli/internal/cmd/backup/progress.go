package backup

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xvault/xvault/cli/internal/output"
	"github.com/xvault/xvault/sdk"
)

// progressLine redraws one line on a terminal with a job's progress.
type progressLine struct {
	w     io.Writer
	width int
	now   func() time.Time

	drawn    bool
	lastRead int64
	lastAt   time.Time
	rate     float64 // bytes/s, smoothed
}

func (p *progressLine) update(j *sdk.Job) {
	now := p.now()
	line := p.render(j, now)
	if p.width > 1 {
		line = truncate(line, p.width-1)
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	p.drawn = true
}

func (p *progressLine) render(j *sdk.Job, now time.Time) string {
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

	parts := []string{
		string(j.Status),
		output.Count(pr.FilesDone) + " files",
		output.Bytes(pr.BytesRead) + " read",
		output.Bytes(pr.BytesWritten) + " written",
	}
	if p.rate > 0 {
		parts = append(parts, output.Bytes(int64(p.rate))+"/s")
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

// clear erases the line so what follows starts on a clean one.
func (p *progressLine) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
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
