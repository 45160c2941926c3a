package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/sdk"
)

// Copy jobs (xv snapshot copy --move, docs/storage.md "Moving snapshots"):
// a snapshot has one location, an agent's disk (local_fs) or a storage
// target. A move copies every artifact of the snapshot's chain to the new
// location, checks each sha256 there, and only then, in the completion's
// transaction, points the chain's records at the new location; the agent
// deletes the old copies after that commit. A chain moves whole: its links
// are read from one location.

// CopyParams asks for a copy job.
type CopyParams struct {
	TenantID, SnapshotID string
	// ToStorageID names the destination target; "" is an agent's disk.
	ToStorageID string
	// AgentID: with ToStorageID "", the agent whose disk receives the
	// copy ("" = any agent that can read the source location).
	AgentID string
	Move    bool
	Now     time.Time
}

// RequestCopy enqueues a copy job of the snapshot's whole chain (its full
// and every incremental of it). Refusals are *ChainConflict (409) with a
// message meant for the user, ErrNotFound for a snapshot or target the
// tenant does not see. Run it in a transaction.
func RequestCopy(ctx context.Context, db bun.IDB, p CopyParams) (*Job, error) {
	snap, err := LockSnapshot(ctx, db, p.TenantID, p.SnapshotID)
	if err != nil {
		return nil, fmt.Errorf("copy snapshot: %w", err)
	}
	if !p.Move {
		return nil, chainConflict("copy of snapshot %s: only moves are supported (--move): a snapshot has one "+
			"location, and a second copy the hub does not track could not be restored or deleted", snap.ID)
	}
	if snap.Status != string(sdk.SnapshotCompleted) {
		return nil, chainConflict("snapshot %s is %s, not completed", snap.ID, snap.Status)
	}
	var dst *StorageTarget
	if p.ToStorageID != "" {
		if dst, err = GetStorageTarget(ctx, db, StorageScope{TenantID: p.TenantID}, p.ToStorageID); err != nil {
			return nil, fmt.Errorf("copy snapshot: storage target: %w", err)
		}
	}
	if dst != nil && snap.StorageTargetID != nil {
		from, err := GetStorageTarget(ctx, db, StorageScope{Any: true}, *snap.StorageTargetID)
		if err != nil {
			return nil, fmt.Errorf("copy snapshot: its storage target: %w", err)
		}
		if from.ID == dst.ID || (from.Endpoint == dst.Endpoint && from.Bucket == dst.Bucket && from.Prefix == dst.Prefix) {
			return nil, chainConflict("snapshot %s is already in storage target %s (bucket %s at %s, prefix %q)",
				snap.ID, dst.ID, dst.Bucket, dst.Endpoint, dst.Prefix)
		}
	}
	switch {
	case dst == nil && snap.StorageTargetID == nil:
		return nil, chainConflict("snapshot %s is already on an agent's disk (%s); hint: copy it to a storage "+
			"target, then to the other agent with --agent", snap.ID, snap.AgentID)
	}
	links, err := chainFamily(ctx, db, snap)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(links))
	for i, l := range links {
		ids[i] = l.ID
	}
	busy, err := ActiveSnapshotJobs(ctx, db, p.TenantID, ids)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if len(busy[id]) > 0 {
			return nil, chainConflict("a %s of snapshot %s (of the chain of %s) is in progress; move the chain when it ended",
				busy[id][0], id, snap.ID)
		}
	}
	if err := CheckNoCopyOfSource(ctx, db, p.TenantID, snap.SourceID); err != nil {
		return nil, err
	}
	j := &Job{TenantID: p.TenantID, SourceID: &snap.SourceID, SnapshotID: &snap.ID, Type: JobTypeCopy,
		CreatedAt: nowOr(p.Now), RunAfter: nowOr(p.Now)}
	if dst != nil {
		j.StorageTargetID = &dst.ID
	}
	if err := copyTargetAgent(ctx, db, j, snap, dst, p.AgentID); err != nil {
		return nil, err
	}
	payload := sdk.CopyPayload{Move: p.Move, Links: make([]sdk.CopyLink, len(links))}
	for i, l := range links {
		payload.Links[i] = sdk.CopyLink{SnapshotID: l.ID, SHA256: l.SHA256, SizeBytes: l.SizeBytes}
	}
	if j.Payload, err = json.Marshal(payload); err != nil {
		return nil, fmt.Errorf("copy snapshot: encode payload: %w", err)
	}
	if err := EnqueueJob(ctx, db, j); err != nil {
		return nil, fmt.Errorf("copy snapshot %s: %w", snap.ID, err)
	}
	return j, nil
}

// locationOf names where a snapshot is: its storage target's id, or
// "agent:ID" for an agent's disk.
func locationOf(s *Snapshot) string {
	if s.StorageTargetID != nil {
		return *s.StorageTargetID
	}
	return "agent:" + s.AgentID
}

// chainFamily returns the chain snap belongs to, whole: its full first,
// then every incremental of that full in chain order. Every member must be
// completed and in snap's location.
func chainFamily(ctx context.Context, db bun.IDB, snap *Snapshot) ([]Snapshot, error) {
	fullID := snap.ChainFullID()
	var links []Snapshot
	err := db.NewSelect().Model(&links).Where("tenant_id = ?", snap.TenantID).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("id = ?", fullID).WhereOr("full_snapshot_id = ?", fullID)
		}).OrderExpr("chain_position ASC, created_at ASC").Scan(ctx)
	if err != nil {
		return nil, mapErr("copy snapshot: load chain", err)
	}
	if len(links) == 0 || links[0].ID != fullID {
		return nil, chainConflict("chain of snapshot %s is broken: its full %s is missing", snap.ID, fullID)
	}
	where := locationOf(snap)
	for _, l := range links {
		switch {
		case l.Status != string(sdk.SnapshotCompleted):
			return nil, chainConflict("snapshot %s of the chain of %s is %s; the chain moves whole, try again "+
				"when it is completed", l.ID, snap.ID, l.Status)
		case locationOf(&l) != where:
			return nil, chainConflict("the chain of snapshot %s is split: %s is in %s, %s in %s",
				snap.ID, snap.ID, where, l.ID, locationOf(&l))
		}
	}
	return links, nil
}

// CheckNoCopyOfSource is a *ChainConflict while a copy job of the source
// is active: one move at a time keeps chains whole, and restores, verifies
// and deletes wait until the copies are where the records say.
func CheckNoCopyOfSource(ctx context.Context, db bun.IDB, tenantID, sourceID string) error {
	var active []Job
	err := db.NewSelect().Model(&active).Column("id").Where("tenant_id = ?", tenantID).
		Where("source_id = ?", sourceID).Where("type = ?", JobTypeCopy).
		Where("status IN (?)", bun.In(activeStatuses)).Limit(1).Scan(ctx)
	if err != nil {
		return mapErr("copy snapshot: find active copies", err)
	}
	if len(active) > 0 {
		return chainConflict("a copy of a snapshot of source %s is in progress (job %s); wait for it", sourceID, active[0].ID)
	}
	return nil
}

// copyTargetAgent sets which agent may run the copy: the one holding a
// local snapshot, else the one named for a copy to an agent's disk. The
// agent must be able to reach object storage when either side is a
// target.
func copyTargetAgent(ctx context.Context, db bun.IDB, j *Job, snap *Snapshot, dst *StorageTarget, agentID string) error {
	if snap.StorageTargetID == nil {
		if agentID != "" && agentID != snap.AgentID {
			return chainConflict("snapshot %s is on agent %s's disk: only that agent can copy it (not %s)",
				snap.ID, snap.AgentID, agentID)
		}
		agentID = snap.AgentID
	} else if dst != nil && agentID != "" {
		return chainConflict("--agent names the agent whose disk receives a copy; a copy to storage target %s takes none", dst.ID)
	}
	if agentID == "" {
		return nil
	}
	a, err := GetAgent(ctx, db, agentID)
	if isNotFound(err) {
		return chainConflict("agent %s does not exist", agentID)
	} else if err != nil {
		return fmt.Errorf("copy snapshot: %w", err)
	}
	if !HasCapability(a.Capabilities, sdk.CapabilityStorageS3) {
		return chainConflict("agent %s cannot reach object storage (it does not advertise %s); upgrade it",
			agentID, sdk.CapabilityStorageS3)
	}
	j.TargetAgentID = &a.ID
	return nil
}

// CopyDestination is the storage target a copy job writes to; nil means
// the claiming agent's disk.
func CopyDestination(ctx context.Context, db bun.IDB, j *Job) (*StorageTarget, error) {
	if j.Type != JobTypeCopy || j.StorageTargetID == nil {
		return nil, nil
	}
	t, err := GetStorageTarget(ctx, db, StorageScope{TenantID: j.TenantID}, *j.StorageTargetID)
	if err != nil {
		return nil, fmt.Errorf("destination of copy job %s: %w", j.ID, err)
	}
	return t, nil
}

// checkCopyReport fails a completed copy job, permanently, when its report
// does not name exactly the links of its payload with their sha256 and
// size (the agent read back what it wrote). It returns the report.
func checkCopyReport(j *Job, p *CompleteParams) *sdk.CopyReport {
	if j.Type != JobTypeCopy || p.Status != JobCompleted {
		return nil
	}
	fail := func(msg string) *sdk.CopyReport {
		p.Status, p.ErrorMessage, p.Permanent = JobFailed, "copy: "+msg, true
		return nil
	}
	var want sdk.CopyPayload
	var got sdk.CopyReport
	if json.Unmarshal(j.Payload, &want) != nil {
		return fail("the job's payload is unreadable")
	}
	if len(p.Result) == 0 || json.Unmarshal(p.Result, &got) != nil {
		return fail("the agent reported no copy")
	}
	if !slices.EqualFunc(want.Links, got.Links, func(w sdk.CopyLink, g sdk.CopiedLink) bool {
		return w == g.CopyLink && g.Location != "" && len(g.Location) <= 4096
	}) {
		return fail("the agent's report does not match the snapshots to copy (their ids, sha256 and sizes)")
	}
	return &got
}

// recordCopy points the moved chain's records at their new location: the
// destination target, or the disk of agentID.
// It fails (a *ChainConflict) when a member is no longer completed.
func recordCopy(ctx context.Context, db bun.IDB, j *Job, rep *sdk.CopyReport, agentID string) error {
	for _, l := range rep.Links {
		q := db.NewUpdate().Model((*Snapshot)(nil)).Where("tenant_id = ?", j.TenantID).Where("id = ?", l.SnapshotID).
			Where("status = ?", string(sdk.SnapshotCompleted)).Set("local_path = ?", l.Location)
		if j.StorageTargetID != nil {
			q = q.Set("storage_backend = ?", sdk.StorageBackendS3).Set("storage_target_id = ?", *j.StorageTargetID)
		} else {
			q = q.Set("storage_backend = ?", sdk.StorageLocalFS).Set("storage_target_id = NULL").Set("agent_id = ?", agentID)
		}
		res, err := q.Exec(ctx)
		if err != nil {
			return mapErr("record copy", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return chainConflict("copy job %s: snapshot %s changed while it was copied", j.ID, l.SnapshotID)
		}
	}
	return nil
}
