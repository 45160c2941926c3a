package api

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// publicHook is a webhook URL on a public (documentation) address, so the
// egress rule lets it through without DNS.
const publicHook = "https://203.0.113.10/hooks/xvault?token=t0k"

func TestWebhooksCRUD(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, b := e.newTenant("acme"), e.newTenant("bravo")
		var created sdk.CreatedWebhook
		e.call("POST", "/api/v1/webhooks", a.Admin, sdk.CreateWebhookRequest{URL: publicHook,
			Events: []string{sdk.EventJobFailed, sdk.EventSourceOverdue, sdk.EventJobFailed}, Description: "pager"}, 201, &created)
		require.Equal(t, a.ID, created.TenantID)
		require.Equal(t, []string{sdk.EventJobFailed, sdk.EventSourceOverdue}, created.Events, "deduplicated")
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(created.Secret, sdk.WebhookSecretPrefix))
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(created.Secret, "whsec_"))
		require.GreaterOrEqual(t, len(raw), 24)

		var got sdk.Webhook
		e.call("GET", "/api/v1/webhooks/"+created.ID, a.Owner, nil, 200, &got)
		require.Equal(t, created.Webhook, got)
		status, body := e.do("GET", "/api/v1/webhooks/"+created.ID, a.Owner, nil)
		require.Equal(t, 200, status)
		require.NotContains(t, string(body), "secret", "the secret is shown once")
		var list sdk.Page[sdk.Webhook]
		e.call("GET", "/api/v1/webhooks", a.Owner, nil, 200, &list)
		require.Len(t, list.Items, 1)
		e.call("GET", "/api/v1/webhooks", b.Owner, nil, 200, &list)
		require.Empty(t, list.Items)
		e.apiErr("GET", "/api/v1/webhooks/"+created.ID, b.Owner, nil, 404)
		e.apiErr("POST", "/api/v1/webhooks/"+created.ID+"/test", b.Owner, nil, 404)
		e.apiErr("GET", "/api/v1/webhooks", a.Member, nil, 403)
		e.apiErr("POST", "/api/v1/webhooks", a.Member, sdk.CreateWebhookRequest{URL: publicHook,
			Events: []string{sdk.EventJobFailed}}, 403)

		var d sdk.WebhookDelivery
		e.call("POST", "/api/v1/webhooks/"+created.ID+"/test", a.Owner, nil, 202, &d)
		require.Equal(t, sdk.EventWebhookTest, d.EventType)
		require.Equal(t, sdk.WebhookDeliveryPending, d.Status)
		require.NotNil(t, d.NextAttemptAt)
		var ds sdk.Page[sdk.WebhookDelivery]
		e.call("GET", "/api/v1/webhooks/"+created.ID+"/deliveries", a.Owner, nil, 200, &ds)
		require.Len(t, ds.Items, 1)
		require.Equal(t, d.ID, ds.Items[0].ID)

		e.requireNoSecret(created.Secret)
		var audit sdk.Page[sdk.AuditEvent]
		e.call("GET", "/api/v1/audit?action=webhook.create", a.Owner, nil, 200, &audit)
		require.Len(t, audit.Items, 1)

		e.call("DELETE", "/api/v1/webhooks/"+created.ID, a.Owner, nil, 204, nil)
		e.apiErr("GET", "/api/v1/webhooks/"+created.ID, a.Owner, nil, 404)
		e.apiErr("GET", "/api/v1/webhooks/"+created.ID+"/deliveries", a.Owner, nil, 404)
		e.apiErr("DELETE", "/api/v1/webhooks/"+created.ID, a.Owner, nil, 404)
		require.Zero(t, e.count("webhook_deliveries"), "deliveries go with their webhook")
	})
}

func TestWebhookBadInput(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")
		ok := []string{sdk.EventJobFailed}
		for _, tc := range []struct {
			req         sdk.CreateWebhookRequest
			field, want string
		}{
			{sdk.CreateWebhookRequest{URL: "ftp://203.0.113.10/x", Events: ok}, "url", "http:// or https://"},
			{sdk.CreateWebhookRequest{URL: "https://u:p@203.0.113.10/x", Events: ok}, "url", "user:password"},
			{sdk.CreateWebhookRequest{URL: "https://203.0.113.10/" + strings.Repeat("a", 2048), Events: ok}, "url", "at most 2048"},
			{sdk.CreateWebhookRequest{URL: "", Events: ok}, "url", "not a URL"},
			{sdk.CreateWebhookRequest{URL: "http://127.0.0.1:9000/hook", Events: ok}, "url", "--allow-webhook-private"},
			{sdk.CreateWebhookRequest{URL: "http://[::1]/hook", Events: ok}, "url", "loopback"},
			{sdk.CreateWebhookRequest{URL: "http://10.0.0.5/hook", Events: ok}, "url", "private"},
			{sdk.CreateWebhookRequest{URL: "http://169.254.169.254/latest", Events: ok}, "url", "never allowed"},
			{sdk.CreateWebhookRequest{URL: publicHook}, "events", "at least one"},
			{sdk.CreateWebhookRequest{URL: publicHook, Events: []string{sdk.EventReset}}, "events", "unknown event type"},
			{sdk.CreateWebhookRequest{URL: publicHook, Events: []string{sdk.EventAgentOffline}}, "events", "unknown event type"},
			{sdk.CreateWebhookRequest{URL: publicHook, Events: ok, Description: strings.Repeat("d", 201)}, "description", "200"},
		} {
			er := e.apiErr("POST", "/api/v1/webhooks", a.Owner, tc.req, 400)
			require.Contains(t, er.Fields[tc.field], tc.want, "%+v: %v", tc.req.URL, er)
		}
		e.apiErr("POST", "/api/v1/webhooks", a.Owner, `{"url":`, 400)
		e.apiErr("POST", "/api/v1/webhooks", a.Owner, `{"url":"https://203.0.113.10/","events":["job.failed"],"x":1}`, 400)
		require.Zero(t, e.count("webhooks"))
	})
}

// The hub may be told to allow private addresses (hubd --allow-webhook-private, --dev).
func TestWebhookAllowPrivate(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.srv.cfg.AllowWebhookPrivate = true
	a := e.newTenant("acme")
	e.call("POST", "/api/v1/webhooks", a.Owner, sdk.CreateWebhookRequest{URL: "http://127.0.0.1:9000/hook",
		Events: []string{sdk.EventJobFailed}}, 201, nil)
	er := e.apiErr("POST", "/api/v1/webhooks", a.Owner, sdk.CreateWebhookRequest{URL: "http://169.254.169.254/",
		Events: []string{sdk.EventJobFailed}}, 400)
	require.Contains(t, er.Fields["url"], "link-local")
}

// requireNoSecret scans every column of the tables that could hold a
// webhook secret, for the whsec_ text and for its base64 part.
func (e *testEnv) requireNoSecret(secret string) {
	for _, tbl := range []string{"webhooks", "webhook_deliveries", "audit_events"} {
		var rows []map[string]any
		require.NoError(e.t, e.db.NewSelect().Table(tbl).Scan(context.Background(), &rows))
		require.NotEmpty(e.t, rows, tbl)
		for _, row := range rows {
			for col, v := range row {
				s := fmt.Sprintf("%s", v)
				require.NotContains(e.t, s, secret, "%s.%s holds the secret", tbl, col)
				require.NotContains(e.t, s, strings.TrimPrefix(secret, "whsec_"), "%s.%s holds the secret", tbl, col)
			}
		}
	}
	raw, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	var blobs [][]byte
	require.NoError(e.t, e.db.NewSelect().Table("webhooks").Column("secret_ciphertext").Scan(context.Background(), &blobs))
	for _, b := range blobs {
		require.NotContains(e.t, string(b), string(raw), "the secret bytes are sealed")
	}
}
