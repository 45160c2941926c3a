package validate

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

const sshBlock = `{"host":"bastion.example.com","username":"tunnel","credential_id":"c1"}`

func TestMySQLConfig(t *testing.T) {
	t.Parallel()
	runConfigCases(t, MySQLConfig, []configCase{
		{name: "minimal", config: `{"host":"db1","username":"backup","databases":["shop"]}`,
			want: `{"host":"db1","port":3306,"username":"backup","databases":["shop"],"tls":"preferred"}`},
		{name: "socket", config: `{"socket":"/run/mysqld/mysqld.sock","username":"root","all_databases":true,"exclude_databases":["test"]}`,
			want: `{"socket":"/run/mysqld/mysqld.sock","username":"root","all_databases":true,"exclude_databases":["test"],"tls":"preferred"}`},
		{name: "through ssh defaults host", config: `{"username":"u","databases":["a"],"tls":"disabled","ssh":` + sshBlock + `}`,
			want: `{"host":"127.0.0.1","port":3306,"username":"u","databases":["a"],"tls":"disabled",
				"ssh":{"host":"bastion.example.com","port":22,"username":"tunnel","credential_id":"c1"}}`},
		{name: "through ssh with host", config: `{"host":"db.internal","port":3307,"username":"u","databases":["a"],"ssh":{"host":"b","port":2222,"username":"t","credential_id":"c1","host_key":"` + testHostKey + `"}}`},
		{name: "hostile but valid names", config: `{"host":"h","username":"o'brien;$(id)` + "`x`" + `","databases":["shop; DROP","$(touch /tmp/p)","a'b\"c","wp_2","ünïcode","a.b/c\\d"]}`},
		{name: "every tls", config: `{"host":"h","username":"u","databases":["a"],"tls":"verify_ca"}`},
		{name: "required tls", config: `{"host":"h","username":"u","databases":["a"],"tls":"required"}`},
		{name: "missing", config: `{}`, fields: []string{"host", "username", "databases"}},
		{name: "host and socket", config: `{"host":"h","socket":"/s.sock","username":"u","databases":["a"]}`, fields: []string{"socket"}},
		{name: "port and socket", config: `{"port":3306,"socket":"/s.sock","username":"u","databases":["a"]}`, fields: []string{"socket"}},
		{name: "socket with ssh", config: `{"socket":"/s.sock","username":"u","databases":["a"],"ssh":` + sshBlock + `}`, fields: []string{"socket"}},
		{name: "relative socket", config: `{"socket":"mysql.sock","username":"u","databases":["a"]}`, fields: []string{"socket"}},
		{name: "long socket", config: `{"socket":"/` + strings.Repeat("s", 107) + `","username":"u","databases":["a"]}`, fields: []string{"socket"}},
		{name: "both selections", config: `{"host":"h","username":"u","databases":["a"],"all_databases":true}`, fields: []string{"databases"}},
		{name: "exclude without all", config: `{"host":"h","username":"u","databases":["a"],"exclude_databases":["b"]}`, fields: []string{"exclude_databases"}},
		{name: "empty name", config: `{"host":"h","username":"u","databases":["a",""]}`, fields: []string{"databases[1]"}},
		{name: "newline name", config: `{"host":"h","username":"u","databases":["a\nb"]}`, fields: []string{"databases[0]"}},
		{name: "nul name", config: `{"host":"h","username":"u","databases":["a\u0000"]}`, fields: []string{"databases[0]"}},
		{name: "trailing space", config: `{"host":"h","username":"u","databases":["shop "]}`, fields: []string{"databases[0]"}},
		{name: "leading dash", config: `{"host":"h","username":"u","databases":["--result-file=/x"]}`, fields: []string{"databases[0]"}},
		{name: "emoji name", config: `{"host":"h","username":"u","databases":["db😀"]}`, fields: []string{"databases[0]"}},
		{name: "65 chars", config: `{"host":"h","username":"u","databases":["` + strings.Repeat("é", 65) + `"]}`, fields: []string{"databases[0]"}},
		{name: "64 chars", config: `{"host":"h","username":"u","databases":["` + strings.Repeat("é", 64) + `"]}`},
		{name: "system schema", config: `{"host":"h","username":"u","databases":["MySQL","sys"]}`, fields: []string{"databases[0]", "databases[1]"}},
		{name: "excluding a system schema", config: `{"host":"h","username":"u","all_databases":true,"exclude_databases":["sys"]}`},
		{name: "duplicate", config: `{"host":"h","username":"u","databases":["a","b","a"]}`, fields: []string{"databases[2]"}},
		{name: "user control char", config: `{"host":"h","username":"u\u001b[31m","databases":["a"]}`, fields: []string{"username"}},
		{name: "user 81 chars", config: `{"host":"h","username":"` + strings.Repeat("u", 81) + `","databases":["a"]}`, fields: []string{"username"}},
		{name: "bad tls", config: `{"host":"h","username":"u","databases":["a"],"tls":"verify_identity"}`, fields: []string{"tls"}},
		{name: "bad ssh block", config: `{"username":"u","databases":["a"],"ssh":{"host":"a b","port":0,"username":"x@y","host_key":"MD5:x"}}`,
			fields: []string{"ssh.host", "ssh.username", "ssh.credential_id", "ssh.host_key"}},
		{name: "ssh port type", config: `{"username":"u","databases":["a"],"ssh":{"host":"b","port":"22","username":"t","credential_id":"c"}}`,
			fields: []string{"ssh.port"}},
		{name: "ssh unknown key", config: `{"username":"u","databases":["a"],"ssh":{"host":"b","username":"t","credential_id":"c","password":"x","Port":22}}`,
			fields: []string{"ssh.password", "ssh.Port"}},
		{name: "ssh not object", config: `{"username":"u","databases":["a"],"ssh":"bastion"}`, fields: []string{"ssh", "host"}},
		{name: "bad credential id", config: `{"username":"u","databases":["a"],"ssh":{"host":"b","username":"t","credential_id":"a b"}}`,
			fields: []string{"ssh.credential_id"}},
	})
}

func TestPostgresConfig(t *testing.T) {
	t.Parallel()
	runConfigCases(t, PostgresConfig, []configCase{
		{name: "minimal", config: `{"host":"pg1","username":"postgres","databases":["test"]}`,
			want: `{"host":"pg1","port":5432,"username":"postgres","databases":["test"],"sslmode":"prefer","format":"plain"}`},
		{name: "all with custom format", config: `{"host":"pg1","port":6432,"username":"u","all_databases":true,"exclude_databases":["postgres"],"sslmode":"verify-full","format":"custom"}`,
			want: `{"host":"pg1","port":6432,"username":"u","all_databases":true,"exclude_databases":["postgres"],"sslmode":"verify-full","format":"custom"}`},
		{name: "through ssh", config: `{"username":"u","databases":["a"],"ssh":` + sshBlock + `}`,
			want: `{"host":"127.0.0.1","port":5432,"username":"u","databases":["a"],"sslmode":"prefer","format":"plain",
				"ssh":{"host":"bastion.example.com","port":22,"username":"tunnel","credential_id":"c1"}}`},
		{name: "hostile but valid names", config: `{"host":"h","username":"o'brien; $(id)","databases":["a;b","$(x)","q\"uote","db😀"]}`},
		{name: "every sslmode", config: `{"host":"h","username":"u","databases":["a"],"sslmode":"disable"}`},
		{name: "missing", config: `{}`, fields: []string{"host", "username", "databases"}},
		{name: "socket not a field", config: `{"socket":"/tmp","username":"u","databases":["a"]}`, fields: []string{"socket", "host"}},
		{name: "bad sslmode", config: `{"host":"h","username":"u","databases":["a"],"sslmode":"verify_full"}`, fields: []string{"sslmode"}},
		{name: "bad format", config: `{"host":"h","username":"u","databases":["a"],"format":"tar"}`, fields: []string{"format"}},
		{name: "conninfo name", config: `{"host":"h","username":"u","databases":["dbname=x host=evil"]}`, fields: []string{"databases[0]"}},
		{name: "uri name", config: `{"host":"h","username":"u","databases":["postgresql://evil/x"]}`, fields: []string{"databases[0]"}},
		{name: "template0", config: `{"host":"h","username":"u","databases":["template0"]}`, fields: []string{"databases[0]"}},
		{name: "64 bytes", config: `{"host":"h","username":"u","databases":["` + strings.Repeat("d", 64) + `"]}`, fields: []string{"databases[0]"}},
		{name: "63 bytes", config: `{"host":"h","username":"u","databases":["` + strings.Repeat("d", 63) + `"]}`},
		{name: "long user", config: `{"host":"h","username":"` + strings.Repeat("u", 64) + `","databases":["a"]}`, fields: []string{"username"}},
		{name: "newline user", config: `{"host":"h","username":"u\n","databases":["a"]}`, fields: []string{"username"}},
		{name: "exclude bad", config: `{"host":"h","username":"u","all_databases":true,"exclude_databases":["","-x"]}`,
			fields: []string{"exclude_databases[0]", "exclude_databases[1]"}},
		{name: "neither selection", config: `{"host":"h","username":"u","all_databases":false,"databases":[]}`, fields: []string{"databases"}},
		{name: "ssh incomplete", config: `{"username":"u","databases":["a"],"ssh":{}}`,
			fields: []string{"ssh.host", "ssh.username", "ssh.credential_id"}},
	})
}

func FuzzMySQLConfig(f *testing.F) {
	for _, s := range []string{
		`{"host":"h","username":"u","databases":["a"]}`,
		`{"socket":"/run/mysqld/mysqld.sock","username":"root","all_databases":true,"exclude_databases":["x"],"tls":"disabled"}`,
		`{"username":"u","databases":["a","b"],"ssh":{"host":"b","port":2222,"username":"t","credential_id":"c","host_key":"` + testHostKey + `"}}`,
		`{}`, `{"ssh":null}`, `{"ssh":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fuzzConfig(t, MySQLConfig, raw, func(c *sdk.MySQLConfig) {
			require.True(t, (c.Socket == "") != (c.Host == ""), "socket %q host %q", c.Socket, c.Host)
			require.True(t, c.Socket != "" || (c.Port >= 1 && c.Port <= 65535))
			require.False(t, c.Socket != "" && c.SSH != nil)
			require.Contains(t, []string{"preferred", "required", "verify_ca", "disabled"}, c.TLS)
			checkFuzzedSelection(t, c.Databases, c.AllDatabases, c.ExcludeDatabases)
			checkFuzzedSSH(t, c.SSH)
		})
	})
}

func FuzzPostgresConfig(f *testing.F) {
	for _, s := range []string{
		`{"host":"h","username":"u","databases":["a"]}`,
		`{"host":"::1","port":1,"username":"u","all_databases":true,"exclude_databases":["x"],"sslmode":"require","format":"custom"}`,
		`{"username":"u","databases":["a"],"ssh":{"host":"b","username":"t","credential_id":"c"}}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fuzzConfig(t, PostgresConfig, raw, func(c *sdk.PostgresConfig) {
			require.NotEmpty(t, c.Host)
			require.True(t, c.Port >= 1 && c.Port <= 65535)
			require.Contains(t, []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}, c.SSLMode)
			require.Contains(t, []string{"plain", "custom"}, c.Format)
			checkFuzzedSelection(t, c.Databases, c.AllDatabases, c.ExcludeDatabases)
			for _, db := range c.Databases {
				require.NotContains(t, db, "=")
			}
			checkFuzzedSSH(t, c.SSH)
		})
	})
}

func checkFuzzedSelection(t *testing.T, dbs []string, all bool, exclude []string) {
	require.True(t, all != (len(dbs) > 0))
	require.True(t, all || len(exclude) == 0)
	for _, db := range append(append([]string{}, dbs...), exclude...) {
		require.NotEmpty(t, db)
		require.False(t, hasControl(db) || strings.HasPrefix(db, "-"), "%q", db)
	}
}

func checkFuzzedSSH(t *testing.T, s *sdk.DatabaseSSH) {
	if s == nil {
		return
	}
	require.NotEmpty(t, s.Host)
	require.NotEmpty(t, s.Username)
	require.NotEmpty(t, s.CredentialID)
	require.True(t, s.Port >= 1 && s.Port <= 65535)
	require.True(t, s.HostKey == "" || HostKeyFingerprint(s.HostKey))
}
