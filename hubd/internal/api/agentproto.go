package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"filippo.io/age"
	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/auth"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/sdk"
)

// POST /api/v1/agent/enroll: the bearer is an enrollment token; one of its
// uses buys an agent record and the agent's own token.
func (s *Server) enroll(ctx context.Context, c *call) (int, any, error) {
	secret, err := auth.EnrollmentToken(c.r.Header.Get("Authorization"))
	if err != nil {
		return 0, nil, err
	}
	var req sdk.EnrollRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	if f := checkEnroll(&req); len(f) > 0 {
		return 0, nil, sdk.FieldErrors(f)
	}
	token, hash, err := auth.NewSecret(auth.PrefixAgent)
	if err != nil {
		return 0, nil, err
	}
	now := s.now()
	caps, _ := json.Marshal(append([]string{}, req.Capabilities...))
	agent := &store.Agent{ID: store.NewID(), Name: req.Name, Status: string(sdk.AgentOnline), Version: req.Version,
		PublicKey: req.PublicKey, Capabilities: caps, StorageBasePath: req.StorageBasePath, LastSeenAt: &now,
		CreatedAt: now, UpdatedAt: now}
	tok := &store.APIToken{ID: store.NewID(), Kind: string(sdk.TokenAgent), AgentID: &agent.ID, Name: "agent " + req.Name,
		TokenHash: hash, CreatedAt: now}
	c.caller = &auth.Caller{Kind: sdk.TokenAgent, TokenID: tok.ID, AgentID: agent.ID}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		et, err := store.UseEnrollmentToken(ctx, tx, auth.Hash(secret), now)
		if errors.Is(err, store.ErrNotFound) {
			return auth.Unauthenticated()
		} else if err != nil {
			return err
		}
		if err := store.CreateAgent(ctx, tx, agent); err != nil {
			return err
		}
		if err := store.CreateAPIToken(ctx, tx, tok); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{Action: "agent.enroll", ObjectType: "agent", ObjectID: agent.ID,
			Details: map[string]any{"name": agent.Name, "enrollment_token_id": et.ID}})
	})
	if err != nil {
		c.caller = nil
		return 0, nil, wrapf(err, "enroll agent")
	}
	return http.StatusCreated, sdk.EnrollResponse{AgentID: agent.ID, Token: token}, nil
}

func checkEnroll(req *sdk.EnrollRequest) validate.Fields {
	f := validate.Fields{}
	validate.Name(f, "name", req.Name)
	if _, err := age.ParseX25519Recipient(req.PublicKey); err != nil {
		f.Add("public_key", "must be an age X25519 recipient (age1…)")
	}
	if len(req.Version) > 100 {
		f.Add("version", "must be at most 100 characters")
	}
	if len(req.StorageBasePath) > 4096 {
		f.Add("storage_base_path", "must be at most 4096 characters")
	}
	if len(req.Capabilities) > 100 {
		f.Add("capabilities", "must list at most 100 entries")
	}
	return f
}

// POST /api/v1/agent/heartbeat
func (s *Server) heartbeat(ctx context.Context, c *call) (int, any, error) {
	var req sdk.HeartbeatRequest
	if err := decodeOptional(c, &req); err != nil {
		return 0, nil, err
	}
	switch req.Status {
	case "":
		req.Status = sdk.AgentOnline
	case sdk.AgentOnline, sdk.AgentDraining:
	default:
		return 0, nil, fieldError("status", "must be online or draining")
	}
	if len(req.Version) > 100 {
		return 0, nil, fieldError("version", "must be at most 100 characters")
	}
	if len(req.Capabilities) > 100 {
		return 0, nil, fieldError("capabilities", "must list at most 100 entries")
	}
	if err := checkStorageFigures(req.StorageFreeBytes, req.StorageTotalBytes); err != nil {
		return 0, nil, err
	}
	var caps []byte
	if req.Capabilities != nil {
		caps, _ = json.Marshal(req.Capabilities)
	}
	now := s.now()
	var after *store.Agent
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		before, a, err := store.RecordHeartbeat(ctx, tx, store.HeartbeatParams{AgentID: c.caller.AgentID,
			Status: string(req.Status), Version: req.Version, Capabilities: caps, Now: now,
			StorageFreeBytes: req.StorageFreeBytes, StorageTotalBytes: req.StorageTotalBytes})
		if err != nil {
			return notFoundAs(err, "agent")
		}
		after = a
		return s.agentEvent(ctx, tx, before, s.agentOut(a, req.RunningJobs))
	})
	if err != nil {
		return 0, nil, wrapf(err, "heartbeat")
	}
	return http.StatusOK, sdk.HeartbeatResponse{ServerTime: now, Draining: after.Draining}, nil
}

// checkStorageFigures: storage bytes are not negative, free at most total.
func checkStorageFigures(free, total *int64) error {
	switch {
	case free != nil && *free < 0:
		return fieldError("storage_free_bytes", "must not be negative")
	case total != nil && *total < 0:
		return fieldError("storage_total_bytes", "must not be negative")
	case free != nil && total != nil && *free > *total:
		return fieldError("storage_free_bytes", "must not exceed storage_total_bytes")
	}
	return nil
}

const (
	defaultClaimWait = 30 * time.Second
	maxClaimWait     = 60 * time.Second
)

func checkClaim(req *sdk.ClaimRequest) (time.Duration, []string, error) {
	wait := time.Duration(req.WaitSeconds) * time.Second
	switch {
	case req.WaitSeconds < 0:
		return 0, nil, fieldError("wait_seconds", "must be 0-60")
	case req.WaitSeconds == 0:
		wait = defaultClaimWait
	case wait > maxClaimWait:
		wait = maxClaimWait
	}
	types := make([]string, 0, len(req.Types))
	for i, t := range req.Types {
		if t != sdk.JobBackup && t != sdk.JobRestore && t != sdk.JobDeleteSnapshot && t != sdk.JobTestConnection {
			return 0, nil, fieldError("types["+itoa(i)+"]", "must be backup, restore, delete_snapshot or test_connection")
		}
		types = append(types, string(t))
	}
	return wait, types, nil
}
