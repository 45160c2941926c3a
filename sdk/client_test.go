package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

const testToken = "xvt_secret_token_value"

// recorded is one request the fake hub saw.
type recorded struct {
	Method, Path string
	Query        url.Values
	Auth, UA     string
	Body         []byte
}

// fakeHub answers every request with status and body and records it.
func fakeHub(t *testing.T, status int, body string) (*httptest.Server, *[]recorded) {
	t.Helper()
	var mu sync.Mutex
	var reqs []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		reqs = append(reqs, recorded{r.Method, r.URL.Path, r.URL.Query(), r.Header.Get("Authorization"), r.Header.Get("User-Agent"), b})
		mu.Unlock()
		if strings.HasPrefix(body, "{") || strings.HasPrefix(body, "[") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &reqs
}

func TestErrorDecoding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		status   int
		body     string
		sentinel error
		code     string
		message  string
	}{
		{"json with fields", 400,
			`{"error":{"code":"invalid_argument","message":"invalid request","fields":{"port":"must be 1-65535","config.host":"required"}}}`,
			sdk.ErrInvalidArgument, "invalid_argument", "invalid request: config.host required; port must be 1-65535"},
		{"json not found", 404, `{"error":{"code":"not_found","message":"source not found"}}`,
			sdk.ErrNotFound, "not_found", "source not found"},
		{"json conflict", 409, `{"error":{"code":"conflict","message":"credential is used by a source"}}`,
			sdk.ErrConflict, "conflict", "credential is used by a source"},
		{"plain text 404", 404, "404 page not found\n", sdk.ErrNotFound, "not_found", "hub answered 404 Not Found"},
		{"html 502", 502, "<html>bad gateway</html>", sdk.ErrInternal, "internal", "hub answered 502 Bad Gateway"},
		{"empty 503", 503, "", sdk.ErrUnavailable, "unavailable", "hub answered 503 Service Unavailable"},
		{"json without error", 401, `{"oops":true}`, sdk.ErrUnauthenticated, "unauthenticated", "hub answered 401 Unauthorized"},
		{"json error without message", 403, `{"error":{"code":"permission_denied"}}`,
			sdk.ErrPermissionDenied, "permission_denied", "hub answered 403 Forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := fakeHub(t, tt.status, tt.body)
			_, err := sdk.New(srv.URL, testToken).GetSource(context.Background(), "src_1")
			require.Error(t, err)
			require.ErrorIs(t, err, tt.sentinel)
			var apiErr *sdk.Error
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, tt.code, apiErr.Code)
			require.Equal(t, tt.status, apiErr.HTTPStatus)
			require.Equal(t, tt.message, err.Error())
			require.NotContains(t, err.Error(), testToken)
		})
	}
}

func TestRequestShape(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name       string
		tenant     string
		call       func(c *sdk.Client) error
		method     string
		path       string
		query      url.Values
		body       string // JSON the hub must receive; "" = no body
		respStatus int
		resp       string
	}{
		{name: "status", call: func(c *sdk.Client) error { _, err := c.Status(ctx); return err },
			method: "GET", path: "/api/v1/status", resp: `{"version":"v1"}`},
		{name: "list jobs with filters", tenant: "ten_1",
			call: func(c *sdk.Client) error {
				_, err := c.ListJobs(ctx, sdk.JobListOptions{ListOptions: sdk.ListOptions{Limit: 5, Cursor: "abc"},
					Status: sdk.JobRunning, SourceID: "src_9", Type: sdk.JobBackup})
				return err
			},
			method: "GET", path: "/api/v1/jobs",
			query: url.Values{"limit": {"5"}, "cursor": {"abc"}, "status": {"running"}, "source_id": {"src_9"},
				"type": {"backup"}, "tenant_id": {"ten_1"}},
			resp: `{"items":[]}`},
		{name: "list sources by type",
			call: func(c *sdk.Client) error {
				_, err := c.ListSources(ctx, sdk.SourceListOptions{Type: sdk.SourceSFTP})
				return err
			},
			method: "GET", path: "/api/v1/sources", query: url.Values{"type": {"sftp"}}, resp: `{"items":[]}`},
		{name: "list snapshots of a source", tenant: "ten_1",
			call: func(c *sdk.Client) error {
				_, err := c.ListSnapshots(ctx, sdk.SnapshotListOptions{SourceID: "src_1"})
				return err
			},
			method: "GET", path: "/api/v1/snapshots", query: url.Values{"source_id": {"src_1"}, "tenant_id": {"ten_1"}},
			resp: `{"items":[]}`},
		{name: "list audit",
			call: func(c *sdk.Client) error {
				_, err := c.ListAudit(ctx, sdk.AuditListOptions{Action: "source.create", ObjectID: "src_1"})
				return err
			},
			method: "GET", path: "/api/v1/audit", query: url.Values{"action": {"source.create"}, "object_id": {"src_1"}},
			resp: `{"items":[]}`},
		{name: "tenant list is not tenant scoped", tenant: "ten_1",
			call:   func(c *sdk.Client) error { _, err := c.ListTenants(ctx, sdk.ListOptions{}); return err },
			method: "GET", path: "/api/v1/tenants", resp: `{"items":[]}`},
		{name: "agents are not tenant scoped", tenant: "ten_1",
			call:   func(c *sdk.Client) error { _, err := c.ListAgents(ctx, sdk.ListOptions{Limit: 2}); return err },
			method: "GET", path: "/api/v1/agents", query: url.Values{"limit": {"2"}}, resp: `{"items":[]}`},
		{name: "create source body", tenant: "ten_1",
			call: func(c *sdk.Client) error {
				_, err := c.CreateSource(ctx, sdk.CreateSourceRequest{Type: sdk.SourceSFTP, Name: "web",
					CredentialID: "cred_1", Config: json.RawMessage(`{"host":"h","port":22}`)})
				return err
			},
			method: "POST", path: "/api/v1/sources", query: url.Values{"tenant_id": {"ten_1"}},
			body:       `{"type":"sftp","name":"web","credential_id":"cred_1","config":{"host":"h","port":22}}`,
			respStatus: 201, resp: `{"id":"src_1"}`},
		{name: "update source", call: func(c *sdk.Client) error {
			name := "new"
			_, err := c.UpdateSource(ctx, "src_1", sdk.UpdateSourceRequest{Name: &name})
			return err
		}, method: "PATCH", path: "/api/v1/sources/src_1", body: `{"name":"new"}`, resp: `{"id":"src_1"}`},
		{name: "delete credential", tenant: "ten_2",
			call:   func(c *sdk.Client) error { return c.DeleteCredential(ctx, "cred_1") },
			method: "DELETE", path: "/api/v1/credentials/cred_1", query: url.Values{"tenant_id": {"ten_2"}}, respStatus: 204},
		{name: "path ids are escaped",
			call:   func(c *sdk.Client) error { _, err := c.GetJob(ctx, "a/b?c"); return err },
			method: "GET", path: "/api/v1/jobs/a/b?c", resp: `{"id":"x"}`},
		{name: "cancel job", call: func(c *sdk.Client) error { _, err := c.CancelJob(ctx, "job_1"); return err },
			method: "POST", path: "/api/v1/jobs/job_1/cancel", resp: `{"id":"job_1"}`},
		{name: "key export", tenant: "ten_1",
			call:   func(c *sdk.Client) error { _, err := c.ExportTenantKey(ctx, "ten_1"); return err },
			method: "POST", path: "/api/v1/tenants/ten_1/key/export", resp: `{"identity":"AGE-SECRET-KEY-1X"}`},
		{name: "create token", tenant: "ten_1",
			call: func(c *sdk.Client) error {
				_, err := c.CreateToken(ctx, sdk.CreateTokenRequest{Role: sdk.RoleMember, ExpiresIn: "720h"})
				return err
			},
			method: "POST", path: "/api/v1/tokens", query: url.Values{"tenant_id": {"ten_1"}},
			body: `{"role":"member","expires_in":"720h"}`, respStatus: 201, resp: `{"id":"tok_1","token":"t"}`},
		{name: "renew", call: func(c *sdk.Client) error {
			_, err := c.Renew(ctx, "job_1", sdk.RenewRequest{LeaseEpoch: 3, Progress: sdk.Progress{FilesDone: 2}})
			return err
		}, method: "POST", path: "/api/v1/agent/jobs/job_1/renew",
			body: `{"lease_epoch":3,"progress":{"files_done":2,"bytes_read":0,"bytes_written":0,"warnings":0}}`,
			resp: `{"cancel_requested":true}`},
		{name: "credentials", call: func(c *sdk.Client) error {
			_, err := c.Credentials(ctx, "job_1", sdk.LeaseRef{LeaseEpoch: 4})
			return err
		}, method: "POST", path: "/api/v1/agent/jobs/job_1/credentials", body: `{"lease_epoch":4}`, resp: `{"ciphertext":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status := tt.respStatus
			if status == 0 {
				status = 200
			}
			srv, reqs := fakeHub(t, status, tt.resp)
			c := sdk.New(srv.URL+"/", testToken, sdk.WithTenant(tt.tenant), sdk.WithUserAgent("xv-test/1"))
			require.NoError(t, tt.call(c))
			require.Len(t, *reqs, 1)
			got := (*reqs)[0]
			require.Equal(t, tt.method, got.Method)
			require.Equal(t, tt.path, got.Path)
			want := tt.query
			if want == nil {
				want = url.Values{}
			}
			require.Equal(t, want, got.Query)
			require.Equal(t, "Bearer "+testToken, got.Auth)
			require.Equal(t, "xv-test/1", got.UA)
			if tt.body == "" {
				require.Empty(t, got.Body)
			} else {
				require.JSONEq(t, tt.body, string(got.Body))
			}
		})
	}
}

func TestCreateJobCreatedFlag(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		status  int
		created bool
	}{{201, true}, {200, false}} {
		srv, reqs := fakeHub(t, tt.status, `{"id":"job_1","status":"queued","type":"backup"}`)
		job, created, err := sdk.New(srv.URL, testToken).CreateJob(context.Background(), sdk.CreateJobRequest{SourceID: "src_1"})
		require.NoError(t, err)
		require.Equal(t, tt.created, created)
		require.Equal(t, "job_1", job.ID)
		require.Equal(t, sdk.JobQueued, job.Status)
		require.JSONEq(t, `{"source_id":"src_1"}`, string((*reqs)[0].Body))
	}
}

func TestEnrollUsesEnrollmentToken(t *testing.T) {
	t.Parallel()
	srv, reqs := fakeHub(t, 201, `{"agent_id":"agt_1","token":"agent-token"}`)
	c := sdk.New(srv.URL, "")
	resp, err := c.Enroll(context.Background(), "enroll-secret", sdk.EnrollRequest{Name: "a1", PublicKey: "age1x"})
	require.NoError(t, err)
	require.Equal(t, "agt_1", resp.AgentID)
	require.Equal(t, "Bearer enroll-secret", (*reqs)[0].Auth)
	require.Equal(t, "/api/v1/agent/enroll", (*reqs)[0].Path)
}

func TestTransportErrorNamesHubNotToken(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	hubURL := srv.URL
	srv.Close() // nothing listens there any more

	_, err := sdk.New(hubURL, testToken, sdk.WithTenant("ten_1")).ListSources(context.Background(), sdk.SourceListOptions{})
	require.Error(t, err)
	var te *sdk.TransportError
	require.ErrorAs(t, err, &te)
	msg := err.Error()
	require.Contains(t, msg, "list sources: connect to hub "+hubURL)
	require.Contains(t, msg, "XV_HUB_URL")
	require.NotContains(t, msg, testToken)
	require.NotContains(t, msg, "Get \"") // no url.Error noise
}

func TestCanceledContextIsNotATransportError(t *testing.T) {
	t.Parallel()
	srv, _ := fakeHub(t, 200, `{}`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := sdk.New(srv.URL, testToken).Status(ctx)
	require.ErrorIs(t, err, context.Canceled)
	var te *sdk.TransportError
	require.False(t, errors.As(err, &te))
}

func TestClaimOutlivesOrdinaryTimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond) // a long poll that ends empty
		_, _ = io.WriteString(w, `{"job":null}`)
	}))
	t.Cleanup(srv.Close)
	c := sdk.New(srv.URL, testToken, sdk.WithTimeout(100*time.Millisecond))

	_, err := c.Heartbeat(context.Background(), sdk.HeartbeatRequest{})
	var te *sdk.TransportError
	require.ErrorAs(t, err, &te, "an ordinary call is bounded by WithTimeout")

	resp, err := c.Claim(context.Background(), sdk.ClaimRequest{WaitSeconds: 1})
	require.NoError(t, err)
	require.Nil(t, resp.Job)
}

func TestReportHostKey(t *testing.T) {
	t.Parallel()
	srv, reqs := fakeHub(t, 200, `{"fingerprint":"SHA256:abc"}`)
	fp, err := sdk.New(srv.URL, testToken).ReportHostKey(context.Background(), "job_1",
		sdk.HostKeyReport{LeaseEpoch: 1, Fingerprint: "SHA256:abc"})
	require.NoError(t, err)
	require.Equal(t, "SHA256:abc", fp)
	require.Equal(t, "/api/v1/agent/jobs/job_1/host-key", (*reqs)[0].Path)
}

func TestWaitJob(t *testing.T) {
	t.Parallel()
	states := []string{"queued", "running", "running", "completed"}
	var mu sync.Mutex
	n, failed := 0, false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if n == 1 && !failed { // one transient failure is tolerated
			failed = true
			w.WriteHeader(503)
			return
		}
		s := states[min(n, len(states)-1)]
		n++
		_, _ = io.WriteString(w, `{"id":"job_1","status":"`+s+`"}`)
	}))
	t.Cleanup(srv.Close)

	var seen []sdk.JobStatus
	job, err := sdk.New(srv.URL, testToken).WaitJob(context.Background(), "job_1", time.Millisecond,
		func(j *sdk.Job) { seen = append(seen, j.Status) })
	require.NoError(t, err)
	require.Equal(t, sdk.JobCompleted, job.Status)
	require.Equal(t, []sdk.JobStatus{"queued", "running", "running", "completed"}, seen)
}

func TestWaitJobStopsOnNotFound(t *testing.T) {
	t.Parallel()
	srv, _ := fakeHub(t, 404, `{"error":{"code":"not_found","message":"job not found"}}`)
	_, err := sdk.New(srv.URL, testToken).WaitJob(context.Background(), "job_x", time.Millisecond, nil)
	require.ErrorIs(t, err, sdk.ErrNotFound)
}

func TestAllPages(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("cursor") {
		case "":
			_, _ = io.WriteString(w, `{"items":[{"id":"a"},{"id":"b"}],"next_cursor":"c1"}`)
		case "c1":
			_, _ = io.WriteString(w, `{"items":[{"id":"c"}]}`)
		}
	}))
	t.Cleanup(srv.Close)
	c := sdk.New(srv.URL, testToken)
	var ids []string
	for src, err := range sdk.All(context.Background(), func(ctx context.Context, cursor string) (*sdk.Page[sdk.Source], error) {
		return c.ListSources(ctx, sdk.SourceListOptions{ListOptions: sdk.ListOptions{Cursor: cursor}})
	}) {
		require.NoError(t, err)
		ids = append(ids, src.ID)
	}
	require.Equal(t, []string{"a", "b", "c"}, ids)
}

func TestAllStopsOnRepeatedCursor(t *testing.T) {
	t.Parallel()
	list := func(ctx context.Context, cursor string) (*sdk.Page[sdk.Job], error) {
		return &sdk.Page[sdk.Job]{Items: []sdk.Job{{ID: "j"}}, NextCursor: "same"}, nil
	}
	var gotErr error
	n := 0
	for _, err := range sdk.All(context.Background(), list) {
		if err != nil {
			gotErr = err
			break
		}
		n++
	}
	require.Error(t, gotErr)
	require.Equal(t, 2, n)
}
