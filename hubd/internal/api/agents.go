package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/auth"
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
	return http.StatusOK, page(rows, next, s.agentOut), nil
}

// GET /api/v1/agents/{id}
func (s *Server) getAgent(ctx context.Context, c *call) (int, any, error) {
	a, err := store.GetAgent(ctx, s.db, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "agent"), "get agent")
	}
	return http.StatusOK, s.agentOut(a), nil
}

// agentStatus is computed on read: an agent not seen for AgentOfflineAfter
// is offline whatever it last reported.
func (s *Server) agentStatus(a *store.Agent) sdk.AgentStatus {
	if a.LastSeenAt == nil || s.now().Sub(*a.LastSeenAt) > s.cfg.AgentOfflineAfter {
		return sdk.AgentOffline
	}
	if a.Status == string(sdk.AgentDraining) {
		return sdk.AgentDraining
	}
	return sdk.AgentOnline
}

func (s *Server) agentOut(a *store.Agent) sdk.Agent {
	out := sdk.Agent{ID: a.ID, Name: a.Name, Status: s.agentStatus(a), Version: a.Version, PublicKey: a.PublicKey,
		StorageBasePath: a.StorageBasePath, Capabilities: []string{}, LastSeenAt: a.LastSeenAt, CreatedAt: a.CreatedAt}
	if c := rawOrNil(a.Capabilities); c != nil {
		_ = json.Unmarshal(c, &out.Capabilities) // malformed capabilities read as none
	}
	return out
}

func enrollmentOut(t *store.EnrollmentToken) sdk.EnrollmentToken {
	return sdk.EnrollmentToken{ID: t.ID, Name: t.Name, ExpiresAt: t.ExpiresAt, MaxUses: t.MaxUses, Uses: t.Uses,
		RevokedAt: t.RevokedAt, CreatedAt: t.CreatedAt}
}
