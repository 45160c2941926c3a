package monitor

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xvault/xvault/sdk"
)

var jobColumns = []column{
	{title: "ID", width: 8},
	{title: "SOURCE", width: 12, flex: true},
	{title: "TYPE", width: 7, prio: 3},
	{title: "STATUS", width: 12},
	{title: "%", width: 4, prio: 1, right: true},
	{title: "FILES", width: 7, prio: 4, right: true},
	{title: "READ", width: 9, prio: 2, right: true},
	{title: "WRITTEN", width: 9, prio: 5, right: true},
	{title: "RATE", width: 10, prio: 1, right: true},
	{title: "ETA", width: 7, prio: 2, right: true},
	{title: "AGENT", width: 10, prio: 6},
	{title: "AGE", width: 4, right: true},
	{title: "TENANT", width: 8, prio: 3},
}

// statusRank orders jobs for the status sort: what needs eyes first.
var statusRank = map[sdk.JobStatus]int{
	sdk.JobRunning: 0, sdk.JobFinalizing: 1, sdk.JobQueued: 2, sdk.JobFailed: 3, sdk.JobCanceled: 4, sdk.JobCompleted: 5,
}

func (m *Model) sourceName(id string) string {
	if id == "" {
		return "–"
	}
	if s, ok := m.data.sources[id]; ok && s.Name != "" {
		return s.Name
	}
	return shortID(id)
}

func (m *Model) agentName(id string) string {
	if id == "" {
		return "–"
	}
	if a, ok := m.data.agents[id]; ok && a.Name != "" {
		return a.Name
	}
	return shortID(id)
}

// jobTotal is the number of bytes a job is expected to read, when that is
// known: a backup is expected to read about what the source's newest
// completed snapshot held.
func (m *Model) jobTotal(j sdk.Job) int64 {
	if j.Type != sdk.JobBackup || j.SourceID == "" {
		return 0
	}
	var best *sdk.Snapshot
	consider := func(s sdk.Snapshot) {
		if s.SourceID != j.SourceID || s.JobID == j.ID || s.Status != sdk.SnapshotCompleted || s.PlainBytes <= 0 {
			return
		}
		if best == nil || s.CreatedAt.After(best.CreatedAt) {
			best = &s
		}
	}
	for _, s := range m.data.snapshots {
		consider(s)
	}
	if s, ok := m.data.lastSnap[j.SourceID]; ok {
		consider(s)
	}
	if best == nil {
		return 0
	}
	return best.PlainBytes
}

// jobFigures are the computed progress columns of a job.
type jobFigures struct {
	pct, eta, rate string
	frac           float64
	total          int64
}

func (m *Model) figures(js *jobState) jobFigures {
	j := js.job
	f := jobFigures{pct: "–", eta: "–", rate: "–"}
	if j.Status == sdk.JobCompleted {
		f.pct, f.frac = "100", 1
	}
	if !j.Status.Active() || j.Progress == nil {
		return f
	}
	rate := js.rate
	if rate == 0 && j.StartedAt != nil {
		// No two samples yet: the average since the start.
		if d := m.now().Sub(*j.StartedAt); d > 0 {
			rate = float64(j.Progress.BytesRead) / d.Seconds()
		}
	}
	f.rate = rateText(rate)
	f.total = m.jobTotal(j)
	if f.total <= 0 {
		return f
	}
	read := j.Progress.BytesRead
	f.frac = min(float64(read)/float64(f.total), 0.99)
	f.pct = fmt.Sprintf("%d", int(f.frac*100))
	if rate > 0 && read < f.total {
		f.eta = eta(time.Duration(float64(f.total-read) / rate * float64(time.Second)))
	}
	return f
}

func (m *Model) jobRows() []row {
	now := m.now()
	states := make([]*jobState, 0, len(m.data.jobs))
	for _, js := range m.data.jobs {
		states = append(states, js)
	}
	newest := func(a, b *jobState) int {
		return cmp.Or(b.job.CreatedAt.Compare(a.job.CreatedAt), strings.Compare(a.job.ID, b.job.ID))
	}
	switch m.panes[paneJobs].sortName() {
	case "status":
		slices.SortFunc(states, func(a, b *jobState) int {
			return cmp.Or(cmp.Compare(rankOf(a.job.Status), rankOf(b.job.Status)), newest(a, b))
		})
	case "source":
		slices.SortFunc(states, func(a, b *jobState) int {
			return cmp.Or(strings.Compare(m.sourceName(a.job.SourceID), m.sourceName(b.job.SourceID)), newest(a, b))
		})
	case "rate":
		slices.SortFunc(states, func(a, b *jobState) int { return cmp.Or(cmp.Compare(b.rate, a.rate), newest(a, b)) })
	default:
		slices.SortFunc(states, newest)
	}
	rows := make([]row, 0, len(states))
	for _, js := range states {
		j := js.job
		f := m.figures(js)
		files, read, written := "–", "–", "–"
		if p := j.Progress; p != nil {
			files, read, written = fmt.Sprint(p.FilesDone), bytesText(p.BytesRead), bytesText(p.BytesWritten)
		}
		c := classOther
		switch {
		case j.Status.Active():
			c = classActive
		case j.Status == sdk.JobFailed:
			c = classFailed
		}
		rows = append(rows, row{
			id: j.ID,
			cells: []string{shortID(j.ID), m.sourceName(j.SourceID), string(j.Type), jobStatusText(j.Status), f.pct,
				files, read, written, f.rate, f.eta, m.agentName(j.AgentID), age(j.CreatedAt, now), shortID(j.TenantID)},
			fields: map[string]string{"id": j.ID, "status": string(j.Status), "source": j.SourceID + " " + m.sourceName(j.SourceID),
				"type": string(j.Type), "agent": j.AgentID + " " + m.agentName(j.AgentID), "tenant": j.TenantID},
			class: c,
		})
	}
	return rows
}

func rankOf(s sdk.JobStatus) int {
	if r, ok := statusRank[s]; ok {
		return r
	}
	return len(statusRank)
}

// jobDetail is the detail pane of a job: progress bar, current path,
// status timeline, the full error.
func (m *Model) jobDetail(id string, w int) []string {
	js, ok := m.data.jobs[id]
	if !ok {
		return []string{"no job selected"}
	}
	j := js.job
	lines := []string{fmt.Sprintf("Job %s · %s of %s · %s · attempt %d/%d · agent %s",
		j.ID, j.Type, m.sourceName(j.SourceID), jobStatusText(j.Status), j.Attempt, j.MaxAttempts, m.agentName(j.AgentID))}
	if j.CancelRequested && j.Status.Active() {
		lines[0] += " · cancel requested"
	}
	f := m.figures(js)
	if p := j.Progress; p != nil {
		barW := min(40, w/3)
		got := bytesText(p.BytesRead) + " read"
		if f.total > 0 {
			got += " of ~" + bytesText(f.total)
		}
		line := fmt.Sprintf("%s %s%%  %s · %s written · %d files · %s", bar(f.frac, barW), f.pct, got,
			bytesText(p.BytesWritten), p.FilesDone, f.rate)
		if f.eta != "–" {
			line += " · ETA " + f.eta
		}
		lines = append(lines, line)
		if p.CurrentPath != "" {
			lines = append(lines, "path: "+truncateMiddle(p.CurrentPath, w-6))
		}
	}
	var tl []string
	for _, s := range js.timeline {
		tl = append(tl, s.at.Format("15:04:05")+" "+string(s.status))
	}
	lines = append(lines, wrap("timeline: "+strings.Join(tl, " → "), w)...)
	if j.ErrorMessage != "" {
		lines = append(lines, wrap("error: "+j.ErrorMessage, w)...)
	}
	for _, warn := range j.Warnings {
		lines = append(lines, truncate("warning: "+warn, w))
	}
	return lines
}
