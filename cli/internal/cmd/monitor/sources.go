package monitor

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xvault/xvault/sdk"
)

var sourceColumns = []column{
	{title: "NAME", width: 14, flex: true},
	{title: "ID", width: 8, prio: 2},
	{title: "TYPE", width: 9, prio: 1},
	{title: "HEALTH", width: 11},
	{title: "LAST GOOD", width: 9, right: true},
	{title: "LAST BACKUP", width: 12, prio: 1},
	{title: "PROBLEM", width: 24, prio: 3, flex: true},
	{title: "TENANT", width: 8, prio: 2},
}

// failingRun is how many backups in a row must fail for "failing".
const failingRun = 3

// health is what the monitor can tell of a source from the jobs and
// snapshots it has seen, and the source.overdue events since it started.
type health struct {
	word     string // "✓ ok", "✗ failing", "! overdue", "○ never", "– disabled"
	problem  string
	class    class
	lastGood *sdk.Snapshot
	lastJob  *sdk.Job
	snaps    int
}

func (m *Model) sourceHealth(src sdk.Source) health {
	h := health{word: "✓ ok"}
	consider := func(s sdk.Snapshot) {
		if s.SourceID != src.ID || s.Status != sdk.SnapshotCompleted {
			return
		}
		if h.lastGood == nil || s.CreatedAt.After(h.lastGood.CreatedAt) {
			h.lastGood = &s
		}
	}
	for _, s := range m.data.snapshots {
		if s.SourceID == src.ID {
			h.snaps++
		}
		consider(s)
	}
	if s, ok := m.data.lastSnap[src.ID]; ok {
		consider(s)
	}
	var backups []sdk.Job
	for _, js := range m.data.jobs {
		if js.job.SourceID == src.ID && js.job.Type == sdk.JobBackup {
			backups = append(backups, js.job)
		}
	}
	slices.SortFunc(backups, func(a, b sdk.Job) int { return b.CreatedAt.Compare(a.CreatedAt) })
	if len(backups) > 0 {
		h.lastJob = &backups[0]
	}
	failed := 0
	for _, j := range backups {
		if j.Status.Active() {
			continue
		}
		if j.Status != sdk.JobFailed {
			break
		}
		failed++
	}
	mark, overdue := m.data.overdue[src.ID]
	if m.data.health != nil && src.Status != sdk.SourceDisabled {
		// The hub knows (schedules' alert_after, offline agents): its word wins.
		sh, bad := m.data.health[src.ID]
		switch {
		case overdue:
			h.word, h.class, h.problem = "! overdue", classFailed, strings.Join(mark.problems, "; ")
		case bad && len(sh.Problems) > 0:
			h.word, h.class, h.problem = problemWord(sdk.ProblemCode(sh.Problems[0])), classFailed, strings.Join(sh.Problems, "; ")
		}
		if h.lastJob != nil && h.lastJob.Status.Active() && h.class != classFailed {
			h.class = classActive
		}
		return h
	}
	switch {
	case src.Status == sdk.SourceDisabled:
		h.word, h.problem = "– disabled", "disabled: never scheduled"
	case failed >= failingRun:
		h.word, h.class = "✗ failing", classFailed
		h.problem = fmt.Sprintf("last %d backups failed: %s", failed, backups[0].ErrorMessage)
	case overdue:
		h.word, h.class = "! overdue", classFailed
		h.problem = "overdue since " + mark.at.Format("15:04:05")
		if len(mark.problems) > 0 {
			h.problem = strings.Join(mark.problems, "; ")
		}
	case h.lastGood == nil:
		h.word, h.class, h.problem = "○ never", classFailed, "never backed up"
	}
	if h.lastJob != nil && h.lastJob.Status.Active() && h.class != classFailed {
		h.class = classActive
	}
	return h
}

// problemWord is the HEALTH cell of a hub reason code.
func problemWord(code string) string {
	switch code {
	case sdk.HealthNeverBackedUp:
		return "○ never"
	case sdk.HealthOverdue:
		return "! overdue"
	case sdk.HealthFailing:
		return "✗ failing"
	case sdk.HealthAgentOffline:
		return "✗ agent off"
	}
	return "✗ " + code
}

func (m *Model) sourceRows() []row {
	now := m.now()
	type item struct {
		src sdk.Source
		h   health
	}
	items := make([]item, 0, len(m.data.sources))
	for _, s := range m.data.sources {
		items = append(items, item{s, m.sourceHealth(s)})
	}
	byName := func(a, b item) int {
		return cmp.Or(strings.Compare(a.src.Name, b.src.Name), strings.Compare(a.src.ID, b.src.ID))
	}
	switch m.panes[paneSources].sortName() {
	case "health":
		slices.SortFunc(items, func(a, b item) int { return cmp.Or(cmp.Compare(b.h.class, a.h.class), byName(a, b)) })
	case "last good":
		slices.SortFunc(items, func(a, b item) int { return cmp.Or(cmp.Compare(goodUnix(a.h), goodUnix(b.h)), byName(a, b)) })
	default:
		slices.SortFunc(items, byName)
	}
	rows := make([]row, 0, len(items))
	for _, it := range items {
		good, last := "–", "–"
		if it.h.lastGood != nil {
			good = age(snapTime(*it.h.lastGood), now)
		}
		if it.h.lastJob != nil {
			last = jobStatusText(it.h.lastJob.Status)
		}
		status := "ok"
		if it.h.problem != "" {
			status = strings.Fields(it.h.word)[1]
		}
		rows = append(rows, row{
			id:    it.src.ID,
			cells: []string{it.src.Name, shortID(it.src.ID), string(it.src.Type), it.h.word, good, last, it.h.problem, shortID(it.src.TenantID)},
			fields: map[string]string{"id": it.src.ID, "status": status, "source": it.src.ID + " " + it.src.Name,
				"type": string(it.src.Type), "tenant": it.src.TenantID},
			class: it.h.class,
		})
	}
	return rows
}

func goodUnix(h health) int64 {
	if h.lastGood == nil {
		return 0
	}
	return snapTime(*h.lastGood).Unix()
}

func snapTime(s sdk.Snapshot) time.Time {
	if s.FinishedAt != nil {
		return *s.FinishedAt
	}
	return s.CreatedAt
}

func (m *Model) sourceDetail(id string, w int) []string {
	src, ok := m.data.sources[id]
	if !ok {
		return []string{"no source selected"}
	}
	h := m.sourceHealth(src)
	lines := []string{fmt.Sprintf("Source %s · %s · %s · %s", src.ID, src.Name, src.Type, h.word)}
	if h.lastGood != nil {
		lines = append(lines, fmt.Sprintf("last good snapshot: %s at %s (%s, %d files)", shortID(h.lastGood.ID),
			snapTime(*h.lastGood).Format("2006-01-02 15:04:05"), bytesText(h.lastGood.SizeBytes), h.lastGood.FileCount))
	} else {
		lines = append(lines, "last good snapshot: none")
	}
	if h.lastJob != nil {
		lines = append(lines, fmt.Sprintf("last backup: %s %s %s ago", shortID(h.lastJob.ID), jobStatusText(h.lastJob.Status), age(h.lastJob.CreatedAt, m.now())))
		if h.lastJob.ErrorMessage != "" {
			lines = append(lines, wrap("error: "+h.lastJob.ErrorMessage, w)...)
		}
	}
	if h.problem != "" {
		lines = append(lines, wrap("problem: "+h.problem, w)...)
	}
	return lines
}
