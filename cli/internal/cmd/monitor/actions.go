package monitor

import (
	"context"
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/xvault/xvault/sdk"
)

// onKey handles one key press.
func (m *Model) onKey(msg tea.KeyMsg) tea.Cmd {
	if msg.Type == tea.KeyCtrlC {
		return tea.Quit
	}
	if m.confirm != nil {
		c := m.confirm
		m.confirm = nil
		if msg.String() == "y" || msg.String() == "Y" {
			m.message = "working…"
			return c.run
		}
		m.message = "not done"
		return nil
	}
	if m.editing {
		return m.onFilterKey(msg)
	}
	p := m.panes[m.tab]
	rows := m.rowsOf(m.tab)
	k := m.keys
	switch {
	case key.Matches(msg, k.Quit):
		return tea.Quit
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
	case key.Matches(msg, k.Down):
		p.move(rows, 1)
	case key.Matches(msg, k.Up):
		p.move(rows, -1)
	case key.Matches(msg, k.Top):
		p.move(rows, -len(rows))
	case key.Matches(msg, k.Bottom):
		p.move(rows, len(rows))
	case key.Matches(msg, k.Tab1), key.Matches(msg, k.Tab2), key.Matches(msg, k.Tab3), key.Matches(msg, k.Tab4):
		m.tab = paneKind(msg.String()[0] - '1')
		m.zoom = false
		m.applyRole()
	case key.Matches(msg, k.Enter):
		m.zoom = !m.zoom
	case key.Matches(msg, k.Back):
		switch {
		case m.zoom:
			m.zoom = false
		case !p.filter.empty():
			p.filter = filter{}
			m.input.SetValue("")
			p.sync(m.rowsOf(m.tab))
		}
	case key.Matches(msg, k.Filter):
		m.editing = true
		m.input.SetValue(p.filter.raw)
		m.input.CursorEnd()
		return m.input.Focus()
	case key.Matches(msg, k.Mode):
		p.mode = p.mode.next()
		p.sync(m.rowsOf(m.tab))
	case key.Matches(msg, k.Sort):
		p.sort = (p.sort + 1) % len(sortNames[m.tab])
		p.sync(m.rowsOf(m.tab))
	case key.Matches(msg, k.Cancel):
		m.askCancel()
	case key.Matches(msg, k.Rerun):
		m.askRerun()
	case key.Matches(msg, k.Drain):
		m.askDrain()
	}
	return nil
}

// onFilterKey edits the `/` filter: enter applies, esc drops the edit.
func (m *Model) onFilterKey(msg tea.KeyMsg) tea.Cmd {
	p := m.panes[m.tab]
	switch msg.Type {
	case tea.KeyEnter:
		f, err := parseFilter(m.input.Value())
		if err != nil {
			m.message = err.Error()
			return nil // keep editing
		}
		p.filter, m.editing, m.message = f, false, ""
		m.input.Blur()
		p.sync(m.rowsOf(m.tab))
		return nil
	case tea.KeyEsc:
		m.editing = false
		m.input.Blur()
		return nil
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	return cmd
}

// hubFor is the hub to act through on a tenant's object.
func (m *Model) hubFor(tenantID string) Hub {
	if m.all && tenantID != "" {
		return m.cfg.ForTenant(tenantID)
	}
	return m.cfg.Hub
}

func (m *Model) selectedJob() *sdk.Job {
	if js, ok := m.data.jobs[m.panes[paneJobs].selected]; ok {
		return &js.job
	}
	return nil
}

func (m *Model) askCancel() {
	j := m.selectedJob()
	switch {
	case m.tab != paneJobs || j == nil:
		m.message = "select a job to cancel"
		return
	case !j.Status.Active():
		m.message = fmt.Sprintf("job %s is %s: nothing to cancel", shortID(j.ID), j.Status)
		return
	}
	id, h, ctx := j.ID, m.hubFor(j.TenantID), m.ctx
	m.confirm = &confirm{
		prompt: fmt.Sprintf("Cancel %s job %s of %s? [y/N]", j.Type, j.ID, m.sourceName(j.SourceID)),
		run: func() tea.Msg {
			ctx, cancel := context.WithTimeout(ctx, actionWait)
			defer cancel()
			job, err := h.CancelJob(ctx, id)
			return actionMsg{text: "cancel requested for job " + shortID(id), job: job, err: err}
		},
	}
}

func (m *Model) askRerun() {
	var srcID, tenantID string
	switch m.tab {
	case paneJobs:
		j := m.selectedJob()
		if j == nil {
			m.message = "select a job to re-run its source"
			return
		}
		if j.SourceID == "" {
			m.message = fmt.Sprintf("job %s has no source to re-run", shortID(j.ID))
			return
		}
		srcID, tenantID = j.SourceID, j.TenantID
	case paneSources:
		s, ok := m.data.sources[m.panes[paneSources].selected]
		if !ok {
			m.message = "select a source to back up"
			return
		}
		srcID, tenantID = s.ID, s.TenantID
	default:
		return
	}
	h, ctx, name := m.hubFor(tenantID), m.ctx, m.sourceName(srcID)
	m.confirm = &confirm{
		prompt: fmt.Sprintf("Start a backup of source %s (%s)? [y/N]", name, srcID),
		run: func() tea.Msg {
			ctx, cancel := context.WithTimeout(ctx, actionWait)
			defer cancel()
			job, created, err := h.CreateJob(ctx, sdk.CreateJobRequest{SourceID: srcID, Type: sdk.JobBackup})
			text := "backup of " + name
			switch {
			case err != nil:
			case created:
				text += " queued as job " + shortID(job.ID)
			default:
				text += " already active as job " + shortID(job.ID)
			}
			return actionMsg{text: text, job: job, err: err}
		},
	}
}

func (m *Model) askDrain() {
	a, ok := m.data.agents[m.panes[paneAgents].selected]
	if m.tab != paneAgents || !ok || m.cfg.Drain == nil {
		m.message = "select an agent to drain or undrain"
		return
	}
	dr, ctx, id := m.cfg.Drain, m.ctx, a.ID
	verb := "Drain"
	do := dr.DrainAgent
	if agentStatus(a) == sdk.AgentDraining || a.Draining {
		verb, do = "Undrain", dr.UndrainAgent
	}
	m.confirm = &confirm{
		prompt: fmt.Sprintf("%s agent %s (%s)? [y/N]", verb, a.Name, a.ID),
		run: func() tea.Msg {
			ctx, cancel := context.WithTimeout(ctx, actionWait)
			defer cancel()
			_, err := do(ctx, id)
			return actionMsg{text: verb + " agent " + a.Name, err: err}
		},
	}
}
