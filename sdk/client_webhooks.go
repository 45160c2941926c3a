package sdk

import (
	"context"
	"net/http"
)

// CreateWebhook registers a webhook; the answer carries its signing secret,
// which is never shown again.
func (c *Client) CreateWebhook(ctx context.Context, req CreateWebhookRequest) (*CreatedWebhook, error) {
	var out CreatedWebhook
	_, err := c.do(ctx, call{op: "create webhook", method: http.MethodPost, path: "/api/v1/webhooks",
		body: req, out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListWebhooks lists the tenant's webhooks, newest first.
func (c *Client) ListWebhooks(ctx context.Context, opts ListOptions) (*Page[Webhook], error) {
	var out Page[Webhook]
	_, err := c.do(ctx, call{op: "list webhooks", method: http.MethodGet, path: "/api/v1/webhooks",
		query: listQuery(opts), out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// GetWebhook fetches one webhook (without its secret).
func (c *Client) GetWebhook(ctx context.Context, id string) (*Webhook, error) {
	var out Webhook
	_, err := c.do(ctx, call{op: "get webhook", method: http.MethodGet, path: pathf("/api/v1/webhooks/%s", id),
		out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteWebhook removes a webhook and its pending deliveries.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{op: "delete webhook", method: http.MethodDelete, path: pathf("/api/v1/webhooks/%s", id),
		tenant: true})
	return err
}

// TestWebhook queues a webhook.test event for the webhook; the hub sends it
// within about a second. The answer is the new delivery (see
// ListWebhookDeliveries for how it went).
func (c *Client) TestWebhook(ctx context.Context, id string) (*WebhookDelivery, error) {
	var out WebhookDelivery
	_, err := c.do(ctx, call{op: "test webhook", method: http.MethodPost, path: pathf("/api/v1/webhooks/%s/test", id),
		out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListWebhookDeliveries lists a webhook's deliveries, newest first.
func (c *Client) ListWebhookDeliveries(ctx context.Context, id string, opts ListOptions) (*Page[WebhookDelivery], error) {
	var out Page[WebhookDelivery]
	_, err := c.do(ctx, call{op: "list webhook deliveries", method: http.MethodGet,
		path: pathf("/api/v1/webhooks/%s/deliveries", id), query: listQuery(opts), out: &out, tenant: true})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
