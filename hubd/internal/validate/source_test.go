package validate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

func TestCheckSourceEveryType(t *testing.T) {
	t.Parallel()
	cases := []struct {
		typ          sdk.SourceType
		cred, config string
		want         string   // normalized config, when accepted
		fields       []string // else these problems
	}{
		{sdk.SourceLocal, "", `{"paths":["/srv"]}`, `{"paths":["/srv"]}`, nil},
		{sdk.SourceLocal, "c1", `{"paths":["/srv"]}`, "", []string{"credential_id"}},
		{sdk.SourceFTP, "c1", `{"host":"h","username":"u","paths":["/"]}`,
			`{"host":"h","port":21,"username":"u","paths":["/"],"tls":"none"}`, nil},
		{sdk.SourceFTP, "", `{"host":"h","username":"u","paths":["/"]}`, "", []string{"credential_id"}},
		{sdk.SourceMySQL, "c1", `{"socket":"/run/mysqld/mysqld.sock","username":"root","databases":["a"]}`,
			`{"socket":"/run/mysqld/mysqld.sock","username":"root","databases":["a"],"tls":"preferred"}`, nil},
		{sdk.SourceMySQL, "", `{"host":"h","username":"u","databases":["a"],"ssh":{"host":"b"}}`, "",
			[]string{"config.ssh.credential_id", "config.ssh.username", "credential_id"}},
		{sdk.SourcePostgres, "c1", `{"host":"h","username":"u","databases":["a"]}`,
			`{"host":"h","port":5432,"username":"u","databases":["a"],"sslmode":"prefer","format":"plain"}`, nil},
		{sdk.SourcePostgres, "c1", `{"host":"h","username":"u"}`, "", []string{"config.databases"}},
		{sdk.SourceWordPress, "c1", `{"host":"h","username":"u","path":"/w"}`,
			`{"host":"h","port":22,"username":"u","path":"/w"}`, nil},
		{sdk.SourceWordPress, "", `[]`, "", []string{"config", "credential_id"}},
		{sdk.SourceSFTP, "c1", `{"host":"h","username":"u","paths":["/"]}`, `{"host":"h","port":22,"username":"u","paths":["/"]}`, nil},
	}
	for _, tc := range cases {
		res, f := CheckSource(Source{Type: tc.typ, Name: "n", Status: sdk.SourceActive, CredentialID: tc.cred,
			Config: json.RawMessage(tc.config)})
		if tc.fields == nil {
			require.Empty(t, f, "%s %s", tc.typ, tc.config)
			require.JSONEq(t, tc.want, string(res.Config), "%s", tc.typ)
			continue
		}
		require.Nil(t, res)
		require.Equal(t, tc.fields, sortedKeys(f), "%s %s: %v", tc.typ, tc.config, f)
	}
}

func TestCheckSourceBoundsConfig(t *testing.T) {
	t.Parallel()
	big := `{"paths":["/a"],"exclude":["` + strings.Repeat("x", MaxConfigBytes) + `"]}`
	_, f := CheckSource(Source{Type: sdk.SourceLocal, Name: "n", Status: sdk.SourceActive, Config: json.RawMessage(big)})
	require.Equal(t, Fields{"config": "must be at most 64 KiB"}, f)
}

func TestCredentialRefs(t *testing.T) {
	t.Parallel()
	refs := func(typ sdk.SourceType, cred, config string) []CredentialRef {
		return Source{Type: typ, CredentialID: cred, Config: json.RawMessage(config)}.CredentialRefs()
	}
	require.Equal(t, []CredentialRef{{"credential_id", "k", ""}}, refs(sdk.SourceSFTP, "k", `{}`))
	require.Empty(t, refs(sdk.SourceLocal, "", `{"paths":["/"]}`))
	require.Equal(t, []CredentialRef{{"credential_id", "p", sdk.CredentialPassword}}, refs(sdk.SourceFTP, "p", `{}`))
	require.Equal(t, []CredentialRef{{"credential_id", "p", sdk.CredentialPassword}, {"config.ssh.credential_id", "k", ""}},
		refs(sdk.SourceMySQL, "p", `{"ssh":{"credential_id":"k"}}`))
	require.Equal(t, []CredentialRef{{"credential_id", "p", sdk.CredentialPassword}, {"config.ssh.credential_id", "k", ""}},
		refs(sdk.SourcePostgres, "p", `{"port":"not a number","ssh":{"credential_id":"k"}}`), "a bad config still names its credentials")
	require.Equal(t, []CredentialRef{{"credential_id", "k", ""}, {"config.db_credential_id", "d", sdk.CredentialPassword}},
		refs(sdk.SourceWordPress, "k", `{"db_credential_id":"d"}`))
	require.Equal(t, []CredentialRef{{"credential_id", "k", ""}}, refs(sdk.SourceSFTP, "k", `{"db_credential_id":"d"}`),
		"only the types that have the field")
	require.Empty(t, refs(sdk.SourceMySQL, "", `"x"`))
}
