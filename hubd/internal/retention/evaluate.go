package retention

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xvault/xvault/sdk"
)

// Snapshot is what Evaluate needs to know about one snapshot.
type Snapshot struct {
	ID        string
	CreatedAt time.Time
	// Status is completed, failed or deleting ("" = completed).
	Status sdk.SnapshotStatus
	// RestoreInProgress: a restore job reads it; the policy leaves it alone.
	RestoreInProgress bool
	// VerifyStatus is the verdict of its last verification ("" = never verified).
	VerifyStatus sdk.VerifyStatus
	// ParentID is an incremental's parent ("" = a full): a restore of it
	// reads the parent, so the parent is kept while it is.
	ParentID string
}

// Input is one evaluation: a policy, the time zone its buckets are cut in,
// the current time and the snapshots of one source.
type Input struct {
	Policy    sdk.RetentionPolicy
	Location  *time.Location // nil = UTC
	Now       time.Time
	Snapshots []Snapshot
	// VerifyDrills: the source has a schedule with verify, so the previous
	// chain is kept until the newest full is verified ok (not only completed).
	VerifyDrills bool
}

// Reasons given for protective decisions.
const (
	ReasonEmptyPolicy       = "empty policy keeps everything"
	ReasonNoKeepRule        = "no keep rule set: kept unless max_age_days expires it"
	ReasonNewest            = "newest completed snapshot (never deleted)"
	ReasonNewestVerified    = "newest verified snapshot (newer ones are not verified ok)"
	ReasonRestoreInProgress = "restore in progress"
	ReasonDeleteInProgress  = "delete in progress"
	ReasonNotKept           = "not kept by any rule"
	ReasonFailed            = "failed snapshot: no rule keeps it"
)

// Evaluate decides keep or delete for every snapshot and says why, newest
// first. The chain rules (chains.go) run last: a kept snapshot keeps its
// ancestors, an older chain stays until the newest full is (verified) ok. The result does not depend on the order of in.Snapshots: equal
// times are ordered by id. Pure: the simulator and the runner share it.
func Evaluate(in Input) []sdk.RetentionDecision {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	snaps := slices.Clone(in.Snapshots)
	slices.SortFunc(snaps, func(a, b Snapshot) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	counted := make([]int, 0, len(snaps)) // indexes of completed snapshots, newest first
	for i, s := range snaps {
		if s.Status == "" || s.Status == sdk.SnapshotCompleted {
			counted = append(counted, i)
		}
	}
	kept := keepReasons(in.Policy, loc, snaps, counted)
	verified := newestVerified(snaps, counted)
	out := make([]sdk.RetentionDecision, len(snaps))
	for i, s := range snaps {
		g := guard{newest: len(counted) > 0 && counted[0] == i, verified: verified == i}
		keep, reasons := decide(in, s, g, kept[i])
		out[i] = sdk.RetentionDecision{ID: s.ID, CreatedAt: s.CreatedAt, VerifyStatus: s.VerifyStatus, Keep: keep,
			Reasons: reasons, ParentID: s.ParentID}
	}
	keepChains(in, snaps, out)
	return out
}

// guard says which safety rails protect a snapshot beyond the keep rules.
type guard struct {
	newest   bool // the newest completed snapshot
	verified bool // the newest ok-verified one, and a newer one is not verified ok
}

// newestVerified is the index of the newest completed snapshot whose last
// verification was ok, when at least one newer completed snapshot is not
// verified ok (never verified, failed or corrupt); else -1. Deleting that
// one would leave the source without a snapshot known to restore. counted
// holds the completed snapshots' indexes, newest first.
func newestVerified(snaps []Snapshot, counted []int) int {
	for k, i := range counted {
		if snaps[i].VerifyStatus == sdk.VerifyOK {
			if k == 0 {
				return -1 // the newest itself is verified: nothing newer to doubt
			}
			return i
		}
	}
	return -1
}

// decide applies the safety rails and the age limits on top of what the
// keep rules said (ruleReasons), in this order: delete in progress, empty
// policy, restore in progress, newest completed, newest verified, min_age,
// max_age, rules.
func decide(in Input, s Snapshot, g guard, ruleReasons []string) (bool, []string) {
	p := in.Policy
	switch {
	case s.Status == sdk.SnapshotDeleting:
		return false, []string{ReasonDeleteInProgress}
	case p.IsEmpty():
		return true, []string{ReasonEmptyPolicy}
	case s.RestoreInProgress:
		return true, append(ruleReasons, ReasonRestoreInProgress)
	case g.newest:
		return true, append(ruleReasons, ReasonNewest)
	case g.verified:
		return true, append(ruleReasons, ReasonNewestVerified)
	case p.MinAgeHours > 0 && in.Now.Sub(s.CreatedAt) < time.Duration(p.MinAgeHours)*time.Hour:
		return true, append(ruleReasons, fmt.Sprintf("younger than min_age_hours=%d", p.MinAgeHours))
	case p.MaxAgeDays > 0 && in.Now.Sub(s.CreatedAt) > time.Duration(p.MaxAgeDays)*24*time.Hour:
		return false, []string{fmt.Sprintf("older than max_age_days=%d", p.MaxAgeDays)}
	case len(ruleReasons) > 0:
		return true, ruleReasons
	case !hasKeepRule(p):
		return true, []string{ReasonNoKeepRule}
	case s.Status == sdk.SnapshotFailed:
		return false, []string{ReasonFailed}
	}
	return false, []string{ReasonNotKept}
}

func hasKeepRule(p sdk.RetentionPolicy) bool {
	return p.KeepLastN > 0 || p.KeepHourly > 0 || p.KeepDaily > 0 || p.KeepWeekly > 0 ||
		p.KeepMonthly > 0 || p.KeepYearly > 0 || p.KeepWithin != ""
}

// bucketRule is one counted rule: keep the newest snapshot of each of the
// n most recent buckets that hold a snapshot.
type bucketRule struct {
	n   int
	key func(t time.Time) string // bucket of a time in the policy's zone; nil = every snapshot its own
	tag string
}

func rules(p sdk.RetentionPolicy) []bucketRule {
	return []bucketRule{
		{n: p.KeepLastN, tag: "last"},
		{n: p.KeepHourly, tag: "hourly", key: func(t time.Time) string { return t.Format("2006-01-02 15:00") }},
		{n: p.KeepDaily, tag: "daily", key: func(t time.Time) string { return t.Format("2006-01-02") }},
		{n: p.KeepWeekly, tag: "weekly", key: func(t time.Time) string {
			y, w := t.ISOWeek()
			return fmt.Sprintf("%04d-W%02d", y, w)
		}},
		{n: p.KeepMonthly, tag: "monthly", key: func(t time.Time) string { return t.Format("2006-01") }},
		{n: p.KeepYearly, tag: "yearly", key: func(t time.Time) string { return t.Format("2006") }},
	}
}

// keepReasons runs the counted rules and keep_within over the completed
// snapshots (counted, newest first) and returns each one's reasons.
func keepReasons(p sdk.RetentionPolicy, loc *time.Location, snaps []Snapshot, counted []int) map[int][]string {
	out := map[int][]string{}
	for _, r := range rules(p) {
		if r.n <= 0 {
			continue
		}
		left, last := r.n, ""
		for k, i := range counted {
			if left == 0 {
				break
			}
			if r.key == nil {
				out[i] = append(out[i], fmt.Sprintf("last %d", k+1))
				left--
				continue
			}
			if b := r.key(snaps[i].CreatedAt.In(loc)); b != last {
				out[i] = append(out[i], r.tag+" "+b)
				last = b
				left--
			}
		}
	}
	if d, err := ParseDuration(p.KeepWithin); err == nil && len(counted) > 0 {
		cutoff := snaps[counted[0]].CreatedAt.Add(-d)
		for _, i := range counted {
			if snaps[i].CreatedAt.After(cutoff) {
				out[i] = append(out[i], "within "+p.KeepWithin+" of newest")
			}
		}
	}
	return out
}

// Count tallies decisions: how many are kept and deleted.
func Count(ds []sdk.RetentionDecision) (keep, del int) {
	for _, d := range ds {
		if d.Keep {
			keep++
		} else {
			del++
		}
	}
	return keep, del
}
