package retention

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// chain makes daily snapshots at 02:00 on the given days of 2026-11: a
// "F" marks a full, anything else an incremental of the one before.
func chain(days ...string) []Snapshot {
	var out []Snapshot
	for i, d := range days {
		full := d[0] == 'F'
		if full {
			d = d[1:]
		}
		s := Snapshot{ID: "2026-11-" + d, CreatedAt: ts("2026-11-" + d + "T02:00:00Z")}
		if !full && i > 0 {
			s.ParentID = out[i-1].ID
		}
		out = append(out, s)
	}
	return out
}

func TestAncestorsOfKeptSnapshotsAreKept(t *testing.T) {
	t.Parallel()
	in := Input{Policy: sdk.RetentionPolicy{KeepLastN: 2, MaxAgeDays: 3}, Now: ts("2026-11-20T12:00:00Z"),
		Snapshots: chain("F10", "11", "12", "13", "F18", "19", "20")}
	keep, del := run(in)
	require.Equal(t, []string{"2026-11-18", "2026-11-19", "2026-11-20"}, keys(keep))
	require.Equal(t, []string{"ancestor of kept snapshot 2026-11-20 (incremental chain)"}, keep["2026-11-18"],
		"above max_age_days and every delete rule")
	require.Equal(t, []string{"2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13"}, keys(del))

	// A kept old incremental keeps its whole chain, even past max_age_days.
	in.Snapshots[2].RestoreInProgress = true // 11-12
	keep, _ = run(in)
	require.Contains(t, keep, "2026-11-11")
	require.Equal(t, []string{"ancestor of kept snapshot 2026-11-12 (incremental chain)"}, keep["2026-11-10"])
	require.NotContains(t, keep, "2026-11-13")
}

func TestAncestorRuleLosesToDeleteInProgress(t *testing.T) {
	t.Parallel()
	ss := chain("F18", "19", "20")
	ss[0].Status = sdk.SnapshotDeleting
	keep, del := run(Input{Policy: sdk.RetentionPolicy{KeepLastN: 3}, Now: ts("2026-11-20T12:00:00Z"), Snapshots: ss})
	require.Equal(t, []string{ReasonDeleteInProgress}, del["2026-11-18"])
	require.Len(t, keep, 2)
}

func TestPreviousChainKeptUntilNewFullIsVerified(t *testing.T) {
	t.Parallel()
	ss := chain("F10", "11", "12", "F13", "14")
	in := Input{Policy: sdk.RetentionPolicy{KeepLastN: 1}, Now: ts("2026-11-20T12:00:00Z"), Snapshots: ss}
	keep, _ := run(in)
	require.Equal(t, []string{"2026-11-13", "2026-11-14"}, keys(keep), "no drills: a completed full ends the old chain")

	in.VerifyDrills = true
	keep, del := run(in)
	require.Equal(t, []string{"2026-11-10", "2026-11-11", "2026-11-12", "2026-11-13", "2026-11-14"}, keys(keep))
	require.Equal(t, []string{"previous chain kept until full 2026-11-13 is verified ok"}, keep["2026-11-12"])
	require.Equal(t, []string{"ancestor of kept snapshot 2026-11-12 (incremental chain)"}, keep["2026-11-10"])
	require.Empty(t, del)

	in.Snapshots[3].VerifyStatus = sdk.VerifyOK
	keep, _ = run(in)
	require.Equal(t, []string{"2026-11-13", "2026-11-14"}, keys(keep), "verified ok: the old chain goes")

	in.Snapshots[3].VerifyStatus, in.Snapshots[3].Status = "", sdk.SnapshotFailed
	in.VerifyDrills = false
	keep, _ = run(in)
	require.Equal(t, []string{"previous chain kept until full 2026-11-13 completes"}, keep["2026-11-12"])
}

func TestChainRulesLeaveSingleFullsAlone(t *testing.T) {
	t.Parallel()
	in := Input{Policy: sdk.RetentionPolicy{KeepLastN: 1}, Now: ts("2026-11-20T12:00:00Z"), VerifyDrills: true,
		Snapshots: chain("F18", "F19", "F20")}
	keep, _ := run(in)
	require.Equal(t, []string{"2026-11-20"}, keys(keep), "fulls only: the newest-verified rule decides, as before")
}

func TestChainRulesOrderIndependent(t *testing.T) {
	t.Parallel()
	ss := chain("F10", "11", "12", "F13", "14", "15")
	in := Input{Policy: sdk.RetentionPolicy{KeepDaily: 2}, Now: ts("2026-11-20T12:00:00Z"), VerifyDrills: true, Snapshots: ss}
	want := Evaluate(in)
	rev := Input{Policy: in.Policy, Now: in.Now, VerifyDrills: true}
	for i := len(ss) - 1; i >= 0; i-- {
		rev.Snapshots = append(rev.Snapshots, ss[i])
	}
	require.Equal(t, want, Evaluate(rev))
}
