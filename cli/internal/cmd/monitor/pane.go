package monitor

import (
	"strings"
)

// class sorts rows for `f`: active work, something failed, or neither.
type class int

const (
	classOther class = iota
	classActive
	classFailed
)

// row is one table line of a pane.
type row struct {
	id     string
	cells  []string          // one per column of the pane
	fields map[string]string // filter keys (status, source, type, agent, tenant, id)
	class  class
}

// column of a pane's table. Columns with a higher prio are dropped first
// when the terminal is narrow; the flex column takes the spare width.
type column struct {
	title string
	width int
	prio  int
	right bool
	flex  bool
}

// paneKind names the four tabs.
type paneKind int

const (
	paneJobs paneKind = iota
	paneAgents
	paneSources
	paneSnapshots
)

var paneTitles = [...]string{"Jobs", "Agents", "Sources", "Snapshots"}

// pane is the state of one tab: where the cursor is, its filter, mode and
// sort. What it shows comes from the root model's data (see rows.go).
type pane struct {
	kind     paneKind
	selected string // id of the selected row, kept across updates
	cursor   int
	offset   int
	filter   filter
	mode     mode
	sort     int // index into sortNames[kind]
}

var sortNames = [...][]string{
	paneJobs:      {"newest", "status", "source", "rate"},
	paneAgents:    {"name", "status", "last seen"},
	paneSources:   {"name", "health", "last good"},
	paneSnapshots: {"newest", "source", "size"},
}

func (p *pane) sortName() string { return sortNames[p.kind][p.sort] }

// visible filters rows by the pane's mode and filter.
func (p *pane) visible(all []row) []row {
	out := all[:0:0]
	for _, r := range all {
		if p.mode.match(r) && p.filter.match(r) {
			out = append(out, r)
		}
	}
	return out
}

// sync puts the cursor back on the selected row after the rows changed,
// or clamps it when that row is gone.
func (p *pane) sync(rows []row) {
	for i, r := range rows {
		if r.id == p.selected {
			p.cursor = i
			return
		}
	}
	p.cursor = min(max(p.cursor, 0), max(len(rows)-1, 0))
	if len(rows) > 0 {
		p.selected = rows[p.cursor].id
	} else {
		p.selected = ""
	}
}

// move shifts the cursor by delta rows (clamped) in rows.
func (p *pane) move(rows []row, delta int) {
	if len(rows) == 0 {
		return
	}
	p.cursor = min(max(p.cursor+delta, 0), len(rows)-1)
	p.selected = rows[p.cursor].id
}

// layout picks the columns that fit width and their widths: lowest prio
// first, one space between columns, spare width shared by the flex columns.
func layout(cols []column, width int) ([]int, []int) {
	// Keep columns in table order, dropping the highest prio until they fit.
	keep := map[int]bool{}
	for i := range cols {
		keep[i] = true
	}
	total := func() int {
		n := 2 // the cursor mark
		for i, c := range cols {
			if keep[i] {
				n += c.width + 1
			}
		}
		return n
	}
	for total() > width {
		worst := -1
		for i, c := range cols {
			if keep[i] && (worst < 0 || c.prio > cols[worst].prio) {
				worst = i
			}
		}
		if worst < 0 || cols[worst].prio == 0 {
			break
		}
		delete(keep, worst)
	}
	var idx, widths []int
	flex := 0
	for i, c := range cols {
		if keep[i] && c.flex {
			flex++
		}
	}
	share := 0
	if flex > 0 {
		share = max(width-total(), 0) / flex
	}
	for i, c := range cols {
		if !keep[i] {
			continue
		}
		w := c.width
		if c.flex {
			w += min(share, 2*c.width)
		}
		idx = append(idx, i)
		widths = append(widths, w)
	}
	return idx, widths
}

// renderRow lays out one line of cells.
func renderRow(cols []column, idx, widths []int, cells []string, mark string) string {
	var b strings.Builder
	b.WriteString(mark)
	for n, i := range idx {
		cell := ""
		if i < len(cells) {
			cell = cells[i]
		}
		b.WriteString(pad(cell, widths[n], cols[i].right))
		if n < len(idx)-1 {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

func headerCells(cols []column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.title
	}
	return out
}
