package api

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// auditEntry is what a mutating handler records, in the transaction of
// its change. Details must never hold a secret.
type auditEntry struct {
	TenantID   string // "" for platform-level objects
	Action     string // e.g. "source.create"
	ObjectType string
	ObjectID   string
	Details    map[string]any
}

// audit inserts one audit event for the call's caller inside tx.
func (s *Server) audit(ctx context.Context, tx bun.IDB, c *call, e auditEntry) error {
	ev := &store.AuditEvent{
		ID: store.NewID(), ActorKind: string(c.caller.Kind), ActorID: c.caller.ActorID(),
		Action: e.Action, ObjectType: e.ObjectType, RemoteAddr: c.remoteAddr(), CreatedAt: s.now(),
	}
	if e.TenantID != "" {
		ev.TenantID = &e.TenantID
	}
	if e.ObjectID != "" {
		ev.ObjectID = &e.ObjectID
	}
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return wrapf(err, "audit %s: encode details", e.Action)
		}
		ev.Details = b
	}
	return wrapf(store.InsertAudit(ctx, tx, ev), "audit %s", e.Action)
}

// GET /api/v1/audit
func (s *Server) listAudit(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	q := c.r.URL.Query()
	rows, next, err := store.ListAudit(ctx, s.db, c.tenantID, store.AuditListParams{
		ListParams: lp, Action: q.Get("action"), ObjectID: q.Get("object_id"),
	})
	if err != nil {
		return 0, nil, wrapf(err, "list audit events")
	}
	return http.StatusOK, page(rows, next, auditOut), nil
}

func auditOut(e *store.AuditEvent) sdk.AuditEvent {
	return sdk.AuditEvent{
		ID: e.ID, TenantID: deref(e.TenantID), ActorKind: sdk.TokenKind(e.ActorKind), ActorID: e.ActorID,
		Action: e.Action, ObjectType: e.ObjectType, ObjectID: deref(e.ObjectID),
		Details: rawOrNil(e.Details), RemoteAddr: e.RemoteAddr, CreatedAt: e.CreatedAt,
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// rawOrNil drops empty and null JSON values so they are omitted.
func rawOrNil(b json.RawMessage) json.RawMessage {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return b
}
