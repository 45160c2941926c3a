package monitor

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/xvault/xvault/sdk"
)

var agentColumns = []column{
	{title: "NAME", width: 14, flex: true},
	{title: "ID", width: 8, prio: 2},
	{title: "STATUS", width: 10},
	{title: "VERSION", width: 10, prio: 1},
	{title: "JOBS", width: 4, right: true},
	{title: "SEEN", width: 5, right: true},
	{title: "STORAGE", width: 20, prio: 3, flex: true},
	{title: "CAPABILITIES", width: 16, prio: 4},
}

// runningJobs counts each agent's active jobs.
func (m *Model) runningJobs() map[string]int {
	n := map[string]int{}
	for _, js := range m.data.jobs {
		if js.job.Status.Active() && js.job.AgentID != "" {
			n[js.job.AgentID]++
		}
	}
	return n
}

func (m *Model) agentRows() []row {
	now := m.now()
	agents := make([]sdk.Agent, 0, len(m.data.agents))
	for _, a := range m.data.agents {
		agents = append(agents, a)
	}
	byName := func(a, b sdk.Agent) int { return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.ID, b.ID)) }
	switch m.panes[paneAgents].sortName() {
	case "status":
		slices.SortFunc(agents, func(a, b sdk.Agent) int {
			return cmp.Or(strings.Compare(string(b.Status), string(a.Status)), byName(a, b))
		})
	case "last seen":
		slices.SortFunc(agents, func(a, b sdk.Agent) int {
			return cmp.Or(cmp.Compare(seenUnix(b), seenUnix(a)), byName(a, b))
		})
	default:
		slices.SortFunc(agents, byName)
	}
	running := m.runningJobs()
	rows := make([]row, 0, len(agents))
	for _, a := range agents {
		c := classActive
		if a.Status == sdk.AgentOffline {
			c = classFailed
		}
		version := cmp.Or(a.Version, "–")
		storage := a.StorageBasePath
		if a.StorageFreeBytes != nil {
			storage = bytesText(*a.StorageFreeBytes) + " free " + storage
		}
		rows = append(rows, row{
			id: a.ID,
			cells: []string{a.Name, shortID(a.ID), agentStatusText(agentStatus(a)), version, fmt.Sprint(max(running[a.ID], a.RunningJobs)),
				agePtr(a.LastSeenAt, now), storage, strings.Join(a.Capabilities, ",")},
			fields: map[string]string{"id": a.ID, "status": string(agentStatus(a)), "agent": a.ID + " " + a.Name},
			class:  c,
		})
	}
	return rows
}

// agentStatus is draining for a drained agent that is still seen.
func agentStatus(a sdk.Agent) sdk.AgentStatus {
	if a.Draining && a.Status == sdk.AgentOnline {
		return sdk.AgentDraining
	}
	return a.Status
}

func seenUnix(a sdk.Agent) int64 {
	if a.LastSeenAt == nil {
		return 0
	}
	return a.LastSeenAt.Unix()
}

func (m *Model) agentDetail(id string, w int) []string {
	a, ok := m.data.agents[id]
	if !ok {
		return []string{"no agent selected"}
	}
	lines := []string{fmt.Sprintf("Agent %s · %s · %s · version %s", a.ID, a.Name, agentStatusText(agentStatus(a)), cmp.Or(a.Version, "unknown"))}
	if a.LastSeenAt != nil {
		lines = append(lines, "last seen: "+a.LastSeenAt.Format("2006-01-02 15:04:05")+" ("+age(*a.LastSeenAt, m.now())+" ago)")
	}
	storage := "storage: " + cmp.Or(a.StorageBasePath, "–")
	if a.StorageFreeBytes != nil && a.StorageTotalBytes != nil {
		storage += fmt.Sprintf(" · %s free of %s", bytesText(*a.StorageFreeBytes), bytesText(*a.StorageTotalBytes))
	}
	lines = append(lines, truncate(storage, w))
	lines = append(lines, wrap("capabilities: "+strings.Join(a.Capabilities, ", "), w)...)
	var jobs []string
	for _, js := range m.data.jobs {
		if js.job.AgentID == a.ID && js.job.Status.Active() {
			jobs = append(jobs, shortID(js.job.ID)+" "+string(js.job.Type)+" "+m.sourceName(js.job.SourceID))
		}
	}
	slices.Sort(jobs)
	if len(jobs) == 0 {
		jobs = []string{"none"}
	}
	lines = append(lines, wrap("running: "+strings.Join(jobs, ", "), w)...)
	return lines
}
