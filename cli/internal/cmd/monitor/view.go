package monitor

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// Smallest terminal the monitor draws in.
const (
	minWidth  = 80
	minHeight = 24
)

var (
	styleHeader   = lipgloss.NewStyle().Bold(true)
	styleTab      = lipgloss.NewStyle().Bold(true).Underline(true)
	styleSelected = lipgloss.NewStyle().Reverse(true)
	styleStale    = lipgloss.NewStyle().Faint(true)
	styleFailed   = lipgloss.NewStyle().Foreground(lipgloss.Color("1"))
	styleLive     = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	styleWarn     = lipgloss.NewStyle().Foreground(lipgloss.Color("3"))
	styleColTitle = lipgloss.NewStyle().Bold(true)
)

// View renders the whole screen.
func (m *Model) View() string {
	if m.width == 0 {
		return "starting…"
	}
	if m.width < minWidth || m.height < minHeight {
		return fmt.Sprintf("xv monitor needs a terminal of at least %d×%d (this one is %d×%d): make it bigger, or press q to quit.",
			minWidth, minHeight, m.width, m.height)
	}
	top := []string{m.headerLine(), m.tabsLine()}
	bottom := append([]string{m.messageLine()}, strings.Split(m.help.View(m.keys), "\n")...)
	lines := append(top, m.body(m.bodyHeight())...)
	lines = append(lines, bottom...)
	for i, l := range lines {
		lines[i] = fit(l, m.width)
	}
	return strings.Join(lines, "\n")
}

// fit cuts or pads a line to the terminal width.
func fit(s string, w int) string {
	if lipgloss.Width(s) > w {
		return truncate(s, w)
	}
	return s
}

func (m *Model) headerLine() string {
	hub := m.cfg.HubURL
	if u, err := url.Parse(hub); err == nil && u.Host != "" {
		hub = u.Host
	}
	tenant := m.cfg.Tenant
	switch {
	case tenant != "":
		tenant = shortID(tenant)
	case m.all:
		tenant = "all"
	case m.caller != nil && m.caller.TenantID != "":
		tenant = shortID(m.caller.TenantID)
	default:
		tenant = "?"
	}
	mode := "RW"
	if m.readOnly() {
		mode = "RO"
	}
	right := m.linkText()
	left := styleHeader.Render(truncate(hub+" · tenant "+tenant, m.width-lipgloss.Width(right)-7)) + " · " + mode
	gap := max(m.width-lipgloss.Width(left)-lipgloss.Width(right), 1)
	return left + strings.Repeat(" ", gap) + right
}

// linkText is the link state: live, reconnecting, offline, or the token.
func (m *Model) linkText() string {
	switch m.link {
	case linkConnecting:
		return styleWarn.Render("◌ connecting")
	case linkLive:
		if m.polling {
			return styleLive.Render("● live (polling)")
		}
		return styleLive.Render("● live")
	case linkAuth:
		return styleFailed.Render("✕ token rejected")
	}
	down := m.now().Sub(m.downSince)
	if down < offlineAfter {
		return styleWarn.Render(fmt.Sprintf("◌ reconnecting (%ds)", int(down.Seconds())))
	}
	return styleFailed.Render("✕ offline · stale since " + m.staleAt.Format("15:04:05"))
}

func (m *Model) tabsLine() string {
	var tabs []string
	for k, title := range paneTitles {
		n := len(m.rowsOf(paneKind(k)))
		t := fmt.Sprintf("%d %s %d", k+1, title, n)
		if paneKind(k) == m.tab {
			tabs = append(tabs, styleTab.Render("["+t+"]"))
		} else {
			tabs = append(tabs, " "+t+" ")
		}
	}
	p := m.panes[m.tab]
	right := "f " + p.mode.String() + " · sort " + p.sortName()
	if !p.filter.empty() {
		right = "/" + p.filter.raw + " · " + right
	}
	left := strings.Join(tabs, "")
	right = truncate(right, m.width-lipgloss.Width(left)-1)
	gap := max(m.width-lipgloss.Width(left)-lipgloss.Width(right), 0)
	return left + strings.Repeat(" ", gap) + right
}

func (m *Model) columns() []column {
	var cols []column
	switch m.tab {
	case paneJobs:
		cols = jobColumns
	case paneAgents:
		cols = agentColumns
	case paneSources:
		cols = sourceColumns
	case paneSnapshots:
		cols = snapshotColumns
	}
	if !m.all && cols[len(cols)-1].title == "TENANT" {
		cols = cols[:len(cols)-1] // one tenant: the column says nothing
	}
	return cols
}

func (m *Model) detail(w int) []string {
	id := m.panes[m.tab].selected
	if id == "" {
		return []string{"nothing selected"}
	}
	switch m.tab {
	case paneJobs:
		return m.jobDetail(id, w)
	case paneAgents:
		return m.agentDetail(id, w)
	case paneSources:
		return m.sourceDetail(id, w)
	}
	return m.snapshotDetail(id, w)
}

// bodyHeight is what the header, tabs, message line and help leave.
func (m *Model) bodyHeight() int {
	return m.height - 3 - (strings.Count(m.help.View(m.keys), "\n") + 1)
}

// detailHeight is the detail pane's share of the body (with its rule).
func (m *Model) detailHeight(body int) int {
	if m.zoom {
		return body
	}
	return max(7, body/3)
}

// tableRows is how many rows the table shows under its header.
func (m *Model) tableRows() int {
	b := m.bodyHeight()
	return max(b-m.detailHeight(b)-1, 1)
}

// keepInView scrolls the table so the cursor stays visible.
func (m *Model) keepInView() {
	p := m.panes[m.tab]
	n := m.tableRows()
	total := len(m.rowsOf(m.tab))
	if p.cursor < p.offset {
		p.offset = p.cursor
	}
	if p.cursor >= p.offset+n {
		p.offset = p.cursor - n + 1
	}
	p.offset = max(min(p.offset, total-n), 0)
}

// body is the table and the detail pane, or the detail alone when zoomed.
func (m *Model) body(h int) []string {
	stale := m.link != linkLive
	detailH := m.detailHeight(h)
	detail := m.detail(m.width)
	sep := "── details "
	if stale {
		sep += "(stale) "
	}
	sep += strings.Repeat("─", max(m.width-lipgloss.Width(sep), 0))
	var dlines []string
	if !m.zoom {
		dlines = append(dlines, sep)
	}
	for _, l := range detail {
		if len(dlines) >= detailH {
			break
		}
		dlines = append(dlines, l)
	}
	for len(dlines) < detailH {
		dlines = append(dlines, "")
	}
	if m.zoom {
		return dlines
	}
	return append(m.table(h-detailH, stale), dlines...)
}

// table renders the pane's header row and as many rows as fit in h lines,
// scrolled to keep the cursor in view.
func (m *Model) table(h int, stale bool) []string {
	cols := m.columns()
	idx, widths := layout(cols, m.width)
	lines := []string{styleColTitle.Render(renderRow(cols, idx, widths, headerCells(cols), "  "))}
	p := m.panes[m.tab]
	rows := m.rowsOf(m.tab)
	n := h - 1
	switch {
	case m.tab == paneAgents && m.data.agentsErr != "":
		lines = append(lines, "  "+m.data.agentsErr)
	case len(rows) == 0 && m.link == linkConnecting:
		lines = append(lines, "  loading…")
	case len(rows) == 0:
		lines = append(lines, "  nothing to show"+m.emptyHint(p))
	}
	for i := p.offset; i < len(rows) && i < p.offset+n; i++ {
		r := rows[i]
		mark := "  "
		if i == p.cursor {
			mark = "› "
		}
		line := renderRow(cols, idx, widths, r.cells, mark)
		switch {
		case i == p.cursor:
			line = styleSelected.Render(line)
		case stale:
			line = styleStale.Render(line)
		case r.class == classFailed:
			line = styleFailed.Render(line)
		}
		lines = append(lines, line)
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return lines
}

func (m *Model) emptyHint(p *pane) string {
	switch {
	case !p.filter.empty() && p.mode != modeAll:
		return " (esc clears the filter, f shows all)"
	case !p.filter.empty():
		return " (esc clears the filter)"
	case p.mode != modeAll:
		return " (f shows all)"
	}
	return ""
}

// messageLine is the confirmation, the filter being typed, the token
// problem or the last message.
func (m *Model) messageLine() string {
	switch {
	case m.confirm != nil:
		return styleWarn.Render(m.confirm.prompt)
	case m.editing:
		return m.input.View()
	case m.fatal != "":
		return styleFailed.Render(m.fatal)
	}
	return m.message
}
