package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// CreateAgent inserts an enrolled agent (Status "" = online, Capabilities nil = {}).
func CreateAgent(ctx context.Context, db bun.IDB, a *Agent) error {
	if a.ID == "" {
		a.ID = NewID()
	}
	if a.Status == "" {
		a.Status = "online"
	}
	if len(a.Capabilities) == 0 {
		a.Capabilities = emptyObject
	}
	a.CreatedAt = nowOr(a.CreatedAt)
	a.UpdatedAt = nowOr(a.UpdatedAt)
	if _, err := db.NewInsert().Model(a).Exec(ctx); err != nil {
		return mapErr("create agent", err)
	}
	return nil
}

// GetAgent returns an agent by id; ErrNotFound if there is none.
func GetAgent(ctx context.Context, db bun.IDB, id string) (*Agent, error) {
	a := new(Agent)
	if err := db.NewSelect().Model(a).Where("id = ?", id).Scan(ctx); err != nil {
		return nil, mapErr("get agent", err)
	}
	return a, nil
}

// ListAgents lists agents, newest first.
func ListAgents(ctx context.Context, db bun.IDB, p ListParams) ([]Agent, string, error) {
	return listPage(ctx, db, p, "list agents",
		func(a *Agent) (time.Time, string) { return a.CreatedAt, a.ID }, nil)
}

// TouchAgent records that the agent was seen at now; a non-empty status or
// version replaces the stored one. ErrNotFound if there is no such agent.
func TouchAgent(ctx context.Context, db bun.IDB, id, status, version string, now time.Time) error {
	_, _, err := RecordHeartbeat(ctx, db, HeartbeatParams{AgentID: id, Status: status, Version: version, Now: now})
	return err
}

// AgentCapabilities returns the capability lists of every enrolled agent
// (raw JSON arrays), for checks such as "does any agent back up mysql?".
func AgentCapabilities(ctx context.Context, db bun.IDB) ([][]byte, error) {
	var caps []string
	if err := db.NewSelect().Model((*Agent)(nil)).Column("capabilities").Scan(ctx, &caps); err != nil {
		return nil, mapErr("agent capabilities", err)
	}
	out := make([][]byte, len(caps))
	for i, c := range caps {
		out[i] = []byte(c)
	}
	return out, nil
}

// HeartbeatParams is what one heartbeat records. Empty Status or Version
// and nil Capabilities or storage figures keep the stored ones.
type HeartbeatParams struct {
	AgentID, Status, Version            string
	Capabilities                        []byte // JSON array
	StorageFreeBytes, StorageTotalBytes *int64
	Now                                 time.Time
}

// RecordHeartbeat records that the agent was seen at p.Now and returns the
// agent as it was before and after, so the caller can tell a status change
// (an agent back after silence). The row is locked (PostgreSQL) until the
// caller's transaction ends, so the offline sweep and a heartbeat do not
// interleave. ErrNotFound if there is no such agent.
func RecordHeartbeat(ctx context.Context, db bun.IDB, p HeartbeatParams) (before, after *Agent, err error) {
	before = new(Agent)
	q := db.NewSelect().Model(before).Where("id = ?", p.AgentID)
	if isPostgres(db) {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, nil, mapErr("heartbeat: load agent", err)
	}
	now := nowOr(p.Now)
	after = new(Agent)
	u := db.NewUpdate().Model(after).
		Set("last_seen_at = ?", now).Set("updated_at = ?", now).
		Where("id = ?", p.AgentID)
	if p.Status != "" {
		u = u.Set("status = ?", p.Status)
	}
	if p.Version != "" {
		u = u.Set("version = ?", p.Version)
	}
	if p.Capabilities != nil {
		u = u.Set("capabilities = ?", string(p.Capabilities))
	}
	if p.StorageFreeBytes != nil {
		u = u.Set("storage_free_bytes = ?", *p.StorageFreeBytes)
	}
	if p.StorageTotalBytes != nil {
		u = u.Set("storage_total_bytes = ?", *p.StorageTotalBytes)
	}
	if err := u.Returning("*").Scan(ctx); err != nil {
		return nil, nil, mapErr("heartbeat: update agent", err)
	}
	return before, after, nil
}

// SetAgentDraining sets or clears an agent's drain flag and returns the
// agent as it was before and after. ErrNotFound if there is no such agent.
func SetAgentDraining(ctx context.Context, db bun.IDB, id string, draining bool, now time.Time) (before, after *Agent, err error) {
	before = new(Agent)
	q := db.NewSelect().Model(before).Where("id = ?", id)
	if isPostgres(db) {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		return nil, nil, mapErr("load agent", err)
	}
	after = new(Agent)
	err = db.NewUpdate().Model(after).Set("draining = ?", draining).Set("updated_at = ?", nowOr(now)).
		Where("id = ?", id).Returning("*").Scan(ctx)
	if err != nil {
		return nil, nil, mapErr("set agent draining", err)
	}
	return before, after, nil
}

// AgentDraining reports whether an agent is drained. On PostgreSQL it holds
// a share lock on the agent's row until the caller's transaction ends: a
// claim that checks it in the claim's transaction cannot interleave with a
// drain (the drain waits, or the claim sees it). ErrNotFound if none.
func AgentDraining(ctx context.Context, db bun.IDB, id string) (bool, error) {
	var draining []bool
	q := db.NewSelect().Model((*Agent)(nil)).Column("draining").Where("id = ?", id)
	if isPostgres(db) {
		q = q.For("SHARE")
	}
	if err := q.Scan(ctx, &draining); err != nil {
		return false, mapErr("agent draining", err)
	}
	if len(draining) == 0 {
		return false, ErrNotFound
	}
	return draining[0], nil
}

// MarkAgentsOffline records status "offline" for every agent not seen
// since cutoff whose stored status is still online or draining, and
// returns them (after the change). A heartbeat racing it wins: the
// condition is checked again on the locked row.
func MarkAgentsOffline(ctx context.Context, db bun.IDB, cutoff, now time.Time) ([]Agent, error) {
	var out []Agent
	_, err := db.NewUpdate().Model(&out).
		Set("status = ?", "offline").Set("updated_at = ?", nowOr(now)).
		Where("status <> ?", "offline").
		Where("(last_seen_at IS NULL OR last_seen_at < ?)", utcMicro(cutoff)).
		Returning("*").Exec(ctx, &out)
	if err != nil {
		return nil, mapErr("mark agents offline", err)
	}
	return out, nil
}

// AllAgents lists every enrolled agent, oldest first (fleet views; fleets
// are small enough for one page).
func AllAgents(ctx context.Context, db bun.IDB) ([]Agent, error) {
	var out []Agent
	if err := db.NewSelect().Model(&out).OrderExpr("created_at ASC, id ASC").Scan(ctx); err != nil {
		return nil, mapErr("list all agents", err)
	}
	return out, nil
}

// RunningJobsByAgent counts the jobs each agent holds (running or
// finalizing), by agent id; agentID "" counts every agent's.
func RunningJobsByAgent(ctx context.Context, db bun.IDB, agentID string) (map[string]int, error) {
	var rows []struct {
		AgentID string `bun:"agent_id"`
		N       int    `bun:"n"`
	}
	q := db.NewSelect().Model((*Job)(nil)).ColumnExpr("agent_id, COUNT(*) AS n").
		Where("status IN (?)", bun.In(leasedStatuses)).Where("agent_id IS NOT NULL").
		GroupExpr("agent_id")
	if agentID != "" {
		q = q.Where("agent_id = ?", agentID)
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, mapErr("count running jobs by agent", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.AgentID] = r.N
	}
	return out, nil
}

// AgentRecipients returns the age recipients (public keys) of the enrolled
// agents that advertise capability, in enrollment order.
func AgentRecipients(ctx context.Context, db bun.IDB, capability string) ([]string, error) {
	var rows []Agent
	if err := db.NewSelect().Model(&rows).Column("public_key", "capabilities").OrderExpr("created_at ASC, id ASC").
		Scan(ctx); err != nil {
		return nil, mapErr("agent recipients", err)
	}
	var out []string
	for _, a := range rows {
		if HasCapability(a.Capabilities, capability) && a.PublicKey != "" {
			out = append(out, a.PublicKey)
		}
	}
	return out, nil
}
