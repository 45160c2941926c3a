package api

import (
	"context"
	"net/http"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/auth"
	"github.com/xvault/xvault/hubd/internal/health"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

const (
	defaultEnrollLifetime = 24 * time.Hour
	maxEnrollLifetime     = 30 * 24 * time.Hour
	maxEnrollUses         = 1000
)

// POST /api/v1/agents/enrollment-tokens
func (s *Server) createEnrollmentToken(ctx context.Context, c *call) (int, any, error) {
	var req sdk.CreateEnrollmentTokenRequest
	if err := decodeOptional(c, &req); err != nil {
		return 0, nil, err
	}
	f := validate.Fields{}
	if len(req.Name) > validate.MaxNameLen {
		f.Add("name", "must be at most 100 characters")
	}
	lifetime := parseExpiresIn(f, req.ExpiresIn, maxEnrollLifetime)
	if lifetime == 0 {
		lifetime = defaultEnrollLifetime
	}
	if req.Uses == 0 {
		req.Uses = 1
	} else if req.Uses < 1 || req.Uses > maxEnrollUses {
		f.Add("uses", "must be 1-1000")
	}
	if len(f) > 0 {
		return 0, nil, sdk.FieldErrors(f)
	}
	secret, hash, err := auth.NewSecret(auth.PrefixEnrollment)
	if err != nil {
		return 0, nil, err
	}
	now := s.now()
	t := &store.EnrollmentToken{ID: store.NewID(), Name: req.Name, TokenHash: hash, ExpiresAt: now.Add(lifetime),
		MaxUses: req.Uses, CreatedBy: &c.caller.TokenID, CreatedAt: now}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.CreateEnrollmentToken(ctx, tx, t); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{Action: "enrollment_token.create", ObjectType: "enrollment_token",
			ObjectID: t.ID, Details: map[string]any{"name": t.Name, "max_uses": t.MaxUses, "expires_at": t.ExpiresAt}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "create enrollment token")
	}
	return http.StatusCreated, sdk.CreatedEnrollmentToken{EnrollmentToken: enrollmentOut(t), Token: secret}, nil
}

// GET /api/v1/agents/enrollment-tokens
func (s *Server) listEnrollmentTokens(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	rows, next, err := store.ListEnrollmentTokens(ctx, s.db, lp)
	if err != nil {
		return 0, nil, wrapf(err, "list enrollment tokens")
	}
	return http.StatusOK, page(rows, next, enrollmentOut), nil
}

// GET /api/v1/agents
func (s *Server) listAgents(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	rows, next, err := store.ListAgents(ctx, s.db, lp)
	if err != nil {
		return 0, nil, wrapf(err, "list agents")
	}
	running, err := store.RunningJobsByAgent(ctx, s.db, "")
	if err != nil {
		return 0, nil, wrapf(err, "list agents")
	}
	return http.StatusOK, page(rows, next, func(a *store.Agent) sdk.Agent { return s.agentOut(a, running[a.ID]) }), nil
}

// GET /api/v1/agents/{id}
func (s *Server) getAgent(ctx context.Context, c *call) (int, any, error) {
	a, err := store.GetAgent(ctx, s.db, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "agent"), "get agent")
	}
	running, err := store.RunningJobsByAgent(ctx, s.db, a.ID)
	if err != nil {
		return 0, nil, wrapf(err, "get agent")
	}
	return http.StatusOK, s.agentOut(a, running[a.ID]), nil
}

// POST /api/v1/agents/{id}/drain: the agent claims no new jobs (its claims
// return none) and finishes the running ones. Idempotent.
func (s *Server) drainAgent(ctx context.Context, c *call) (int, any, error) {
	return s.setDraining(ctx, c, true)
}

// POST /api/v1/agents/{id}/undrain: the agent claims jobs again.
func (s *Server) undrainAgent(ctx context.Context, c *call) (int, any, error) {
	return s.setDraining(ctx, c, false)
}

// setDraining changes the drain flag, audits it and, when the agent's
// status changes, raises agent.draining (or agent.online on undrain) in
// the same transaction.
func (s *Server) setDraining(ctx context.Context, c *call, draining bool) (int, any, error) {
	action := map[bool]string{true: "agent.drain", false: "agent.undrain"}[draining]
	var out sdk.Agent
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		before, after, err := store.SetAgentDraining(ctx, tx, c.r.PathValue("id"), draining, s.now())
		if err != nil {
			return notFoundAs(err, "agent")
		}
		running, err := store.RunningJobsByAgent(ctx, tx, after.ID)
		if err != nil {
			return err
		}
		out = s.agentOut(after, running[after.ID])
		if err := s.agentEvent(ctx, tx, before, out); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{Action: action, ObjectType: "agent", ObjectID: after.ID,
			Details: map[string]any{"was_draining": before.Draining, "running_jobs": out.RunningJobs}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "%s", action)
	}
	return http.StatusOK, out, nil
}

// agentEvent raises agent.online, agent.offline or agent.draining (platform
// wide: tenant_id NULL) when the agent's status differs from before's now.
func (s *Server) agentEvent(ctx context.Context, tx bun.IDB, before *store.Agent, after sdk.Agent) error {
	typ := health.TransitionEvent(s.agentStatus(before), after.Status)
	if typ == "" {
		return nil
	}
	return store.AddEvent(ctx, tx, &store.Event{Type: typ, ObjectID: after.ID, CreatedAt: s.now()}, after)
}

// agentStatus is computed on read: an agent not seen for AgentOfflineAfter
// is offline whatever it last reported (health.AgentStatus).
func (s *Server) agentStatus(a *store.Agent) sdk.AgentStatus {
	return health.AgentStatus(a, s.now(), s.cfg.AgentOfflineAfter)
}

func (s *Server) agentOut(a *store.Agent, running int) sdk.Agent {
	return health.AgentOut(a, s.now(), s.cfg.AgentOfflineAfter, running)
}

func enrollmentOut(t *store.EnrollmentToken) sdk.EnrollmentToken {
	return sdk.EnrollmentToken{ID: t.ID, Name: t.Name, ExpiresAt: t.ExpiresAt, MaxUses: t.MaxUses, Uses: t.Uses,
		RevokedAt: t.RevokedAt, CreatedAt: t.CreatedAt}
}
