package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/xvault/xvault/hubd/internal/keys"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/validate"
	"github.com/xvault/xvault/hubd/internal/webhook"
	"github.com/xvault/xvault/sdk"
)

// maxWebhookDescription bounds a webhook's description.
const maxWebhookDescription = 200

// POST /api/v1/webhooks: the signing secret is made here, returned once
// and stored sealed with the KEK (AD = tenant id + webhook id).
func (s *Server) createWebhook(ctx context.Context, c *call) (int, any, error) {
	var req sdk.CreateWebhookRequest
	if err := decode(c, &req); err != nil {
		return 0, nil, err
	}
	events, f := s.checkWebhook(ctx, &req)
	if len(f) > 0 {
		return 0, nil, sdk.FieldErrors(f)
	}
	evJSON, err := json.Marshal(events)
	if err != nil {
		return 0, nil, wrapf(err, "encode webhook events")
	}
	now := s.now()
	w := &store.Webhook{ID: store.NewID(), TenantID: c.tenantID, URL: req.URL, Events: evJSON,
		Description: req.Description, CreatedAt: now, UpdatedAt: now}
	raw, secret := webhook.NewSecret()
	w.SecretCiphertext, w.KEKID, err = s.cfg.Keys.Seal(raw, keys.WebhookSecretAD(c.tenantID, w.ID))
	if err != nil {
		return 0, nil, wrapf(err, "seal webhook secret")
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.CreateWebhook(ctx, tx, w); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "webhook.create", ObjectType: "webhook",
			ObjectID: w.ID, Details: map[string]any{"host": hostOf(w.URL), "events": events}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "create webhook")
	}
	return http.StatusCreated, sdk.CreatedWebhook{Webhook: webhookOut(w), Secret: secret}, nil
}

// checkWebhook validates a creation and returns its events, deduplicated.
func (s *Server) checkWebhook(ctx context.Context, req *sdk.CreateWebhookRequest) ([]string, validate.Fields) {
	f := validate.Fields{}
	if u, err := webhook.ParseURL(req.URL); err != nil {
		f.Add("url", err.Error())
	} else {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := (webhook.Policy{AllowPrivate: s.cfg.AllowWebhookPrivate}).CheckURL(rctx, u); err != nil {
			f.Add("url", err.Error())
		}
	}
	var events []string
	known := sdk.WebhookEventTypes()
	for _, ev := range req.Events {
		switch {
		case !slices.Contains(known, ev):
			f.Add("events", "unknown event type "+quote(ev)+"; want one of "+strings.Join(known, ", "))
		case !slices.Contains(events, ev):
			events = append(events, ev)
		}
	}
	if len(req.Events) == 0 {
		f.Add("events", "give at least one event type: "+strings.Join(known, ", "))
	}
	if len(req.Description) > maxWebhookDescription {
		f.Add("description", "is longer than 200 bytes")
	}
	return events, f
}

func quote(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return `"` + s + `"`
}

// hostOf is the URL's host, for audit details (a URL's path or query may
// carry a token).
func hostOf(raw string) string {
	if u, err := webhook.ParseURL(raw); err == nil {
		return u.Host
	}
	return ""
}

// GET /api/v1/webhooks
func (s *Server) listWebhooks(ctx context.Context, c *call) (int, any, error) {
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	rows, next, err := store.ListWebhooks(ctx, s.db, c.tenantID, lp)
	if err != nil {
		return 0, nil, wrapf(err, "list webhooks")
	}
	return http.StatusOK, page(rows, next, webhookOut), nil
}

// GET /api/v1/webhooks/{id}
func (s *Server) getWebhook(ctx context.Context, c *call) (int, any, error) {
	w, err := store.GetWebhook(ctx, s.db, c.tenantID, c.r.PathValue("id"))
	if err != nil {
		return 0, nil, wrapf(notFoundAs(err, "webhook"), "get webhook")
	}
	return http.StatusOK, webhookOut(w), nil
}

// DELETE /api/v1/webhooks/{id}: its pending deliveries go with it.
func (s *Server) deleteWebhook(ctx context.Context, c *call) (int, any, error) {
	id := c.r.PathValue("id")
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := store.DeleteWebhook(ctx, tx, c.tenantID, id); err != nil {
			return notFoundAs(err, "webhook")
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "webhook.delete", ObjectType: "webhook",
			ObjectID: id})
	})
	if err != nil {
		return 0, nil, wrapf(err, "delete webhook")
	}
	return http.StatusNoContent, nil, nil
}

// POST /api/v1/webhooks/{id}/test: queues a webhook.test delivery, due now.
func (s *Server) testWebhook(ctx context.Context, c *call) (int, any, error) {
	id := c.r.PathValue("id")
	now := s.now()
	body, err := webhook.Payload(sdk.EventWebhookTest, now, map[string]string{"webhook_id": id,
		"message": "a test delivery from xVault: the signature verifies with this webhook's secret"})
	if err != nil {
		return 0, nil, wrapf(err, "test webhook")
	}
	d := &store.WebhookDelivery{ID: store.NewID(), WebhookID: id, TenantID: c.tenantID, EventType: sdk.EventWebhookTest,
		Payload: string(body), NextAttemptAt: now, CreatedAt: now}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := store.GetWebhook(ctx, tx, c.tenantID, id); err != nil {
			return notFoundAs(err, "webhook")
		}
		if err := store.CreateWebhookDelivery(ctx, tx, d); err != nil {
			return err
		}
		return s.audit(ctx, tx, c, auditEntry{TenantID: c.tenantID, Action: "webhook.test", ObjectType: "webhook",
			ObjectID: id, Details: map[string]any{"delivery_id": d.ID}})
	})
	if err != nil {
		return 0, nil, wrapf(err, "test webhook")
	}
	return http.StatusAccepted, deliveryOut(d), nil
}

// GET /api/v1/webhooks/{id}/deliveries
func (s *Server) listWebhookDeliveries(ctx context.Context, c *call) (int, any, error) {
	id := c.r.PathValue("id")
	lp, err := listParams(c)
	if err != nil {
		return 0, nil, err
	}
	if _, err := store.GetWebhook(ctx, s.db, c.tenantID, id); err != nil {
		return 0, nil, wrapf(notFoundAs(err, "webhook"), "list webhook deliveries")
	}
	rows, next, err := store.ListWebhookDeliveries(ctx, s.db, c.tenantID, id, lp)
	if err != nil {
		return 0, nil, wrapf(err, "list webhook deliveries")
	}
	return http.StatusOK, page(rows, next, deliveryOut), nil
}

func webhookOut(w *store.Webhook) sdk.Webhook {
	return sdk.Webhook{ID: w.ID, TenantID: w.TenantID, URL: w.URL, Events: w.EventTypes(),
		Description: w.Description, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

func deliveryOut(d *store.WebhookDelivery) sdk.WebhookDelivery {
	out := sdk.WebhookDelivery{ID: d.ID, WebhookID: d.WebhookID, EventType: d.EventType, Status: d.Status,
		Attempts: d.Attempts, Error: d.LastError, LastAttemptAt: d.LastAttemptAt, CreatedAt: d.CreatedAt}
	if d.EventID != nil {
		out.EventID = *d.EventID
	}
	if d.LastStatusCode != nil {
		out.StatusCode = *d.LastStatusCode
	}
	if d.Status == store.DeliveryPending {
		next := d.NextAttemptAt
		out.NextAttemptAt = &next
	}
	return out
}
