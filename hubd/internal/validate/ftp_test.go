package validate

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

func TestFTPConfig(t *testing.T) {
	t.Parallel()
	runConfigCases(t, FTPConfig, []configCase{
		{name: "minimal", config: `{"host":"ftp.example.com","username":"web","paths":["/"]}`,
			want: `{"host":"ftp.example.com","port":21,"username":"web","paths":["/"],"tls":"none"}`},
		{name: "implicit defaults to 990", config: `{"host":"h","username":"u","paths":["/"],"tls":"implicit"}`,
			want: `{"host":"h","port":990,"username":"u","paths":["/"],"tls":"implicit"}`},
		{name: "explicit keeps 21", config: `{"host":"h","username":"u","paths":["/"],"tls":"explicit","insecure_skip_verify":true}`,
			want: `{"host":"h","port":21,"username":"u","paths":["/"],"tls":"explicit","insecure_skip_verify":true}`},
		{name: "port given", config: `{"host":"10.0.0.5","port":2121,"username":"u","paths":["/"],"tls":"implicit"}`,
			want: `{"host":"10.0.0.5","port":2121,"username":"u","paths":["/"],"tls":"implicit"}`},
		{name: "panel user name", config: `{"host":"h","username":"backup@example.com","paths":["/public_html"],"exclude":["*.log"]}`},
		{name: "missing", config: `{}`, fields: []string{"host", "username", "paths"}},
		{name: "bad tls", config: `{"host":"h","username":"u","paths":["/"],"tls":"ssl"}`, fields: []string{"tls"}},
		{name: "tls case", config: `{"host":"h","username":"u","paths":["/"],"tls":"Explicit"}`, fields: []string{"tls"}},
		{name: "skip verify without tls", config: `{"host":"h","username":"u","paths":["/"],"insecure_skip_verify":true}`,
			fields: []string{"insecure_skip_verify"}},
		{name: "skip verify not bool", config: `{"host":"h","username":"u","paths":["/"],"insecure_skip_verify":"yes"}`,
			fields: []string{"insecure_skip_verify"}},
		{name: "crlf in user", config: `{"host":"h","username":"u\r\nDELE /x","paths":["/"]}`, fields: []string{"username"}},
		{name: "crlf in path", config: `{"host":"h","username":"u","paths":["/a\r\nDELE /b"]}`, fields: []string{"paths[0]"}},
		{name: "long user", config: `{"host":"h","username":"` + strings.Repeat("u", 256) + `","paths":["/"]}`, fields: []string{"username"}},
		{name: "port range", config: `{"host":"h","port":0.5,"username":"u","paths":["/"]}`, fields: []string{"port"}},
		{name: "host url", config: `{"host":"ftp://h","username":"u","paths":["/"]}`, fields: []string{"host"}},
		{name: "password in config", config: `{"host":"h","username":"u","paths":["/"],"password":"x"}`, fields: []string{"password"}},
		{name: "everything", config: `{"Host":"h","host":"a b","port":70000,"username":"","paths":["rel"],"exclude":["["],"tls":"x"}`,
			fields: []string{"host", "port", "username", "paths[0]", "exclude[0]", "tls", "Host"}},
	})
}

func FuzzFTPConfig(f *testing.F) {
	for _, s := range []string{
		`{"host":"h","username":"u","paths":["/a"]}`,
		`{"host":"::1","port":990,"username":"u@x","paths":["/a","/b"],"exclude":["*"],"tls":"implicit","insecure_skip_verify":true}`,
		`{"host":"h","username":"u","paths":["/a"],"tls":"explicit"}`, `{}`, `{"tls":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		fuzzConfig(t, FTPConfig, raw, func(c *sdk.FTPConfig) {
			require.True(t, c.Port >= 1 && c.Port <= 65535)
			require.Contains(t, []string{"none", "explicit", "implicit"}, c.TLS)
			require.False(t, c.InsecureSkipVerify && c.TLS == "none")
			require.NotEmpty(t, c.Host)
			require.False(t, hasControl(c.Username), c.Username)
			for _, p := range c.Paths {
				require.False(t, hasControl(p), p)
			}
		})
	})
}
