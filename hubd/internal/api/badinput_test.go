package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// sftpBody is a create-source body with the given config JSON.
func sftpBody(credID, config string) string {
	return fmt.Sprintf(`{"type":"sftp","name":"s","credential_id":%q,"config":%s}`, credID, config)
}

const okConfig = `{"host":"h.example","username":"u","paths":["/srv"]}`

// badCase is one bad request; want names what the answer must mention
// (field keys of error.fields, or words of the message).
type badCase struct {
	name, method, path, token string
	body                      any
	status                    int
	fields                    []string
	message                   string
}

func badCases(e *testEnv, a, b *tenantFixture, expired, revoked string) []badCase {
	src := "/api/v1/sources"
	return []badCase{
		{name: "malformed JSON", method: "POST", path: src, token: a.Owner, body: `{"type":`, status: 400, message: "malformed JSON"},
		{name: "not an object", method: "POST", path: src, token: a.Owner, body: `[1,2]`, status: 400, message: "malformed JSON"},
		{name: "trailing data", method: "POST", path: src, token: a.Owner, body: sftpBody(a.Credential, okConfig) + `{}`, status: 400, message: "after the JSON object"},
		{name: "empty body", method: "POST", path: src, token: a.Owner, body: ``, status: 400, message: "empty"},
		{name: "wrong type", method: "POST", path: src, token: a.Owner, body: `{"type":"sftp","name":5}`, status: 400, fields: []string{"name"}},
		{name: "unknown field", method: "POST", path: src, token: a.Owner, body: `{"type":"sftp","name":"x","extra":1}`, status: 400, fields: []string{"extra"}},
		{name: "unknown config field", method: "POST", path: src, token: a.Owner,
			body: sftpBody(a.Credential, `{"host":"h","username":"u","paths":["/"],"colour":"red"}`), status: 400, fields: []string{"config.colour"}},
		{name: "missing fields", method: "POST", path: src, token: a.Owner, body: `{"type":"sftp"}`, status: 400,
			fields: []string{"name", "credential_id", "config"}},
		{name: "missing config fields", method: "POST", path: src, token: a.Owner, body: sftpBody(a.Credential, `{}`), status: 400,
			fields: []string{"config.host", "config.username", "config.paths"}},
		{name: "port out of range", method: "POST", path: src, token: a.Owner,
			body: sftpBody(a.Credential, `{"host":"h","port":70000,"username":"u","paths":["/"]}`), status: 400, fields: []string{"config.port"}},
		{name: "port as string", method: "POST", path: src, token: a.Owner,
			body: sftpBody(a.Credential, `{"host":"h","port":"22","username":"u","paths":["/"]}`), status: 400, fields: []string{"config.port"}},
		{name: "every problem at once", method: "POST", path: src, token: a.Owner,
			body:   `{"type":"sftp","name":"","credential_id":"` + b.Credential + `","config":{"host":"bad host","port":-1,"username":"u","paths":["/ok","var/www","/a/../b"],"exclude":["["],"host_key":"MD5:aa"}}`,
			status: 400, fields: []string{"name", "credential_id", "config.host", "config.port", "config.paths[1]", "config.paths[2]", "config.exclude[0]", "config.host_key"}},
		{name: "credential of another tenant", method: "POST", path: src, token: a.Owner, body: sftpBody(b.Credential, okConfig), status: 400, fields: []string{"credential_id"}},
		{name: "unknown source type", method: "POST", path: src, token: a.Owner, body: `{"type":"gopher","name":"x","config":{}}`, status: 400, fields: []string{"type"}},
		{name: "config not an object", method: "POST", path: src, token: a.Owner, body: `{"type":"mysql","name":"x","config":"dsn"}`, status: 400, fields: []string{"config"}},
		{name: "patch revalidates the merge", method: "PATCH", path: src + "/" + a.Source, token: a.Owner,
			body: `{"config":{"host":"h","port":0,"username":"u","paths":["relative"]}}`, status: 400, fields: []string{"config.paths[0]"}},
		{name: "patch unknown status", method: "PATCH", path: src + "/" + a.Source, token: a.Owner, body: `{"status":"paused"}`, status: 400, fields: []string{"status"}},
		{name: "job for another tenant's source", method: "POST", path: "/api/v1/jobs", token: a.Owner, body: sdk.CreateJobRequest{SourceID: b.Source}, status: 404, message: "source not found"},
		{name: "job without source", method: "POST", path: "/api/v1/jobs", token: a.Owner, body: `{}`, status: 400, fields: []string{"source_id"}},
		{name: "restore job via create", method: "POST", path: "/api/v1/jobs", token: a.Owner, body: sdk.CreateJobRequest{SourceID: a.Source, Type: sdk.JobRestore}, status: 400, fields: []string{"type"}},
		{name: "no token", method: "GET", path: src, status: 401, message: "token"},
		{name: "garbage token", method: "GET", path: src, token: "xvt_nope", status: 401, message: "token"},
		{name: "expired token", method: "GET", path: src, token: expired, status: 401, message: "expired"},
		{name: "revoked token", method: "POST", path: src, token: revoked, body: sftpBody(a.Credential, okConfig), status: 401, message: "revoked"},
		{name: "oversized body", method: "POST", path: src, token: a.Owner,
			body: `{"type":"sftp","name":"` + strings.Repeat("x", MaxBodyBytes) + `"}`, status: 413, message: "larger than"},
		{name: "member writing", method: "POST", path: src, token: a.Member, body: sftpBody(a.Credential, okConfig), status: 403, message: "read-only"},
		{name: "member deleting", method: "DELETE", path: src + "/" + a.Source, token: a.Member, status: 403, message: "read-only"},
		{name: "admin granting owner", method: "POST", path: "/api/v1/tokens", token: a.Admin, body: sdk.CreateTokenRequest{Role: sdk.RoleOwner}, status: 403, message: "owner"},
		{name: "token bad role", method: "POST", path: "/api/v1/tokens", token: a.Owner, body: sdk.CreateTokenRequest{Role: "root", ExpiresIn: "soon"}, status: 400, fields: []string{"role", "expires_in"}},
		{name: "tenant token naming another tenant", method: "GET", path: src + "?tenant_id=" + b.ID, token: a.Owner, status: 403, message: "another tenant"},
		{name: "platform admin without tenant", method: "POST", path: src, token: e.admin, body: sftpBody(a.Credential, okConfig), status: 400, fields: []string{"tenant_id"}},
		{name: "platform admin unknown tenant", method: "GET", path: src + "?tenant_id=nope", token: e.admin, status: 404, message: "tenant not found"},
		{name: "bad limit", method: "GET", path: src + "?limit=0", token: a.Owner, status: 400, fields: []string{"limit"}},
		{name: "bad private key", method: "POST", path: "/api/v1/credentials", token: a.Owner,
			body:   sdk.CreateCredentialRequest{Name: "k", Kind: sdk.CredentialSSHPrivateKey, PrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nTOPSECRET\n-----END OPENSSH PRIVATE KEY-----"},
			status: 400, fields: []string{"private_key"}},
		{name: "password missing", method: "POST", path: "/api/v1/credentials", token: a.Owner, body: sdk.CreateCredentialRequest{Name: "p", Kind: sdk.CredentialPassword}, status: 400, fields: []string{"password"}},
		{name: "tenant without name", method: "POST", path: "/api/v1/tenants", token: e.admin, body: `{"name":" "}`, status: 400, fields: []string{"name"}},
		{name: "no such route", method: "GET", path: "/api/v1/nope", token: a.Owner, status: 404, message: "no route"},
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, b := e.newTenant("alpha"), e.newTenant("bravo")
		var exp sdk.CreatedToken
		e.call("POST", "/api/v1/tokens", a.Owner, sdk.CreateTokenRequest{Role: sdk.RoleAdmin, ExpiresIn: "1ms"}, 201, &exp)
		var rev sdk.CreatedToken
		e.call("POST", "/api/v1/tokens", a.Owner, sdk.CreateTokenRequest{Role: sdk.RoleAdmin}, 201, &rev)
		e.call("DELETE", "/api/v1/tokens/"+rev.ID, a.Owner, nil, 200, nil)
		time.Sleep(10 * time.Millisecond)
		var srcBefore sdk.Source
		e.call("GET", "/api/v1/sources/"+a.Source, a.Owner, nil, 200, &srcBefore)

		for _, tc := range append(badCases(e, a, b, exp.Token, rev.Token), sourceTypeBadCases(a, b)...) {
			before := e.snapshotCounts()
			status, resp := e.do(tc.method, tc.path, tc.token, tc.body)
			require.Equal(t, tc.status, status, "%s: %s", tc.name, resp)
			var eb sdk.ErrorBody
			require.NoError(t, json.Unmarshal(resp, &eb), "%s: %s", tc.name, resp)
			require.Equal(t, sdk.CodeForStatus(tc.status), eb.Error.Code, tc.name)
			for _, f := range tc.fields {
				require.Contains(t, eb.Error.Fields, f, "%s: %s", tc.name, resp)
			}
			require.Contains(t, eb.Error.Error(), tc.message, tc.name)
			require.NotContains(t, string(resp), "TOPSECRET", tc.name)
			require.Equal(t, before, e.snapshotCounts(), "%s changed the database", tc.name)
		}
		var srcAfter sdk.Source
		e.call("GET", "/api/v1/sources/"+a.Source, a.Owner, nil, 200, &srcAfter)
		require.Equal(t, srcBefore, srcAfter)
	})
}
