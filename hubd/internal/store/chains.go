package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/sdk"
)

// Incremental chains (docs/incremental.md section 4): the parent links of
// the snapshots table. There is no foreign key; the invariant "every live
// snapshot has all its ancestors present and not deleting" is kept where the
// decisions are made: completion (a parent must be live), deletion (a parent
// of a live child is refused) and retention (ancestors of kept snapshots are
// kept).

// Snapshot kinds as stored (snapshots.kind).
const (
	KindFull        = "full"
	KindIncremental = "incremental"
)

// MaxChainLinks is the most artifacts a chain holds: a full and 63
// incrementals. A parent at chain position MaxChainLinks-1 gets a full.
const MaxChainLinks = 64

// ChainConflict is an ErrConflict whose message is meant for the user
// (the API answers 409 with it).
type ChainConflict struct{ Msg string }

func (e *ChainConflict) Error() string { return e.Msg }
func (e *ChainConflict) Unwrap() error { return ErrConflict }

func chainConflict(format string, args ...any) error {
	return &ChainConflict{Msg: fmt.Sprintf(format, args...)}
}

// BeforeAppendModel fills the chain defaults of a snapshot inserted without
// them (an older agent's report, a test): a full whose chain holds itself.
func (m *Snapshot) BeforeAppendModel(_ context.Context, q bun.Query) error {
	if _, ok := q.(*bun.InsertQuery); !ok {
		return nil
	}
	if m.Kind == "" {
		m.Kind = KindFull
	}
	if m.Kind == KindFull && m.ChainBytes == 0 {
		m.ChainBytes = m.SizeBytes
	}
	return nil
}

// IsIncremental reports whether s continues a chain.
func (s *Snapshot) IsIncremental() bool {
	return s.Kind == KindIncremental && s.ParentSnapshotID != nil
}

// ChainFullID is the id of the full s's chain starts with (s itself for a full).
func (s *Snapshot) ChainFullID() string {
	if s.IsIncremental() && s.FullSnapshotID != nil {
		return *s.FullSnapshotID
	}
	return s.ID
}

// SnapshotChain returns the artifacts a restore of snap reads: snap first,
// then each parent down to the full. A member that is missing or being
// deleted is a *ChainConflict naming it; so is a loop or a chain longer
// than MaxChainLinks (a corrupt record).
func SnapshotChain(ctx context.Context, db bun.IDB, snap *Snapshot) ([]Snapshot, error) {
	out := []Snapshot{*snap}
	for cur := snap; cur.IsIncremental(); {
		if len(out) > MaxChainLinks {
			return nil, chainConflict("chain of snapshot %s has more than %d links (a corrupt record)", snap.ID, MaxChainLinks)
		}
		parent, err := GetSnapshot(ctx, db, snap.TenantID, *cur.ParentSnapshotID)
		if errors.Is(err, ErrNotFound) {
			return nil, chainConflict("chain of snapshot %s is broken: its member %s (parent of %s) is missing",
				snap.ID, *cur.ParentSnapshotID, cur.ID)
		} else if err != nil {
			return nil, fmt.Errorf("load chain of snapshot %s: %w", snap.ID, err)
		}
		if parent.Status == string(sdk.SnapshotDeleting) {
			return nil, chainConflict("chain of snapshot %s is broken: its member %s (parent of %s) is being deleted",
				snap.ID, parent.ID, cur.ID)
		}
		out = append(out, *parent)
		cur = parent
	}
	return out, nil
}

// ChainLinks is the sdk form of a chain (tip first) for restore and verify
// payloads; nil for a full, whose payload carries no chain.
func ChainLinks(chain []Snapshot) []sdk.ChainLink {
	if len(chain) < 2 {
		return nil
	}
	out := make([]sdk.ChainLink, len(chain))
	for i, s := range chain {
		out[i] = sdk.ChainLink{SnapshotID: s.ID, SHA256: s.SHA256, LocalPath: s.LocalPath}
	}
	return out
}

// LiveChild returns a snapshot whose parent is id and that is not being
// deleted, or nil when there is none.
func LiveChild(ctx context.Context, db bun.IDB, tenantID, id string) (*Snapshot, error) {
	var kids []Snapshot
	err := db.NewSelect().Model(&kids).Where("tenant_id = ?", tenantID).Where("parent_snapshot_id = ?", id).
		Where("status <> ?", string(sdk.SnapshotDeleting)).OrderExpr("created_at DESC, id DESC").Limit(1).Scan(ctx)
	if err != nil {
		return nil, mapErr("find children of snapshot", err)
	}
	if len(kids) == 0 {
		return nil, nil
	}
	return &kids[0], nil
}

// linkSnapshot fills the chain fields of a backup's new snapshot from its
// report (Kind, ParentSnapshotID, ConfigHash already set) and the job's
// plan. It returns a non-empty problem when the report cannot be recorded
// (the job then fails with it): an incremental that names another parent
// than the claim planned, or whose parent is gone or being deleted.
func linkSnapshot(ctx context.Context, db bun.IDB, j *Job, s *Snapshot) (string, error) {
	if s.Kind != KindIncremental {
		s.Kind, s.ParentSnapshotID, s.FullSnapshotID = KindFull, nil, nil
		s.ChainPosition, s.ChainBytes = 0, s.SizeBytes
		return "", nil
	}
	plan := DecodeBackupPlan(j.BackupPlan)
	named := derefStr(s.ParentSnapshotID)
	switch {
	case plan.Incremental == nil:
		return fmt.Sprintf("incremental snapshot reported with parent %q, but the claim planned a full backup", named), nil
	case named != plan.Incremental.ParentSnapshotID:
		return fmt.Sprintf("incremental snapshot reported with parent %q, but the claim planned parent %s",
			named, plan.Incremental.ParentSnapshotID), nil
	}
	parent, err := GetSnapshot(ctx, db, j.TenantID, named)
	if errors.Is(err, ErrNotFound) {
		return fmt.Sprintf("parent snapshot %s of the incremental was deleted while the backup ran", named), nil
	} else if err != nil {
		return "", fmt.Errorf("complete job %s: load parent snapshot: %w", j.ID, err)
	}
	if parent.Status != string(sdk.SnapshotCompleted) {
		return fmt.Sprintf("parent snapshot %s of the incremental is %s", named, parent.Status), nil
	}
	full := parent.ChainFullID()
	s.FullSnapshotID = &full
	s.ChainPosition = parent.ChainPosition + 1
	s.ChainBytes = parent.ChainBytes + s.SizeBytes
	return "", nil
}

// SourceHasVerifyDrills reports whether a schedule of the source runs
// verify drills (then retention keeps an older chain until the newest full
// is verified ok).
func SourceHasVerifyDrills(ctx context.Context, db bun.IDB, tenantID, sourceID string) (bool, error) {
	ok, err := db.NewSelect().Model((*Schedule)(nil)).Where("tenant_id = ?", tenantID).Where("source_id = ?", sourceID).
		Where("verify_mode IS NOT NULL").Exists(ctx)
	if err != nil {
		return false, mapErr("find verify drills of source "+sourceID, err)
	}
	return ok, nil
}
