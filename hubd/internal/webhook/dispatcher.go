// Package webhook delivers the hub's events to tenants' webhooks, signed by
// the Standard Webhooks convention (standardwebhooks.com): the dispatcher
// tails the durable events table with a cursor kept in the database, turns
// each event a webhook subscribed to into a delivery row, and workers send
// due deliveries (bounded concurrency, 10 s per attempt, no redirects,
// egress policy checked on the dialed address) with exponential backoff and
// jitter for about a day. It also owns the signing secrets' format and the
// URL egress rule the API checks at creation.
package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/xvault/xvault/hubd/internal/keys"
	"github.com/xvault/xvault/hubd/internal/queue"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/sdk"
)

// DefaultRetries are the waits after each failed attempt: 11 attempts over
// about 24 h, then the delivery fails.
var DefaultRetries = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 8 * time.Hour}

// Limits of one attempt.
const (
	AttemptTimeout  = 10 * time.Second
	MaxResponseBody = 64 << 10
)

// Outcomes passed to Dispatcher.Outcome.
const (
	OutcomeDelivered = "delivered"
	OutcomeRetry     = "retry"
	OutcomeFailed    = "failed"
)

// Opener decrypts sealed secrets (keys.Ring).
type Opener interface {
	Open(ciphertext, ad []byte, keyID string) ([]byte, error)
}

// Dispatcher fans events out into deliveries and sends them. Set the
// fields, then Start/Stop. Several hub replicas may run one each.
type Dispatcher struct {
	DB       *store.DB
	Keys     Opener
	Policy   Policy
	Log      *slog.Logger     // default: discard
	Now      func() time.Time // default time.Now
	Interval time.Duration    // how often to look for events and due deliveries; default 1 s
	Workers  int              // concurrent sends; default 8
	Settle   time.Duration    // see store.FanOutParams.Settle; default 5 s
	Retries  []time.Duration  // default DefaultRetries
	// Outcome, when set, is called after each attempt (metrics).
	Outcome func(outcome string)

	once   sync.Once
	client *http.Client
	slots  chan struct{}
	sends  sync.WaitGroup
	loop   queue.Loop
}

func (d *Dispatcher) init() {
	d.once.Do(func() {
		if d.Log == nil {
			d.Log = slog.New(slog.DiscardHandler)
		}
		if d.Now == nil {
			d.Now = time.Now
		}
		if d.Interval <= 0 {
			d.Interval = time.Second
		}
		if d.Workers <= 0 {
			d.Workers = 8
		}
		if d.Settle <= 0 {
			d.Settle = 5 * time.Second
		}
		if d.Retries == nil {
			d.Retries = DefaultRetries
		}
		d.slots = make(chan struct{}, d.Workers)
		d.client = NewClient(d.Policy)
	})
}

// NewClient is the HTTP client deliveries are sent with: no proxy, no
// redirects, AttemptTimeout per attempt, and the policy checked on every
// dialed address.
func NewClient(p Policy) *http.Client {
	dialer := &net.Dialer{Timeout: AttemptTimeout, Control: p.control}
	tr := &http.Transport{Proxy: nil, DialContext: dialer.DialContext, ForceAttemptHTTP2: true,
		TLSHandshakeTimeout: AttemptTimeout, ResponseHeaderTimeout: AttemptTimeout,
		MaxIdleConns: 32, MaxIdleConnsPerHost: 4, IdleConnTimeout: 90 * time.Second}
	return &http.Client{Transport: tr, Timeout: AttemptTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Start runs the dispatcher in the background until ctx ends or Stop.
func (d *Dispatcher) Start(ctx context.Context) {
	d.init()
	d.loop.Name, d.loop.Interval, d.loop.Log = "webhooks", d.Interval, d.Log
	d.loop.Tick = d.RunOnce
	d.loop.Start(ctx)
}

// Stop ends the loop and waits for the sends under way (each bounded by
// AttemptTimeout). An attempt cut short is not recorded: its delivery is
// due again once its claim lapses.
func (d *Dispatcher) Stop() {
	d.loop.Stop()
	d.sends.Wait()
}

// RunOnce fans new events out into deliveries, then starts sending as many
// due deliveries as there are free workers. It does not wait for the sends.
func (d *Dispatcher) RunOnce(ctx context.Context) error {
	d.init()
	for {
		_, read, err := store.FanOutEvents(ctx, d.DB, store.FanOutParams{Now: d.Now(), Settle: d.Settle,
			Payload: EventPayload})
		if err != nil {
			return err
		}
		if read < 500 {
			break
		}
	}
	return d.sendDue(ctx)
}

// claimLease outlives one attempt, so a claim only lapses when its hub died.
const claimLease = 3 * AttemptTimeout

func (d *Dispatcher) sendDue(ctx context.Context) error {
	free := d.Workers - len(d.slots)
	if free <= 0 {
		return nil
	}
	dels, err := store.ClaimWebhookDeliveries(ctx, d.DB, store.ClaimDeliveriesParams{Now: d.Now(),
		Lease: claimLease, Limit: free, Token: newToken()})
	if err != nil {
		return fmt.Errorf("claim webhook deliveries: %w", err)
	}
	for _, del := range dels {
		d.slots <- struct{}{}
		d.sends.Add(1)
		go func() {
			defer func() { <-d.slots; d.sends.Done() }()
			d.attempt(ctx, &del)
		}()
	}
	return nil
}

// Wait blocks until the sends under way are done (tests).
func (d *Dispatcher) Wait() { d.sends.Wait() }

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// attempt sends one delivery once and records the result.
func (d *Dispatcher) attempt(ctx context.Context, del *store.WebhookDelivery) {
	log := d.Log.With("tenant_id", del.TenantID, "webhook_id", del.WebhookID, "delivery_id", del.ID)
	hook, err := store.GetWebhook(ctx, d.DB, del.TenantID, del.WebhookID)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
			log.ErrorContext(ctx, "webhook delivery: load webhook", "err", err)
		}
		return // deleted: its deliveries went with it
	}
	code, failure := 0, ""
	secret, err := d.Keys.Open(hook.SecretCiphertext, keys.WebhookSecretAD(hook.TenantID, hook.ID), hook.KEKID)
	if err != nil {
		failure = "cannot open the signing secret (hint: is the KEK it was sealed with still in the ring?)"
	} else {
		code, failure = d.post(ctx, hook.URL, secret, del)
	}
	if ctx.Err() != nil {
		return // shutting down: not an attempt; due again when the claim lapses
	}
	now := d.Now()
	p := store.FinishDeliveryParams{ID: del.ID, ClaimToken: del.ClaimToken, Now: now, StatusCode: code,
		Error: failure, Delivered: failure == ""}
	outcome := OutcomeDelivered
	if failure != "" {
		outcome = OutcomeFailed
		if del.Attempts < len(d.Retries) {
			next := now.Add(jitter(d.Retries[del.Attempts]))
			p.NextAttemptAt, outcome = &next, OutcomeRetry
		}
	}
	if err := store.FinishWebhookDelivery(ctx, d.DB, p); err != nil {
		log.WarnContext(ctx, "webhook delivery: record attempt", "err", err)
		return
	}
	if d.Outcome != nil {
		d.Outcome(outcome)
	}
	attrs := []any{"event_type", del.EventType, "attempt", del.Attempts + 1, "status_code", code, "outcome", outcome}
	if failure != "" {
		log.WarnContext(ctx, "webhook delivery failed", append(attrs, "err", failure)...)
	} else {
		log.InfoContext(ctx, "webhook delivered", attrs...)
	}
}

// jitter spreads d over ±20%.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*mrand.Float64()))
}

// post sends the delivery and returns the HTTP status (0: none) and why it
// did not count as delivered ("" when it did).
func (d *Dispatcher) post(ctx context.Context, rawURL string, secret []byte, del *store.WebhookDelivery) (int, string) {
	body := []byte(del.Payload)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return 0, "bad webhook URL"
	}
	ts := d.Now().Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "xvault-webhooks")
	req.Header.Set("webhook-id", del.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", Sign(secret, del.ID, ts, body))
	resp, err := d.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a token in its path or query: keep it out of the record
		}
		return 0, truncate(err.Error(), 300)
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxResponseBody-int64(len(head))))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, ""
	}
	msg := "HTTP " + strconv.Itoa(resp.StatusCode)
	if s := printable(head); s != "" {
		msg += ": " + s
	}
	return resp.StatusCode, msg
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// printable keeps a response's first bytes readable for `xv webhook deliveries`.
func printable(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return ' '
		}
		return r
	}, string(b))
	return strings.Join(strings.Fields(s), " ")
}

// Payload is a delivery's body: {"type", "timestamp" (RFC 3339), "data"}.
func Payload(typ string, at time.Time, data any) ([]byte, error) {
	b, err := json.Marshal(sdk.WebhookPayload{Type: typ, Timestamp: at.UTC(), Data: data})
	if err != nil {
		return nil, fmt.Errorf("encode webhook payload: %w", err)
	}
	return b, nil
}

// EventPayload is the body of an event's deliveries.
func EventPayload(e *store.Event) ([]byte, error) {
	data := json.RawMessage(e.Data)
	if len(data) == 0 {
		data = json.RawMessage(`{}`)
	}
	return Payload(e.Type, e.CreatedAt, data)
}
