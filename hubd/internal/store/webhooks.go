package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// Webhook is a tenant's signed-event endpoint (migration 0007).
type Webhook struct {
	bun.BaseModel    `bun:"table:webhooks"`
	ID               string          `bun:"id,pk"`
	TenantID         string          `bun:"tenant_id"`
	URL              string          `bun:"url"`
	Events           json.RawMessage `bun:"events,type:jsonb"` // JSON array of event types
	Description      string          `bun:"description"`
	SecretCiphertext []byte          `bun:"secret_ciphertext"` // sealed secret bytes, AD = keys.WebhookSecretAD
	KEKID            string          `bun:"kek_id"`
	CreatedAt        time.Time       `bun:"created_at"`
	UpdatedAt        time.Time       `bun:"updated_at"`
}

// EventTypes decodes Events (nil when malformed).
func (w *Webhook) EventTypes() []string {
	var out []string
	_ = json.Unmarshal(w.Events, &out)
	return out
}

// WebhookDelivery is one event on its way to one webhook. Payload is the
// exact body sent on every attempt; ID is its webhook-id header.
type WebhookDelivery struct {
	bun.BaseModel  `bun:"table:webhook_deliveries"`
	ID             string     `bun:"id,pk"`
	WebhookID      string     `bun:"webhook_id"`
	TenantID       string     `bun:"tenant_id"`
	EventID        *int64     `bun:"event_id"` // nil for webhook.test
	EventType      string     `bun:"event_type"`
	Payload        string     `bun:"payload"`
	Status         string     `bun:"status"` // pending, delivered, failed
	Attempts       int        `bun:"attempts"`
	NextAttemptAt  time.Time  `bun:"next_attempt_at"` // due time; a claim pushes it forward (the lease)
	ClaimToken     string     `bun:"claim_token"`
	LastAttemptAt  *time.Time `bun:"last_attempt_at"`
	LastStatusCode *int       `bun:"last_status_code"`
	LastError      string     `bun:"last_error"`
	CreatedAt      time.Time  `bun:"created_at"`
	UpdatedAt      time.Time  `bun:"updated_at"`
}

// Webhook delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// CreateWebhook inserts a webhook. The caller seals SecretCiphertext with
// AD = keys.WebhookSecretAD(tenant id, webhook id), so it sets w.ID first.
func CreateWebhook(ctx context.Context, db bun.IDB, w *Webhook) error {
	if w.ID == "" {
		w.ID = NewID()
	}
	w.CreatedAt = nowOr(w.CreatedAt)
	w.UpdatedAt = nowOr(w.UpdatedAt)
	if _, err := db.NewInsert().Model(w).Exec(ctx); err != nil {
		return mapErr("create webhook", err)
	}
	return nil
}

// GetWebhook returns a webhook of the tenant; ErrNotFound otherwise.
func GetWebhook(ctx context.Context, db bun.IDB, tenantID, id string) (*Webhook, error) {
	w := new(Webhook)
	err := db.NewSelect().Model(w).Where("id = ?", id).Where("tenant_id = ?", tenantID).Scan(ctx)
	if err != nil {
		return nil, mapErr("get webhook", err)
	}
	return w, nil
}

// ListWebhooks lists a tenant's webhooks, newest first.
func ListWebhooks(ctx context.Context, db bun.IDB, tenantID string, p ListParams) ([]Webhook, string, error) {
	return listPage(ctx, db, p, "list webhooks",
		func(w *Webhook) (time.Time, string) { return w.CreatedAt, w.ID },
		func(q *bun.SelectQuery) *bun.SelectQuery { return q.Where("tenant_id = ?", tenantID) })
}

// DeleteWebhook removes a webhook of the tenant and (cascade) its deliveries.
func DeleteWebhook(ctx context.Context, db bun.IDB, tenantID, id string) error {
	res, err := db.NewDelete().Model((*Webhook)(nil)).Where("id = ?", id).Where("tenant_id = ?", tenantID).Exec(ctx)
	if err != nil {
		return mapErr("delete webhook", err)
	}
	return requireRow(res, "delete webhook")
}

// CreateWebhookDelivery inserts a pending delivery due at d.NextAttemptAt
// (now when zero).
func CreateWebhookDelivery(ctx context.Context, db bun.IDB, d *WebhookDelivery) error {
	if d.ID == "" {
		d.ID = NewID()
	}
	d.Status = DeliveryPending
	d.CreatedAt = nowOr(d.CreatedAt)
	d.UpdatedAt = d.CreatedAt
	d.NextAttemptAt = nowOr(d.NextAttemptAt)
	if _, err := db.NewInsert().Model(d).Exec(ctx); err != nil {
		return mapErr("create webhook delivery", err)
	}
	return nil
}

// ListWebhookDeliveries lists a webhook's deliveries, newest first.
func ListWebhookDeliveries(ctx context.Context, db bun.IDB, tenantID, webhookID string, p ListParams) ([]WebhookDelivery, string, error) {
	return listPage(ctx, db, p, "list webhook deliveries",
		func(d *WebhookDelivery) (time.Time, string) { return d.CreatedAt, d.ID },
		func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("tenant_id = ?", tenantID).Where("webhook_id = ?", webhookID)
		})
}

// FanOutParams drive FanOutEvents.
type FanOutParams struct {
	Now time.Time
	// Settle: the cursor only moves past events older than this, because on
	// PostgreSQL an event id is taken before its transaction commits, so a
	// lower id can become visible after a higher one. Younger events are
	// fanned out at once and again on the next pass (the unique
	// (webhook_id, event_id) drops the repeat).
	Settle time.Duration
	Limit  int // events per pass, default 500
	// Payload builds a delivery's body from its event.
	Payload func(e *Event) ([]byte, error)
}

// FanOutEvents reads the events after the webhook cursor, adds a delivery
// for every webhook of the event's tenant that subscribed to its type (and
// existed when it happened), and advances the cursor, in one transaction
// that holds the cursor row: hub replicas take turns, and a delivery is
// never created twice. It returns the number of deliveries created and of
// events read.
func FanOutEvents(ctx context.Context, db *DB, p FanOutParams) (created, read int, err error) {
	if p.Limit <= 0 {
		p.Limit = 500
	}
	now := nowOr(p.Now)
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var cursor int64
		q := tx.NewSelect().Table("webhook_cursor").Column("last_event_id").Where("id = 1")
		if db.IsPostgres() {
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx, &cursor); err != nil {
			return mapErr("read webhook cursor", err)
		}
		events, err := EventsAfter(ctx, tx, EventFilter{AfterID: cursor, Limit: p.Limit})
		if err != nil {
			return err
		}
		read = len(events)
		hooks, err := webhooksOf(ctx, tx, events)
		if err != nil {
			return err
		}
		next, settled := cursor, true
		for i := range events {
			e := &events[i]
			n, err := fanOutOne(ctx, tx, e, hooks, now, p.Payload)
			if err != nil {
				return err
			}
			created += n
			settled = settled && e.CreatedAt.Before(now.Add(-p.Settle))
			if settled {
				next = e.ID
			}
		}
		if next == cursor {
			return nil
		}
		_, err = tx.NewUpdate().Table("webhook_cursor").Set("last_event_id = ?", next).Where("id = 1").Exec(ctx)
		return mapErr("advance webhook cursor", err)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("fan out events to webhooks: %w", err)
	}
	return created, read, nil
}

// webhooksOf loads the webhooks of the tenants the events belong to.
func webhooksOf(ctx context.Context, db bun.IDB, events []Event) (map[string][]Webhook, error) {
	var tenants []string
	for _, e := range events {
		if e.TenantID != nil && !slices.Contains(tenants, *e.TenantID) {
			tenants = append(tenants, *e.TenantID)
		}
	}
	out := map[string][]Webhook{}
	if len(tenants) == 0 {
		return out, nil
	}
	var hooks []Webhook
	if err := db.NewSelect().Model(&hooks).Where("tenant_id IN (?)", bun.In(tenants)).Scan(ctx); err != nil {
		return nil, mapErr("list webhooks of events", err)
	}
	for _, w := range hooks {
		out[w.TenantID] = append(out[w.TenantID], w)
	}
	return out, nil
}

func fanOutOne(ctx context.Context, tx bun.IDB, e *Event, hooks map[string][]Webhook, now time.Time,
	payload func(*Event) ([]byte, error)) (int, error) {
	if e.TenantID == nil {
		return 0, nil // platform-wide (agents): no tenant's webhook
	}
	created := 0
	var body []byte
	for _, w := range hooks[*e.TenantID] {
		if e.CreatedAt.Before(w.CreatedAt) || !slices.Contains(w.EventTypes(), e.Type) {
			continue
		}
		if body == nil {
			var err error
			if body, err = payload(e); err != nil {
				return created, fmt.Errorf("event %d: %w", e.ID, err)
			}
		}
		id := e.ID
		d := &WebhookDelivery{ID: NewID(), WebhookID: w.ID, TenantID: w.TenantID, EventID: &id, EventType: e.Type,
			Payload: string(body), Status: DeliveryPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now}
		res, err := tx.NewInsert().Model(d).On("CONFLICT (webhook_id, event_id) DO NOTHING").Exec(ctx)
		if err != nil {
			return created, mapErr("create webhook delivery", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			created++
		}
	}
	return created, nil
}

// ClaimDeliveriesParams drive ClaimWebhookDeliveries.
type ClaimDeliveriesParams struct {
	Now   time.Time
	Lease time.Duration // how long the claimer owns them; longer than one attempt
	Limit int
	Token string // fences FinishWebhookDelivery
}

// ClaimWebhookDeliveries takes up to Limit due pending deliveries, oldest
// due first, by pushing their next_attempt_at to now+Lease and setting the
// claim token: a claimer that dies leaves them due again after the lease.
// PostgreSQL: FOR UPDATE SKIP LOCKED, so replicas take different rows.
func ClaimWebhookDeliveries(ctx context.Context, db bun.IDB, p ClaimDeliveriesParams) ([]WebhookDelivery, error) {
	now := nowOr(p.Now)
	sub := db.NewSelect().Model((*WebhookDelivery)(nil)).Column("id").
		Where("status = ?", DeliveryPending).Where("next_attempt_at <= ?", now).
		OrderExpr("next_attempt_at ASC, id ASC").Limit(int64(p.Limit))
	if isPostgres(db) {
		sub = sub.For("UPDATE SKIP LOCKED")
	}
	var out []WebhookDelivery
	err := db.NewUpdate().Model(&out).
		Set("next_attempt_at = ?", now.Add(p.Lease)).
		Set("claim_token = ?", p.Token).
		Set("updated_at = ?", now).
		Where("id IN (?)", sub).
		Where("status = ?", DeliveryPending).
		Returning("*").
		Scan(ctx)
	if err != nil && !isNoRows(err) {
		return nil, mapErr("claim webhook deliveries", err)
	}
	return out, nil
}

// FinishDeliveryParams record one attempt.
type FinishDeliveryParams struct {
	ID, ClaimToken string
	Now            time.Time
	StatusCode     int    // 0: no HTTP answer
	Error          string // "" when delivered
	Delivered      bool
	// NextAttemptAt: when to retry; nil (and not Delivered) fails the delivery.
	NextAttemptAt *time.Time
}

// FinishWebhookDelivery records an attempt of a claimed delivery. A claim
// that was lost (lease expired, another claimer took it, the webhook was
// deleted) is ErrConflict.
func FinishWebhookDelivery(ctx context.Context, db bun.IDB, p FinishDeliveryParams) error {
	now := nowOr(p.Now)
	status, next := DeliveryFailed, now
	switch {
	case p.Delivered:
		status = DeliveryDelivered
	case p.NextAttemptAt != nil:
		status, next = DeliveryPending, utcMicro(*p.NextAttemptAt)
	}
	var code *int
	if p.StatusCode != 0 {
		code = &p.StatusCode
	}
	res, err := db.NewUpdate().Model((*WebhookDelivery)(nil)).
		Set("status = ?", status).
		Set("attempts = attempts + 1").
		Set("next_attempt_at = ?", next).
		Set("claim_token = ''").
		Set("last_attempt_at = ?", now).
		Set("last_status_code = ?", code).
		Set("last_error = ?", p.Error).
		Set("updated_at = ?", now).
		Where("id = ?", p.ID).Where("claim_token = ?", p.ClaimToken).Where("status = ?", DeliveryPending).
		Exec(ctx)
	if err != nil {
		return mapErr("finish webhook delivery", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("finish webhook delivery %s: %w: the claim was lost", p.ID, ErrConflict)
	}
	return nil
}
