package api

import (
	"context"
	"net/http"

	"github.com/xvault/xvault/hubd/internal/health"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// GET /api/v1/status: who the caller is and how the hub is. Job counts and
// source health cover the caller's tenant (all tenants for platform
// admins); agents are counted for everyone and listed for platform admins.
func (s *Server) status(ctx context.Context, c *call) (int, any, error) {
	tenantID := c.caller.TenantID
	counts, err := store.CountJobsByStatus(ctx, s.db, tenantID)
	if err != nil {
		return 0, nil, wrapf(err, "count jobs")
	}
	agents, err := s.agentsSummary(ctx, c.caller.IsPlatformAdmin())
	if err != nil {
		return 0, nil, err
	}
	rep, err := health.Check(ctx, s.db, health.Params{TenantID: tenantID, Now: s.now(), OfflineAfter: s.cfg.AgentOfflineAfter})
	if err != nil {
		return 0, nil, wrapf(err, "status")
	}
	jobs := make(map[sdk.JobStatus]int, len(counts))
	for st, n := range counts {
		jobs[sdk.JobStatus(st)] = n
	}
	return http.StatusOK, sdk.Status{Version: s.cfg.Version, Database: s.db.DialectName, Caller: c.caller.SDK(),
		Agents: agents, Jobs: jobs, Health: health.Summarize(rep.Sources, agents)}, nil
}

// agentsSummary counts agents by status; withItems lists them too.
func (s *Server) agentsSummary(ctx context.Context, withItems bool) (sdk.AgentsSummary, error) {
	var sum sdk.AgentsSummary
	rows, err := store.AllAgents(ctx, s.db)
	if err != nil {
		return sum, wrapf(err, "count agents")
	}
	running, err := store.RunningJobsByAgent(ctx, s.db, "")
	if err != nil {
		return sum, wrapf(err, "count agents")
	}
	for i := range rows {
		a := s.agentOut(&rows[i], running[rows[i].ID])
		sum.Total++
		switch a.Status {
		case sdk.AgentOffline:
			sum.Offline++
		case sdk.AgentDraining:
			sum.Online++
			sum.Draining++
		default:
			sum.Online++
		}
		if withItems {
			sum.Items = append(sum.Items, a)
		}
	}
	return sum, nil
}
