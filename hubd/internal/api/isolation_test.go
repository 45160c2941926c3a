package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// tenantB holds tenant B's objects of every kind, for the walker.
type tenantB struct {
	*tenantFixture
	TokenID, Job, Snapshot, Agent string
	Restore                       string
	Schedule                      string
	Webhook                       string
	StorageTarget, S3Credential   string
}

// isolationCase says how a route must answer tenant A's owner calling it
// about tenant B's objects. body builds the request body from B's ids.
type isolationCase struct {
	want   int
	body   func(b *tenantB) any
	stream bool // an event stream: walked by streamIsolation (events_test.go)
}

// isolationCases must name every route: a route added without a case
// fails TestTenantIsolation, so it cannot ship unwalked.
var isolationCases = map[string]isolationCase{
	"GET /healthz":                         {want: 200},
	"GET /readyz":                          {want: 200},
	"GET /metrics":                         {want: 200},
	"GET /api/v1/status":                   {want: 200},
	"GET /api/v1/events":                   {want: 200, stream: true},
	"POST /api/v1/tenants":                 {want: 403, body: func(*tenantB) any { return sdk.CreateTenantRequest{Name: "x"} }},
	"GET /api/v1/tenants":                  {want: 200},
	"GET /api/v1/tenants/{id}":             {want: 404},
	"POST /api/v1/tenants/{id}/key/export": {want: 404},
	"PATCH /api/v1/tenants/{id}": {want: 404, body: func(*tenantB) any {
		return sdk.UpdateTenantRequest{DefaultStorageID: new(string)}
	}},

	"POST /api/v1/tokens":        {want: 201, body: func(*tenantB) any { return sdk.CreateTokenRequest{Role: sdk.RoleMember} }},
	"GET /api/v1/tokens":         {want: 200},
	"DELETE /api/v1/tokens/{id}": {want: 404},

	"POST /api/v1/credentials": {want: 201, body: func(*tenantB) any {
		return sdk.CreateCredentialRequest{Name: "c", Kind: sdk.CredentialPassword, Password: "x"}
	}},
	"GET /api/v1/credentials":         {want: 200},
	"GET /api/v1/credentials/{id}":    {want: 404},
	"DELETE /api/v1/credentials/{id}": {want: 404},

	// Storage targets: naming B's credential is a field error; B's target is not found.
	"POST /api/v1/storage-targets":           {want: 400, body: func(b *tenantB) any { return s3Target("t", b.S3Credential) }},
	"GET /api/v1/storage-targets":            {want: 200},
	"GET /api/v1/storage-targets/{id}":       {want: 404},
	"DELETE /api/v1/storage-targets/{id}":    {want: 404},
	"POST /api/v1/storage-targets/{id}/test": {want: 404},
	"POST /api/v1/admin/credentials":         {want: 403, body: func(*tenantB) any { return s3Credential("c") }},
	"GET /api/v1/admin/credentials":          {want: 403},
	"GET /api/v1/admin/credentials/{id}":     {want: 403},
	"DELETE /api/v1/admin/credentials/{id}":  {want: 403},

	// Naming B's credential is a field error that does not say it exists.
	"POST /api/v1/sources":           {want: 400, body: func(b *tenantB) any { return sftpSource("s", b.Credential) }},
	"GET /api/v1/sources":            {want: 200},
	"GET /api/v1/sources/{id}":       {want: 404},
	"PATCH /api/v1/sources/{id}":     {want: 404, body: func(*tenantB) any { return map[string]string{"name": "mine"} }},
	"DELETE /api/v1/sources/{id}":    {want: 404},
	"POST /api/v1/sources/{id}/test": {want: 404},

	"POST /api/v1/jobs":             {want: 404, body: func(b *tenantB) any { return sdk.CreateJobRequest{SourceID: b.Source} }},
	"GET /api/v1/jobs":              {want: 200},
	"GET /api/v1/jobs/{id}":         {want: 404},
	"POST /api/v1/jobs/{id}/cancel": {want: 404},
	"GET /api/v1/snapshots":         {want: 200},
	"GET /api/v1/snapshots/{id}":    {want: 404},
	"GET /api/v1/audit":             {want: 200},

	// Webhooks: a bad creation has no side effect; B's webhook is not found.
	"POST /api/v1/webhooks": {want: 400, body: func(*tenantB) any {
		return sdk.CreateWebhookRequest{URL: "ftp://203.0.113.10/", Events: []string{sdk.EventJobFailed}}
	}},
	"GET /api/v1/webhooks":                 {want: 200},
	"GET /api/v1/webhooks/{id}":            {want: 404},
	"DELETE /api/v1/webhooks/{id}":         {want: 404},
	"POST /api/v1/webhooks/{id}/test":      {want: 404},
	"GET /api/v1/webhooks/{id}/deliveries": {want: 404},

	"POST /api/v1/snapshots/{id}/restore": {want: 404, body: func(*tenantB) any { return sdk.CreateRestoreRequest{} }},
	"POST /api/v1/snapshots/{id}/verify":  {want: 404},
	"POST /api/v1/snapshots/{id}/copy": {want: 404, body: func(b *tenantB) any {
		return sdk.CopySnapshotRequest{ToStorageID: b.StorageTarget, Move: true}
	}},
	"GET /api/v1/restores":            {want: 200},
	"GET /api/v1/restores/{id}":       {want: 404},
	"GET /api/v1/admin/settings":      {want: 403},
	"GET /api/v1/admin/settings/{id}": {want: 403},
	"PUT /api/v1/admin/settings/{id}": {want: 403, body: func(*tenantB) any { return sdk.PutSettingRequest{Value: "2"} }},

	"GET /api/v1/sources/{id}/retention":         {want: 404},
	"PUT /api/v1/sources/{id}/retention":         {want: 404, body: func(*tenantB) any { return sdk.RetentionPolicy{KeepLastN: 1} }},
	"GET /api/v1/sources/{id}/retention/preview": {want: 404},
	"POST /api/v1/schedules": {want: 404, body: func(b *tenantB) any {
		return sdk.CreateScheduleRequest{SourceID: b.Source, Cron: "* * * * *"}
	}},
	"GET /api/v1/schedules":         {want: 200},
	"GET /api/v1/schedules/{id}":    {want: 404},
	"PUT /api/v1/schedules/{id}":    {want: 404, body: func(*tenantB) any { return sdk.UpdateScheduleRequest{Enabled: new(bool)} }},
	"DELETE /api/v1/schedules/{id}": {want: 404},
	"DELETE /api/v1/snapshots/{id}": {want: 404},
	"POST /api/v1/retention/simulate": {want: 200, body: func(*tenantB) any {
		return sdk.SimulateRetentionRequest{Snapshots: []sdk.SimulatedSnapshot{{CreatedAt: time.Now()}}}
	}},
	"POST /api/v1/admin/retention/run":      {want: 403},
	"POST /api/v1/admin/retention/run/{id}": {want: 403},

	"POST /api/v1/agents/enrollment-tokens": {want: 403, body: func(*tenantB) any { return sdk.CreateEnrollmentTokenRequest{} }},
	"GET /api/v1/agents/enrollment-tokens":  {want: 403},
	"GET /api/v1/agents":                    {want: 403},
	"GET /api/v1/agents/{id}":               {want: 403},
	// Fleet health: draining is the platform's; B's schedule's runs are not found.
	"POST /api/v1/agents/{id}/drain":   {want: 403},
	"POST /api/v1/agents/{id}/undrain": {want: 403},
	"GET /api/v1/schedules/{id}/runs":  {want: 404},

	"POST /api/v1/agent/enroll":                    {want: 401, body: func(*tenantB) any { return sdk.EnrollRequest{Name: "x"} }},
	"POST /api/v1/agent/heartbeat":                 {want: 403, body: func(*tenantB) any { return sdk.HeartbeatRequest{} }},
	"POST /api/v1/agent/jobs/claim":                {want: 403, body: func(*tenantB) any { return sdk.ClaimRequest{WaitSeconds: 1} }},
	"POST /api/v1/agent/jobs/{id}/renew":           {want: 403, body: func(*tenantB) any { return sdk.RenewRequest{LeaseEpoch: 1} }},
	"POST /api/v1/agent/jobs/{id}/credentials":     {want: 403, body: func(*tenantB) any { return sdk.LeaseRef{LeaseEpoch: 1} }},
	"POST /api/v1/agent/jobs/{id}/host-key":        {want: 403, body: func(*tenantB) any { return sdk.HostKeyReport{LeaseEpoch: 1, Fingerprint: fp1} }},
	"POST /api/v1/agent/jobs/{id}/complete":        {want: 403, body: func(*tenantB) any { return sdk.CompleteRequest{LeaseEpoch: 1, Status: sdk.JobFailed} }},
	"POST /api/v1/agent/jobs/{id}/tenant-identity": {want: 403, body: func(*tenantB) any { return sdk.LeaseRef{LeaseEpoch: 1} }},
	"POST /api/v1/agent/restores/{id}/downloads": {want: 403, body: func(*tenantB) any {
		return sdk.DownloadReport{RemoteAddr: "1.2.3.4", Bytes: 1, Status: 200}
	}},
}

// pathIDs maps a route's resource onto B's object of that kind.
func (b *tenantB) idFor(pattern string) string {
	for prefix, id := range map[string]string{
		"/api/v1/tenants/": b.ID, "/api/v1/tokens/": b.TokenID, "/api/v1/credentials/": b.Credential,
		"/api/v1/sources/": b.Source, "/api/v1/jobs/": b.Job, "/api/v1/snapshots/": b.Snapshot,
		"/api/v1/agents/": b.Agent, "/api/v1/agent/jobs/": b.Job,
		"/api/v1/schedules/": b.Schedule, "/api/v1/admin/retention/run/": b.Source,
		"/api/v1/restores/": b.Restore, "/api/v1/agent/restores/": b.Restore, "/api/v1/admin/settings/": "max_download_size_mb",
		"/api/v1/webhooks/": b.Webhook, "/api/v1/storage-targets/": b.StorageTarget,
		"/api/v1/admin/credentials/": b.S3Credential,
	} {
		if strings.HasPrefix(pattern, prefix) {
			return id
		}
	}
	return ""
}

// setupTenantB makes B with a running job, a snapshot and an agent.
func (e *testEnv) setupTenantB() *tenantB {
	b := &tenantB{tenantFixture: e.newTenant("bravo")}
	var toks sdk.Page[sdk.APIToken]
	e.call("GET", "/api/v1/tokens", b.Owner, nil, 200, &toks)
	b.TokenID = toks.Items[0].ID
	ag := e.enrollAgent("b-agent")
	b.Agent = ag.ID
	done := e.claimOne(b.tenantFixture, ag)
	e.call("POST", "/api/v1/agent/jobs/"+done.ID+"/complete", ag.Token, sdk.CompleteRequest{LeaseEpoch: done.LeaseEpoch,
		Status: sdk.JobCompleted, Snapshot: &sdk.SnapshotReport{SHA256: strings.Repeat("0", 64), LocalPath: "p",
			StartedAt: time.Now(), FinishedAt: time.Now()}}, 200, nil)
	b.Snapshot = done.SnapshotID
	b.Job = e.claimOne(b.tenantFixture, ag).ID // left running
	var rs sdk.Restore
	e.call("POST", "/api/v1/snapshots/"+b.Snapshot+"/restore", b.Owner, sdk.CreateRestoreRequest{}, 201, &rs)
	b.Restore = rs.ID // left queued
	var sch sdk.Schedule
	e.call("POST", "/api/v1/schedules", b.Owner, sdk.CreateScheduleRequest{SourceID: b.Source, Cron: "0 3 * * *",
		RetentionPolicy: &sdk.RetentionPolicy{KeepLastN: 3}}, 201, &sch)
	b.Schedule = sch.ID
	var wh sdk.CreatedWebhook
	e.call("POST", "/api/v1/webhooks", b.Owner, sdk.CreateWebhookRequest{URL: publicHook,
		Events: []string{sdk.EventJobFailed}}, 201, &wh)
	b.Webhook = wh.ID
	b.S3Credential, b.StorageTarget = e.newS3Target(b.Owner, "", "b-bucket")
	return b
}

func TestTenantIsolation(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, b := e.newTenant("alpha"), e.setupTenantB()
		bIDs := []string{b.ID, b.TokenID, b.Credential, b.Source, b.Job, b.Snapshot, b.Restore, b.Schedule, b.Webhook,
			b.StorageTarget, b.S3Credential}
		before := e.snapshotCounts()
		for _, rt := range e.srv.Routes() {
			key := rt.Method + " " + rt.Pattern
			tc, ok := isolationCases[key]
			require.True(t, ok, "route %s (%s) has no tenant isolation case: add one to isolationCases", key, rt.Access)
			path := strings.Replace(rt.Pattern, "{id}", b.idFor(rt.Pattern), 1)
			require.NotContains(t, path, "{", "route %s: no id of B for its wildcard", key)
			if tc.stream {
				e.streamIsolation(t, path, a, bIDs)
				e.apiErr(rt.Method, path+"?tenant_id="+b.ID, a.Owner, nil, http.StatusForbidden)
				continue
			}
			var body any
			if tc.body != nil {
				body = tc.body(b)
			}
			status, resp := e.do(rt.Method, path, a.Owner, body)
			require.Equal(t, tc.want, status, "%s as tenant A: %s", key, resp)
			for _, id := range bIDs {
				require.NotContains(t, string(resp), id, "%s leaks an id of tenant B", key)
			}
			if rt.Access == AccessTenantRead || rt.Access == AccessTenantWrite {
				status, resp = e.do(rt.Method, path+"?tenant_id="+b.ID, a.Owner, body)
				require.Equal(t, http.StatusForbidden, status, "%s naming tenant B: %s", key, resp)
			}
		}
		after := e.snapshotCounts()
		// Only A's own creations (a token, a credential, their audit events) happened.
		before["api_tokens"]++
		before["credentials"]++
		before["audit_events"] += 2
		require.Equal(t, before, after)
		e.requireBUntouched(b)
	})
}

func (e *testEnv) requireBUntouched(b *tenantB) {
	var job sdk.Job
	e.call("GET", "/api/v1/jobs/"+b.Job, b.Owner, nil, 200, &job)
	require.Equal(e.t, sdk.JobRunning, job.Status)
	require.False(e.t, job.CancelRequested)
	var src sdk.Source
	e.call("GET", "/api/v1/sources/"+b.Source, b.Owner, nil, 200, &src)
	require.Equal(e.t, "web", src.Name)
	var toks sdk.Page[sdk.APIToken]
	e.call("GET", "/api/v1/tokens", b.Owner, nil, 200, &toks)
	for _, tk := range toks.Items {
		require.Nil(e.t, tk.RevokedAt)
	}
	e.call("GET", "/api/v1/credentials/"+b.Credential, b.Owner, nil, 200, nil)
	e.call("GET", "/api/v1/webhooks/"+b.Webhook, b.Owner, nil, 200, nil)
	require.Zero(e.t, e.count("webhook_deliveries"), "no test delivery was queued for B's webhook")
}

// TestAgentTokensOpenOnlyAgentRoutes walks every operator route with an
// agent token.
func TestAgentTokensOpenOnlyAgentRoutes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("alpha")
		ag := e.enrollAgent("a1")
		for _, rt := range e.srv.Routes() {
			if rt.Access == AccessPublic || rt.Access == AccessAgent {
				continue
			}
			path := strings.ReplaceAll(rt.Pattern, "{id}", a.Source) + "?tenant_id=" + a.ID
			status, resp := e.do(rt.Method, path, ag.Token, json.RawMessage(`{}`))
			want := http.StatusForbidden
			if rt.Access == AccessEnroll {
				want = http.StatusUnauthorized
			}
			require.Equal(t, want, status, "%s %s with an agent token: %s", rt.Method, rt.Pattern, resp)
		}
	})
}
