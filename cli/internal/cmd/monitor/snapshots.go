package monitor

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/xvault/xvault/sdk"
)

var snapshotColumns = []column{
	{title: "ID", width: 8},
	{title: "SOURCE", width: 14, flex: true},
	{title: "STATUS", width: 11},
	{title: "SIZE", width: 9, right: true},
	{title: "FILES", width: 8, prio: 2, right: true},
	{title: "VERIFY", width: 9, prio: 1},
	{title: "AGENT", width: 10, prio: 3},
	{title: "AGE", width: 4, right: true},
	{title: "TENANT", width: 8, prio: 2},
}

var snapshotGlyphs = map[sdk.SnapshotStatus]string{
	sdk.SnapshotCompleted: "✓", sdk.SnapshotFailed: "✗", sdk.SnapshotDeleting: "…",
}

var verifyGlyphs = map[sdk.VerifyStatus]string{sdk.VerifyOK: "✓", sdk.VerifyFailed: "✗", sdk.VerifyCorrupt: "✗"}

func snapshotStatusText(s sdk.SnapshotStatus) string {
	return cmp.Or(snapshotGlyphs[s], "?") + " " + string(s)
}

func verifyText(s sdk.VerifyStatus) string {
	if s == "" {
		return "–"
	}
	return cmp.Or(verifyGlyphs[s], "?") + " " + string(s)
}

func (m *Model) snapshotRows() []row {
	now := m.now()
	snaps := make([]sdk.Snapshot, 0, len(m.data.snapshots))
	for _, s := range m.data.snapshots {
		snaps = append(snaps, s)
	}
	newest := func(a, b sdk.Snapshot) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), strings.Compare(a.ID, b.ID))
	}
	switch m.panes[paneSnapshots].sortName() {
	case "source":
		slices.SortFunc(snaps, func(a, b sdk.Snapshot) int {
			return cmp.Or(strings.Compare(m.sourceName(a.SourceID), m.sourceName(b.SourceID)), newest(a, b))
		})
	case "size":
		slices.SortFunc(snaps, func(a, b sdk.Snapshot) int { return cmp.Or(cmp.Compare(b.SizeBytes, a.SizeBytes), newest(a, b)) })
	default:
		slices.SortFunc(snaps, newest)
	}
	rows := make([]row, 0, len(snaps))
	for _, s := range snaps {
		c := classOther
		switch {
		case s.Status == sdk.SnapshotFailed || s.VerifyStatus == sdk.VerifyFailed || s.VerifyStatus == sdk.VerifyCorrupt:
			c = classFailed
		case s.Status == sdk.SnapshotDeleting:
			c = classActive
		}
		rows = append(rows, row{
			id: s.ID,
			cells: []string{shortID(s.ID), m.sourceName(s.SourceID), snapshotStatusText(s.Status), bytesText(s.SizeBytes),
				fmt.Sprint(s.FileCount), verifyText(s.VerifyStatus), m.agentName(s.AgentID), age(s.CreatedAt, now), shortID(s.TenantID)},
			fields: map[string]string{"id": s.ID, "status": string(s.Status) + " " + string(s.VerifyStatus),
				"source": s.SourceID + " " + m.sourceName(s.SourceID), "agent": s.AgentID + " " + m.agentName(s.AgentID), "tenant": s.TenantID},
			class: c,
		})
	}
	return rows
}

func (m *Model) snapshotDetail(id string, w int) []string {
	s, ok := m.data.snapshots[id]
	if !ok {
		return []string{"no snapshot selected"}
	}
	lines := []string{fmt.Sprintf("Snapshot %s · %s · %s · job %s", s.ID, m.sourceName(s.SourceID), snapshotStatusText(s.Status), shortID(s.JobID))}
	lines = append(lines, fmt.Sprintf("stored %s · content %s · %d files · on %s (%s)", bytesText(s.SizeBytes), bytesText(s.PlainBytes),
		s.FileCount, m.agentName(s.AgentID), s.StorageBackend))
	lines = append(lines, truncate("sha256: "+cmp.Or(s.SHA256, "–"), w))
	v := "verify: " + verifyText(s.VerifyStatus)
	if s.VerifiedAt != nil {
		v += " at " + s.VerifiedAt.Format("2006-01-02 15:04:05")
	}
	lines = append(lines, v)
	if r := s.VerifyReport; r != nil && r.Message != "" {
		lines = append(lines, wrap("  "+r.Message, w)...)
	}
	return lines
}
