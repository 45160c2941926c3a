package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/keys"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/store/storetest"
	"github.com/xvault/xvault/hubd/internal/webhook"
	"github.com/xvault/xvault/sdk"
)

var ctx = context.Background()

// The test vector of the Standard Webhooks specification's libraries.
func TestSignStandardVector(t *testing.T) {
	secret, err := webhook.DecodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	require.NoError(t, err)
	got := webhook.Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	require.Equal(t, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", got)

	raw, text := webhook.NewSecret()
	back, err := webhook.DecodeSecret(text)
	require.NoError(t, err)
	require.Equal(t, raw, back)
	require.Equal(t, independentSig(raw, "id1", 42, []byte("{}")), webhook.Sign(raw, "id1", 42, []byte("{}")))
	for _, bad := range []string{"", "whsec_", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_c2hvcnQ="} {
		_, err := webhook.DecodeSecret(bad)
		require.Error(t, err, bad)
	}
}

func independentSig(secret []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "." + string(body)))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestPolicy(t *testing.T) {
	for _, tc := range []struct {
		addr          string
		public, allow bool // allowed by the zero policy / with AllowPrivate
	}{
		{"203.0.113.7", true, true}, {"2001:db8::1", true, true}, {"8.8.8.8", true, true},
		{"127.0.0.1", false, true}, {"::1", false, true}, {"10.1.2.3", false, true}, {"192.168.1.1", false, true},
		{"172.16.0.1", false, true}, {"fd00::1", false, true}, {"100.64.0.1", false, true},
		{"::ffff:127.0.0.1", false, true},
		{"169.254.169.254", false, false}, {"fe80::1", false, false}, {"0.0.0.0", false, false}, {"::", false, false},
		{"224.0.0.1", false, false}, {"ff02::1", false, false},
	} {
		a := netip.MustParseAddr(tc.addr)
		require.Equal(t, tc.public, webhook.Policy{}.Check(a) == nil, tc.addr)
		err := webhook.Policy{AllowPrivate: true}.Check(a)
		require.Equal(t, tc.allow, err == nil, tc.addr)
		if err != nil {
			require.ErrorIs(t, err, webhook.ErrRefused)
		}
	}
	for raw, ok := range map[string]bool{
		"https://hooks.example.com/x?y=1": true, "http://203.0.113.7:8080/": true,
		"ftp://example.com/": false, "https://user:pw@example.com/": false, "https://": false, "": false,
		"example.com/hook": false, "https://example.com/" + string(make([]byte, 2048)): false,
	} {
		_, err := webhook.ParseURL(raw)
		require.Equal(t, ok, err == nil, "%q: %v", raw, err)
	}
}

type fixture struct {
	db     *store.DB
	ring   *keys.Ring
	tenant string
	hook   *store.Webhook
	secret []byte
}

func newFixture(t *testing.T, dialect, url string, events ...string) *fixture {
	db := storetest.Open(t, dialect)
	ring, err := keys.NewRing(keys.GenerateKEK())
	require.NoError(t, err)
	tn := &store.Tenant{Name: "acme"}
	require.NoError(t, store.CreateTenant(ctx, db, tn, nil))
	f := &fixture{db: db, ring: ring, tenant: tn.ID}
	f.hook = f.addHook(t, url, events...)
	return f
}

func (f *fixture) addHook(t *testing.T, url string, events ...string) *store.Webhook {
	raw, _ := webhook.NewSecret()
	evs, _ := json.Marshal(events)
	w := &store.Webhook{ID: store.NewID(), TenantID: f.tenant, URL: url, Events: evs,
		CreatedAt: time.Now().Add(-time.Minute)}
	var err error
	w.SecretCiphertext, w.KEKID, err = f.ring.Seal(raw, keys.WebhookSecretAD(f.tenant, w.ID))
	require.NoError(t, err)
	require.NoError(t, store.CreateWebhook(ctx, f.db, w))
	f.secret = raw
	return w
}

// event records an event of the fixture's tenant, old enough to settle.
func (f *fixture) event(t *testing.T, typ string) *store.Event {
	e := &store.Event{TenantID: &f.tenant, Type: typ, ObjectID: "job1", CreatedAt: time.Now().Add(-10 * time.Second)}
	require.NoError(t, store.AddEvent(ctx, f.db, e, sdk.Job{ID: "job1", Status: sdk.JobFailed}))
	return e
}

func (f *fixture) dispatcher(p webhook.Policy) *webhook.Dispatcher {
	return &webhook.Dispatcher{DB: f.db, Keys: f.ring, Policy: p, Interval: 20 * time.Millisecond,
		Retries: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond}}
}

func (f *fixture) deliveries(t *testing.T) []store.WebhookDelivery {
	var out []store.WebhookDelivery
	require.NoError(t, f.db.NewSelect().Model(&out).Order("created_at").Scan(ctx))
	return out
}

type received struct {
	Header http.Header
	Body   []byte
}

// receiver answers the given statuses in turn (then 200) and records requests.
func receiver(t *testing.T, statuses ...int) (*httptest.Server, func() []received) {
	var mu sync.Mutex
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Header.Clone(), b})
		n := len(got)
		mu.Unlock()
		status := 200
		if n <= len(statuses) {
			status = statuses[n-1]
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte("status " + strconv.Itoa(status)))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received { mu.Lock(); defer mu.Unlock(); return append([]received(nil), got...) }
}

func TestDeliveryRetriesWithTheSameID(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			srv, got := receiver(t, http.StatusInternalServerError)
			f := newFixture(t, d, srv.URL+"/hook?token=abc", sdk.EventJobFailed)
			other := f.addHook(t, srv.URL+"/other", sdk.EventSnapshotCreated) // not subscribed to job.failed
			ev := f.event(t, sdk.EventJobFailed)
			f.event(t, sdk.EventJobUpdated) // nobody subscribed

			disp := f.dispatcher(webhook.Policy{AllowPrivate: true})
			var outcomes []string
			var mu sync.Mutex
			disp.Outcome = func(o string) { mu.Lock(); outcomes = append(outcomes, o); mu.Unlock() }
			disp.Start(ctx)
			require.Eventually(t, func() bool {
				ds := f.deliveries(t)
				return len(ds) == 1 && ds[0].Status == store.DeliveryDelivered
			}, 10*time.Second, 20*time.Millisecond)
			disp.Stop()

			reqs := got()
			require.Len(t, reqs, 2, "a 500, then the 200")
			del := f.deliveries(t)[0]
			require.Equal(t, f.hook.ID, del.WebhookID)
			require.NotEqual(t, other.ID, del.WebhookID)
			require.Equal(t, ev.ID, *del.EventID)
			require.Equal(t, 2, del.Attempts)
			require.Equal(t, 200, *del.LastStatusCode)
			require.Empty(t, del.LastError)
			mu.Lock()
			require.Equal(t, []string{webhook.OutcomeRetry, webhook.OutcomeDelivered}, outcomes)
			mu.Unlock()

			secret, err := f.ring.Open(f.hook.SecretCiphertext, keys.WebhookSecretAD(f.tenant, f.hook.ID), f.hook.KEKID)
			require.NoError(t, err)
			for _, r := range reqs {
				require.Equal(t, del.ID, r.Header.Get("webhook-id"), "the same webhook-id on every attempt")
				ts, err := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64)
				require.NoError(t, err)
				require.InDelta(t, time.Now().Unix(), ts, 30)
				require.Equal(t, independentSig(secret, del.ID, ts, r.Body), r.Header.Get("webhook-signature"))
				require.Equal(t, "application/json", r.Header.Get("Content-Type"))
				var body struct {
					Type      string          `json:"type"`
					Timestamp string          `json:"timestamp"`
					Data      json.RawMessage `json:"data"`
				}
				require.NoError(t, json.Unmarshal(r.Body, &body))
				require.Equal(t, sdk.EventJobFailed, body.Type)
				at, err := time.Parse(time.RFC3339, body.Timestamp)
				require.NoError(t, err)
				require.WithinDuration(t, ev.CreatedAt, at, time.Second)
				var job sdk.Job
				require.NoError(t, json.Unmarshal(body.Data, &job))
				require.Equal(t, "job1", job.ID)
			}
			require.Equal(t, reqs[0].Body, reqs[1].Body, "the same body on every attempt")

			// The cursor moved: another pass (another replica, a restart) adds nothing.
			created, _, err := store.FanOutEvents(ctx, f.db, store.FanOutParams{Settle: time.Second, Payload: webhook.EventPayload})
			require.NoError(t, err)
			require.Zero(t, created)
			require.Len(t, f.deliveries(t), 1)
		})
	}
}

// Replicas fanning out at once create each delivery once; young events are
// fanned out but not passed by the cursor.
func TestFanOutConcurrentReplicas(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) {
			f := newFixture(t, d, "https://203.0.113.9/h", sdk.EventJobFailed, sdk.EventJobCreated)
			for range 20 {
				f.event(t, sdk.EventJobFailed)
			}
			young := &store.Event{TenantID: &f.tenant, Type: sdk.EventJobCreated}
			require.NoError(t, store.AddEvent(ctx, f.db, young, nil))
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for range 4 {
				wg.Go(func() {
					_, _, err := store.FanOutEvents(ctx, f.db, store.FanOutParams{Settle: 5 * time.Second,
						Payload: webhook.EventPayload})
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			require.Len(t, f.deliveries(t), 21)
			var cursor int64
			require.NoError(t, f.db.NewSelect().Table("webhook_cursor").Column("last_event_id").Scan(ctx, &cursor))
			require.Equal(t, young.ID-1, cursor, "the cursor waits for the young event to settle")
		})
	}
}

func TestEgressRefusedAtSend(t *testing.T) {
	srv, got := receiver(t)
	f := newFixture(t, "sqlite", srv.URL+"/hook", sdk.EventJobFailed)
	f.event(t, sdk.EventJobFailed)
	disp := f.dispatcher(webhook.Policy{})
	disp.Retries = []time.Duration{} // no retries: the first failure is final
	require.NoError(t, disp.RunOnce(ctx))
	disp.Wait()
	ds := f.deliveries(t)
	require.Len(t, ds, 1)
	require.Equal(t, store.DeliveryFailed, ds[0].Status)
	require.Equal(t, 1, ds[0].Attempts)
	require.Nil(t, ds[0].LastStatusCode)
	require.Contains(t, ds[0].LastError, "loopback")
	require.Contains(t, ds[0].LastError, "--allow-webhook-private")
	require.NotContains(t, ds[0].LastError, srv.URL, "the URL stays out of the record")
	require.Empty(t, got(), "nothing reached the receiver")
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	target, hits := receiver(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	}))
	t.Cleanup(srv.Close)
	f := newFixture(t, "sqlite", srv.URL, sdk.EventJobFailed)
	f.event(t, sdk.EventJobFailed)
	disp := f.dispatcher(webhook.Policy{AllowPrivate: true})
	require.NoError(t, disp.RunOnce(ctx))
	disp.Wait()
	ds := f.deliveries(t)
	require.Len(t, ds, 1)
	require.Equal(t, store.DeliveryPending, ds[0].Status, "a 302 is a failed attempt, retried")
	require.Equal(t, 302, *ds[0].LastStatusCode)
	require.Contains(t, ds[0].LastError, "HTTP 302")
	require.True(t, ds[0].NextAttemptAt.After(*ds[0].LastAttemptAt))
	require.Empty(t, hits())
}
