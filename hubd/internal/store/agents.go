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
	return TouchAgentCaps(ctx, db, id, status, version, nil, now)
}

// TouchAgentCaps is TouchAgent that also replaces the agent's capabilities
// when caps is not nil (an upgraded agent reports new ones).
func TouchAgentCaps(ctx context.Context, db bun.IDB, id, status, version string, caps []byte, now time.Time) error {
	now = nowOr(now)
	q := db.NewUpdate().Model((*Agent)(nil)).
		Set("last_seen_at = ?", now).Set("updated_at = ?", now).
		Where("id = ?", id)
	if status != "" {
		q = q.Set("status = ?", status)
	}
	if version != "" {
		q = q.Set("version = ?", version)
	}
	if caps != nil {
		q = q.Set("capabilities = ?", string(caps))
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return mapErr("touch agent", err)
	}
	return requireRow(res, "touch agent")
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
