package store

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// InsertAudit appends an audit event (id and time filled in when empty).
func InsertAudit(ctx context.Context, db bun.IDB, e *AuditEvent) error {
	if e.ID == "" {
		e.ID = NewID()
	}
	e.CreatedAt = nowOr(e.CreatedAt)
	if _, err := db.NewInsert().Model(e).Exec(ctx); err != nil {
		return mapErr("insert audit event", err)
	}
	return nil
}

type AuditListParams struct {
	ListParams
	Action   string
	ObjectID string
}

// ListAudit lists a tenant's events (tenantID "" = platform-wide, admins only).
// Platform-wide means every event, of all tenants and of none.
func ListAudit(ctx context.Context, db bun.IDB, tenantID string, p AuditListParams) ([]AuditEvent, string, error) {
	return listPage(ctx, db, p.ListParams, "list audit events",
		func(e *AuditEvent) (time.Time, string) { return e.CreatedAt, e.ID },
		func(q *bun.SelectQuery) *bun.SelectQuery {
			if tenantID != "" {
				q = q.Where("tenant_id = ?", tenantID)
			}
			if p.Action != "" {
				q = q.Where("action = ?", p.Action)
			}
			if p.ObjectID != "" {
				q = q.Where("object_id = ?", p.ObjectID)
			}
			return q
		})
}
