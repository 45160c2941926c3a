package retention

import (
	"fmt"
	"slices"

	"github.com/xvault/xvault/sdk"
)

// Incremental chains (docs/incremental.md section 5): after the decisions
// of the policy, a kept snapshot keeps every ancestor (a restore of it reads
// them all), and an older chain is kept until the newest full is completed
// and, with verify drills, verified ok. Only "delete in progress" wins over
// both: the set of deletions is closed under descendants, so no delete ever
// breaks a kept snapshot.

// Reasons of the chain rules.
const (
	reasonAncestor     = "ancestor of kept snapshot %s (incremental chain)"
	reasonPrevVerified = "previous chain kept until full %s is verified ok"
	reasonPrevComplete = "previous chain kept until full %s completes"
)

// keepChains applies the chain rules to out (the decisions, in the order
// of snaps: newest first).
func keepChains(in Input, snaps []Snapshot, out []sdk.RetentionDecision) {
	if in.Policy.IsEmpty() {
		return // everything is kept already
	}
	keepPreviousChain(in, snaps, out)
	keepAncestors(snaps, out)
}

// keepPreviousChain keeps the tip of the chain before the newest full
// while that full is not completed or, with verify drills, not verified ok.
func keepPreviousChain(in Input, snaps []Snapshot, out []sdk.RetentionDecision) {
	full := slices.IndexFunc(snaps, func(s Snapshot) bool { return s.ParentID == "" && s.Status != sdk.SnapshotDeleting })
	if full < 0 {
		return
	}
	var reason string
	switch f := snaps[full]; {
	case f.Status == sdk.SnapshotFailed:
		reason = fmt.Sprintf(reasonPrevComplete, f.ID)
	case in.VerifyDrills && f.VerifyStatus != sdk.VerifyOK:
		reason = fmt.Sprintf(reasonPrevVerified, f.ID)
	default:
		return
	}
	for i := full + 1; i < len(snaps); i++ {
		if completed(snaps[i]) {
			if snaps[i].ParentID != "" { // a chain of one full is the newest-verified rule's business
				keepFor(&out[i], snaps[i], reason)
			}
			return
		}
	}
}

// keepAncestors walks every kept snapshot's parents and keeps each one.
func keepAncestors(snaps []Snapshot, out []sdk.RetentionDecision) {
	index := make(map[string]int, len(snaps))
	for i, s := range snaps {
		index[s.ID] = i
	}
	for i, s := range snaps {
		if !out[i].Keep {
			continue
		}
		reason := fmt.Sprintf(reasonAncestor, s.ID)
		for cur, steps := s, 0; cur.ParentID != "" && steps < len(snaps); steps++ {
			p, ok := index[cur.ParentID]
			if !ok || snaps[p].Status == sdk.SnapshotDeleting {
				break // gone or going: nothing left to keep (delete in progress wins)
			}
			if !out[p].Keep {
				out[p].Keep, out[p].Reasons = true, []string{reason}
			}
			cur = snaps[p]
		}
	}
}

// keepFor keeps a snapshot for reason, unless it is being deleted.
func keepFor(d *sdk.RetentionDecision, s Snapshot, reason string) {
	switch {
	case s.Status == sdk.SnapshotDeleting:
	case !d.Keep:
		d.Keep, d.Reasons = true, []string{reason}
	case !slices.Contains(d.Reasons, reason):
		d.Reasons = append(d.Reasons, reason)
	}
}

func completed(s Snapshot) bool { return s.Status == "" || s.Status == sdk.SnapshotCompleted }
