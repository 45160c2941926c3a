package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/hubd/internal/auth"
	"github.com/xvault/xvault/hubd/internal/keys"
	"github.com/xvault/xvault/hubd/internal/queue"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/store/storetest"
	"github.com/xvault/xvault/sdk"
)

// testEnv is the real router over a real store, behind httptest.
type testEnv struct {
	t     testing.TB
	db    *store.DB
	srv   *Server
	ts    *httptest.Server
	admin string // platform admin token
	waker *countingWaker
}

func newEnv(t testing.TB, dialect string) *testEnv {
	t.Helper()
	db := storetest.Open(t, dialect)
	w := &countingWaker{Notifier: queue.NewNotifier(db, nil)}
	ring, err := keys.NewRing(keys.GenerateKEK())
	require.NoError(t, err)
	srv := New(Config{DB: db, Keys: ring, Waker: w, Version: "test",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), ClaimRecheck: time.Minute})
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { srv.BeginShutdown(); ts.Close() })
	admin, _, err := auth.CreatePlatformToken(context.Background(), db, "test admin", time.Now())
	require.NoError(t, err)
	return &testEnv{t: t, db: db, srv: srv, ts: ts, admin: admin, waker: w}
}

// forEachDialect runs fn on SQLite and, when configured, PostgreSQL.
func forEachDialect(t *testing.T, fn func(t *testing.T, e *testEnv)) {
	for _, d := range storetest.Dialects(t) {
		t.Run(d, func(t *testing.T) { fn(t, newEnv(t, d)) })
	}
}

// do sends a request; body may be nil, a string/[]byte (sent raw) or a value (JSON).
func (e *testEnv) do(method, path, token string, body any) (int, []byte) {
	e.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		require.NoError(e.t, err)
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, r)
	require.NoError(e.t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, out
}

// call expects a status and decodes the answer into out (if non-nil).
func (e *testEnv) call(method, path, token string, body any, want int, out any) {
	e.t.Helper()
	status, resp := e.do(method, path, token, body)
	require.Equal(e.t, want, status, "%s %s: %s", method, path, resp)
	if out != nil {
		require.NoError(e.t, json.Unmarshal(resp, out), "%s", resp)
	}
}

// apiErr expects an error status and returns the decoded error.
func (e *testEnv) apiErr(method, path, token string, body any, want int) *sdk.Error {
	e.t.Helper()
	var eb sdk.ErrorBody
	e.call(method, path, token, body, want, &eb)
	require.NotNil(e.t, eb.Error)
	require.Equal(e.t, sdk.CodeForStatus(want), eb.Error.Code)
	require.NotEmpty(e.t, eb.Error.Message)
	return eb.Error
}

// tenantFixture is a tenant with tokens of every role and a few objects.
type tenantFixture struct {
	ID, Owner, Admin, Member string
	Credential, Source       string
}

func (e *testEnv) newTenant(name string) *tenantFixture {
	e.t.Helper()
	var tn sdk.Tenant
	e.call("POST", "/api/v1/tenants", e.admin, sdk.CreateTenantRequest{Name: name}, 201, &tn)
	f := &tenantFixture{ID: tn.ID}
	f.Owner = e.newToken(e.admin, tn.ID, sdk.RoleOwner)
	f.Admin = e.newToken(f.Owner, "", sdk.RoleAdmin)
	f.Member = e.newToken(f.Owner, "", sdk.RoleMember)
	var cred sdk.Credential
	e.call("POST", "/api/v1/credentials", f.Owner, sdk.CreateCredentialRequest{Name: "pw", Kind: sdk.CredentialPassword,
		Password: "s3cret-" + name}, 201, &cred)
	f.Credential = cred.ID
	var src sdk.Source
	e.call("POST", "/api/v1/sources", f.Owner, sftpSource("web", cred.ID), 201, &src)
	f.Source = src.ID
	return f
}

func (e *testEnv) newToken(by, tenantID string, role sdk.Role) string {
	e.t.Helper()
	path := "/api/v1/tokens"
	if tenantID != "" {
		path += "?tenant_id=" + tenantID
	}
	var ct sdk.CreatedToken
	e.call("POST", path, by, sdk.CreateTokenRequest{Role: role, Name: string(role)}, 201, &ct)
	return ct.Token
}

func sftpSource(name, credID string) sdk.CreateSourceRequest {
	return sdk.CreateSourceRequest{Type: sdk.SourceSFTP, Name: name, CredentialID: credID,
		Config: json.RawMessage(`{"host":"web.example.com","port":2222,"username":"backup","paths":["/var/www"]}`)}
}

// agentFixture is an enrolled agent with its own age identity.
type agentFixture struct {
	ID, Token string
	Identity  *age.X25519Identity
}

func (e *testEnv) enrollAgent(name string) *agentFixture {
	e.t.Helper()
	var et sdk.CreatedEnrollmentToken
	e.call("POST", "/api/v1/agents/enrollment-tokens", e.admin, sdk.CreateEnrollmentTokenRequest{}, 201, &et)
	id, err := age.GenerateX25519Identity()
	require.NoError(e.t, err)
	var resp sdk.EnrollResponse
	e.call("POST", "/api/v1/agent/enroll", et.Token, sdk.EnrollRequest{Name: name, PublicKey: id.Recipient().String()},
		201, &resp)
	return &agentFixture{ID: resp.AgentID, Token: resp.Token, Identity: id}
}

// count is the number of rows of a table (for "nothing changed" checks).
func (e *testEnv) count(table string) int {
	e.t.Helper()
	n, err := e.db.NewSelect().Table(table).Count(context.Background())
	require.NoError(e.t, err)
	return int(n)
}

// snapshotCounts counts the rows of every table a bad request might touch.
func (e *testEnv) snapshotCounts() map[string]int {
	out := map[string]int{}
	for _, tbl := range []string{"tenants", "tenant_keys", "api_tokens", "enrollment_tokens", "credentials",
		"sources", "agents", "jobs", "snapshots", "audit_events", "storage_targets"} {
		out[tbl] = e.count(tbl)
	}
	return out
}

// countingWaker is the real notifier, counting its waiting subscribers so
// tests can tell a claim is parked.
type countingWaker struct {
	*queue.Notifier
	mu      sync.Mutex
	waiting int
}

func (w *countingWaker) Subscribe() (<-chan struct{}, func()) {
	ch, release := w.Notifier.Subscribe()
	w.mu.Lock()
	w.waiting++
	w.mu.Unlock()
	return ch, func() { release(); w.mu.Lock(); w.waiting--; w.mu.Unlock() }
}

func (w *countingWaker) subscribers() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.waiting
}
