package sdk

import "time"

// EventWebhookTest is the type of the event `xv webhook test` sends. It is
// delivered whatever the webhook subscribed to.
const EventWebhookTest = "webhook.test"

// WebhookSecretPrefix starts every webhook signing secret: "whsec_" and
// the standard base64 of the secret bytes (the Standard Webhooks convention).
const WebhookSecretPrefix = "whsec_"

// Webhook delivery statuses.
const (
	WebhookDeliveryPending   = "pending"   // not yet accepted; retried with backoff
	WebhookDeliveryDelivered = "delivered" // the receiver answered 2xx
	WebhookDeliveryFailed    = "failed"    // retries ran out (about a day)
)

// WebhookEventTypes are the event types a webhook may subscribe to: every
// tenant event of the stream. Agent events are platform-wide and reset is
// a stream-only signal, so neither reaches a tenant's webhook.
func WebhookEventTypes() []string {
	return []string{EventJobCreated, EventJobUpdated, EventJobProgress, EventJobFailed, EventSnapshotCreated,
		EventSnapshotDeleted, EventSnapshotVerified, EventSourceOverdue}
}

// Webhook is a tenant's HTTP endpoint that receives signed events. Its
// secret is shown once, at creation (CreatedWebhook).
type Webhook struct {
	ID          string    `json:"id"`
	TenantID    string    `json:"tenant_id"`
	URL         string    `json:"url"`
	Events      []string  `json:"events"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// CreateWebhookRequest: URL is http(s), at most 2048 bytes, without
// user:password; Events are WebhookEventTypes (at least one).
type CreateWebhookRequest struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description string   `json:"description,omitempty"`
}

// CreatedWebhook is the answer to a creation: the only time the signing
// secret ("whsec_…") is returned.
type CreatedWebhook struct {
	Webhook
	Secret string `json:"secret"`
}

// WebhookDelivery is one event on its way to one webhook. ID is sent as the
// webhook-id header, the same on every attempt, so receivers can drop
// duplicates (delivery is at least once).
type WebhookDelivery struct {
	ID            string     `json:"id"`
	WebhookID     string     `json:"webhook_id"`
	EventID       int64      `json:"event_id,omitempty"` // 0 for webhook.test
	EventType     string     `json:"event_type"`
	Status        string     `json:"status"` // WebhookDelivery* constants
	Attempts      int        `json:"attempts"`
	StatusCode    int        `json:"status_code,omitempty"` // of the last attempt; 0 = no HTTP answer
	Error         string     `json:"error,omitempty"`       // of the last attempt
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"` // pending only
	CreatedAt     time.Time  `json:"created_at"`
}

// WebhookPayload is the JSON body of every delivery.
type WebhookPayload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"` // when the event happened (RFC 3339)
	Data      any       `json:"data"`
}
