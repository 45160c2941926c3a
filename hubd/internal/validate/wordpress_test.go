package validate

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

func TestWordPressConfig(t *testing.T) {
	t.Parallel()
	runConfigCases(t, WordPressConfig, []configCase{
		{name: "minimal", config: `{"host":"web1","username":"deploy","path":"/var/www/html"}`,
			want: `{"host":"web1","port":22,"username":"deploy","path":"/var/www/html"}`},
		{name: "everything set", config: `{"host":"web1","port":2222,"username":"deploy","path":"/srv/site","exclude":["*.zip"],
			"host_key":"` + testHostKey + `","db_host":"db.internal:3307","db_credential_id":"c2"}`},
		{name: "missing", config: `{}`, fields: []string{"host", "username", "path"}},
		{name: "relative path", config: `{"host":"h","username":"u","path":"www"}`, fields: []string{"path"}},
		{name: "unclean path", config: `{"host":"h","username":"u","path":"/var/www/"}`, fields: []string{"path"}},
		{name: "paths is not a field", config: `{"host":"h","username":"u","paths":["/var/www"]}`, fields: []string{"paths", "path"}},
		{name: "bad host key", config: `{"host":"h","username":"u","path":"/w","host_key":"SHA256:x"}`, fields: []string{"host_key"}},
		{name: "bad glob", config: `{"host":"h","username":"u","path":"/w","exclude":["[z"]}`, fields: []string{"exclude[0]"}},
		{name: "bad db host", config: `{"host":"h","username":"u","path":"/w","db_host":"db:99999"}`, fields: []string{"db_host"}},
		{name: "bad db credential", config: `{"host":"h","username":"u","path":"/w","db_credential_id":"x\ny"}`, fields: []string{"db_credential_id"}},
		{name: "user with at", config: `{"host":"h","username":"u@h","path":"/w"}`, fields: []string{"username"}},
	})
}

func TestDBHost(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"localhost", "db.example.com", "10.0.0.5", "db:3306", "127.0.0.1:3307",
		"localhost:/run/mysqld/mysqld.sock", ":/tmp/mysql.sock", "[::1]", "[::1]:3306", "::1", "2001:db8::5",
		"[fe80::1%eth0]:3306", "db_1.internal"} {
		require.Empty(t, dbHostProblem(ok), ok)
	}
	for _, bad := range []string{"db:", "db:0", "db:65536", "db:33o6", "db:-1", "[::1", "[::1]3306", "[::1]:",
		"[10.0.0.1]:3306", "2001:db8::zz", "db.example.com:/tmp/x.sock", "localhost:/tmp/../x.sock",
		"localhost:/" + strings.Repeat("s", 107), "db host", "db\n", "db;rm -rf", "user@db", "db/x",
		"localhost:relative.sock", strings.Repeat("a", 256)} {
		require.NotEmpty(t, dbHostProblem(bad), bad)
	}
}

func FuzzWordPressConfig(f *testing.F) {
	for _, s := range []string{
		`{"host":"h","username":"u","path":"/w"}`,
		`{"host":"h","port":22,"username":"u","path":"/w","exclude":["a"],"host_key":"` + testHostKey + `","db_host":"[::1]:3306","db_credential_id":"c"}`,
		`{"host":"h","username":"u","path":"/w","db_host":"localhost:/run/mysqld/mysqld.sock"}`, `{}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fuzzConfig(t, WordPressConfig, raw, func(c *sdk.WordPressConfig) {
			require.True(t, c.Port >= 1 && c.Port <= 65535)
			require.Empty(t, absPathProblem(c.Path))
			require.False(t, hasControl(c.DBHost) || strings.ContainsAny(c.DBHost, " \t"), "%q", c.DBHost)
		})
	})
}

// FuzzDBHost: the DB_HOST reader never panics, and what it accepts has no
// spaces or control characters and at most one socket part.
func FuzzDBHost(f *testing.F) {
	for _, s := range []string{"localhost", "db:3306", "localhost:/x.sock", "[::1]:3306", "::1", "[", ":/", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if dbHostProblem(s) != "" {
			return
		}
		require.False(t, hasControl(s) || strings.ContainsAny(s, " \t"), "%q", s)
		if i := strings.Index(s, ":/"); i >= 0 {
			require.Empty(t, socketPathProblem(s[i+1:]), "%q", s)
		}
	})
}
