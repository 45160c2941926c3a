package api

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/sdk"
)

// typedBody is a create-source body of any type, named after it.
func typedBody(typ sdk.SourceType, credID, config string) string {
	return namedBody(string(typ), typ, credID, config)
}

func namedBody(name string, typ sdk.SourceType, credID, config string) string {
	cred := ""
	if credID != "" {
		cred = fmt.Sprintf(`"credential_id":%q,`, credID)
	}
	return fmt.Sprintf(`{"type":%q,"name":%q,%s"config":%s}`, typ, name, cred, config)
}

// sourceTypeBadCases are bad configs of the source types other than ssh and
// sftp; TestBadInputChangesNothing runs them with the others.
func sourceTypeBadCases(a, b *tenantFixture) []badCase {
	src := "/api/v1/sources"
	bad := func(name, body string, fields ...string) badCase {
		return badCase{name: name, method: "POST", path: src, token: a.Owner, body: body, status: 400, fields: fields}
	}
	return []badCase{
		bad("ftp missing config fields", typedBody(sdk.SourceFTP, a.Credential, `{}`),
			"config.host", "config.username", "config.paths"),
		bad("ftp without credential", typedBody(sdk.SourceFTP, "", `{"host":"h","username":"u","paths":["/"]}`), "credential_id"),
		bad("ftp bad tls", typedBody(sdk.SourceFTP, a.Credential,
			`{"host":"h","username":"u\r\nDELE x","paths":["/"],"tls":"ssl","insecure_skip_verify":1}`),
			"config.username", "config.tls", "config.insecure_skip_verify"),
		bad("mysql every problem at once", typedBody(sdk.SourceMySQL, b.Credential,
			`{"host":"db","socket":"rel.sock","username":"","databases":["ok","bad\nname","mysql"],"all_databases":true,
			  "tls":"on","ssh":{"host":"bastion","port":70000,"username":"t","credential_id":"`+b.Credential+`","host_key":"x"}}`),
			"credential_id", "config.socket", "config.username", "config.databases", "config.databases[1]", "config.databases[2]",
			"config.tls", "config.ssh.port", "config.ssh.credential_id", "config.ssh.host_key"),
		bad("mysql ssh credential of another tenant", typedBody(sdk.SourceMySQL, a.Credential,
			`{"username":"u","databases":["a"],"ssh":{"host":"b","username":"t","credential_id":"`+b.Credential+`"}}`),
			"config.ssh.credential_id"),
		bad("mysql ssh unknown key", typedBody(sdk.SourceMySQL, a.Credential,
			`{"username":"u","databases":["a"],"ssh":{"host":"b","username":"t","credential_id":"`+a.Credential+`","Password":"x"}}`),
			"config.ssh.Password"),
		bad("postgres bad choices", typedBody(sdk.SourcePostgres, a.Credential,
			`{"host":"h","username":"u","databases":["dbname=x host=evil"],"exclude_databases":["y"],"sslmode":"on","format":"tar"}`),
			"config.databases[0]", "config.exclude_databases", "config.sslmode", "config.format"),
		bad("wordpress bad db settings", typedBody(sdk.SourceWordPress, a.Credential,
			`{"host":"h","username":"u","path":"www","db_host":"db:0","db_credential_id":"`+b.Credential+`"}`),
			"config.path", "config.db_host", "config.db_credential_id"),
		bad("local with a credential", typedBody(sdk.SourceLocal, a.Credential, `{"paths":["/srv","tmp"]}`),
			"credential_id", "config.paths[1]"),
		bad("local config not an object", typedBody(sdk.SourceLocal, "", `["/srv"]`), "config"),
	}
}

// TestSourceTypesStoreNormalizedConfigs: each type's config comes back
// normalized (defaults filled in); credentials named inside a config must
// be the tenant's and of the right kind.
func TestSourceTypesStoreNormalizedConfigs(t *testing.T) {
	e := newEnv(t, "sqlite")
	a := e.newTenant("alpha")
	var key sdk.Credential
	e.call("POST", "/api/v1/credentials", a.Owner, sdk.CreateCredentialRequest{Name: "key", Kind: sdk.CredentialSSHPrivateKey,
		PrivateKey: testPrivateKey(t)}, 201, &key)

	for _, tc := range []struct {
		typ          sdk.SourceType
		cred, config string
		want         string
	}{
		{sdk.SourceLocal, "", `{"paths":["/srv"],"exclude":[]}`, `{"paths":["/srv"]}`},
		{sdk.SourceFTP, a.Credential, `{"host":"ftp.example.com","username":"u@example.com","paths":["/"],"tls":"implicit"}`,
			`{"host":"ftp.example.com","port":990,"username":"u@example.com","paths":["/"],"tls":"implicit"}`},
		{sdk.SourceMySQL, a.Credential, `{"username":"u","databases":["shop"],"ssh":{"host":"b","username":"t","credential_id":"` + key.ID + `"}}`,
			`{"host":"127.0.0.1","port":3306,"username":"u","databases":["shop"],"tls":"preferred",
			  "ssh":{"host":"b","port":22,"username":"t","credential_id":"` + key.ID + `"}}`},
		{sdk.SourcePostgres, a.Credential, `{"host":"pg","username":"postgres","all_databases":true}`,
			`{"host":"pg","port":5432,"username":"postgres","all_databases":true,"sslmode":"prefer","format":"plain"}`},
		{sdk.SourceWordPress, key.ID, `{"host":"web","username":"deploy","path":"/var/www","db_credential_id":"` + a.Credential + `"}`,
			`{"host":"web","port":22,"username":"deploy","path":"/var/www","db_credential_id":"` + a.Credential + `"}`},
	} {
		var src sdk.Source
		e.call("POST", "/api/v1/sources", a.Owner, typedBody(tc.typ, tc.cred, tc.config), 201, &src)
		require.JSONEq(t, tc.want, string(src.Config), "%s", tc.typ)
		var got sdk.Source
		e.call("GET", "/api/v1/sources/"+src.ID, a.Owner, nil, 200, &got)
		require.JSONEq(t, tc.want, string(got.Config), "%s as stored", tc.typ)
	}

	// A database password must be a password credential, and so must a
	// wordpress db_credential_id; an ssh block takes either kind.
	apiErr := e.apiErr("POST", "/api/v1/sources", a.Owner, typedBody(sdk.SourceMySQL, key.ID, `{"host":"h","username":"u","databases":["a"]}`), 400)
	require.Contains(t, apiErr.Fields["credential_id"], "must be a password credential")
	apiErr = e.apiErr("POST", "/api/v1/sources", a.Owner, typedBody(sdk.SourceWordPress, key.ID,
		`{"host":"web","username":"deploy","path":"/var/www","db_credential_id":"`+key.ID+`"}`), 400)
	require.Equal(t, []string{"config.db_credential_id"}, fieldKeys(apiErr))

	// PATCH validates the merged source like a new one.
	var pg sdk.Source
	e.call("POST", "/api/v1/sources", a.Owner, namedBody("pg2", sdk.SourcePostgres, a.Credential, `{"host":"pg","username":"u","databases":["a"]}`), 201, &pg)
	apiErr = e.apiErr("PATCH", "/api/v1/sources/"+pg.ID, a.Owner, `{"config":{"host":"pg","username":"u","databases":["a"],"format":"zip"}}`, 400)
	require.Equal(t, []string{"config.format"}, fieldKeys(apiErr))
	var upd sdk.Source
	e.call("PATCH", "/api/v1/sources/"+pg.ID, a.Owner, `{"config":{"host":"pg","username":"u","databases":["a"],"format":"custom"}}`, 200, &upd)
	require.JSONEq(t, `{"host":"pg","port":5432,"username":"u","databases":["a"],"sslmode":"prefer","format":"custom"}`, string(upd.Config))
}

func fieldKeys(e *sdk.Error) []string {
	var keys []string
	for k := range e.Fields {
		keys = append(keys, k)
	}
	return keys
}

func testPrivateKey(t *testing.T) string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	return string(pem.EncodeToMemory(block))
}
