package api

import (
	"context"
	"net/http"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// GET /api/v1/status: who the caller is and how the hub is. Job counts
// cover the caller's tenant (all tenants for platform admins).
func (s *Server) status(ctx context.Context, c *call) (int, any, error) {
	tenantID := c.caller.TenantID
	counts, err := store.CountJobsByStatus(ctx, s.db, tenantID)
	if err != nil {
		return 0, nil, wrapf(err, "count jobs")
	}
	agents, err := s.agentsSummary(ctx)
	if err != nil {
		return 0, nil, err
	}
	jobs := make(map[sdk.JobStatus]int, len(counts))
	for st, n := range counts {
		jobs[sdk.JobStatus(st)] = n
	}
	return http.StatusOK, sdk.Status{Version: s.cfg.Version, Database: s.db.DialectName, Caller: c.caller.SDK(),
		Agents: agents, Jobs: jobs}, nil
}

func (s *Server) agentsSummary(ctx context.Context) (sdk.AgentsSummary, error) {
	var sum sdk.AgentsSummary
	p := store.ListParams{Limit: maxLimit}
	for {
		rows, next, err := store.ListAgents(ctx, s.db, p)
		if err != nil {
			return sum, wrapf(err, "count agents")
		}
		for i := range rows {
			sum.Total++
			if s.agentStatus(&rows[i]) != sdk.AgentOffline {
				sum.Online++
			}
		}
		if next == "" {
			return sum, nil
		}
		p.Cursor = next
	}
}
