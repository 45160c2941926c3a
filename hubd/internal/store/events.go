package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/uptrace/bun"
)

// Event is one row of the durable event log (migration 0006). Data is the
// JSON of the sdk object the event is about (sdk.Job, sdk.Snapshot, …).
type Event struct {
	bun.BaseModel `bun:"table:events"`
	ID            int64           `bun:"id,pk,autoincrement"`
	TenantID      *string         `bun:"tenant_id"` // nil: platform-wide (agents)
	Type          string          `bun:"type"`      // sdk.Event* constants
	ObjectID      string          `bun:"object_id"`
	Data          json.RawMessage `bun:"data,type:jsonb"`
	CreatedAt     time.Time       `bun:"created_at"`
}

// AddEvent appends an event, in the caller's transaction so that it is
// recorded exactly when the change it describes commits. data is
// marshalled to JSON. It sets e.ID.
func AddEvent(ctx context.Context, db bun.IDB, e *Event, data any) error {
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return mapErr("encode event", err)
		}
		e.Data = b
	}
	if len(e.Data) == 0 {
		e.Data = json.RawMessage(`{}`)
	}
	e.CreatedAt = utcMicro(nowOr(e.CreatedAt))
	if _, err := db.NewInsert().Model(e).Returning("id").Exec(ctx); err != nil {
		return mapErr("add event", err)
	}
	return nil
}

// EventFilter selects events after a cursor.
type EventFilter struct {
	AfterID  int64
	TenantID string   // "" = every tenant (platform admins); else that tenant's events only
	Types    []string // empty = all types
	Limit    int      // default 500
}

// EventsAfter returns events with id > AfterID, oldest first.
func EventsAfter(ctx context.Context, db bun.IDB, f EventFilter) ([]Event, error) {
	if f.Limit <= 0 {
		f.Limit = 500
	}
	var out []Event
	q := db.NewSelect().Model(&out).Where("id > ?", f.AfterID).Order("id ASC").Limit(int64(f.Limit))
	if f.TenantID != "" {
		q = q.Where("tenant_id = ?", f.TenantID)
	}
	if len(f.Types) > 0 {
		q = q.Where("type IN (?)", bun.In(f.Types))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, mapErr("list events", err)
	}
	return out, nil
}

// EventBounds are the oldest and newest event ids kept (0, 0 when none).
func EventBounds(ctx context.Context, db bun.IDB) (oldest, newest int64, err error) {
	var row struct {
		Oldest *int64 `bun:"oldest"`
		Newest *int64 `bun:"newest"`
	}
	err = db.NewSelect().Table("events").ColumnExpr("MIN(id) AS oldest, MAX(id) AS newest").Scan(ctx, &row)
	if err != nil {
		return 0, 0, mapErr("event bounds", err)
	}
	if row.Oldest != nil {
		oldest = *row.Oldest
	}
	if row.Newest != nil {
		newest = *row.Newest
	}
	return oldest, newest, nil
}
