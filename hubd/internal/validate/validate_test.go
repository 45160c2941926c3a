package validate

import (
	"encoding/json"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

func TestSSHConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		config string
		fields []string // empty: valid
	}{
		{"minimal", `{"host":"web-1.example.com","username":"u","paths":["/var/www"]}`, nil},
		{"ipv6 and pinned key", `{"host":"::1","port":2222,"username":"u","paths":["/"],"host_key":"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"}`, nil},
		{"missing everything", `{}`, []string{"host", "username", "paths"}},
		{"host with user", `{"host":"root@h","username":"u","paths":["/"]}`, []string{"host"}},
		{"host with slash", `{"host":"h/x","username":"u","paths":["/"]}`, []string{"host"}},
		{"host with port", `{"host":"h:22","username":"u","paths":["/"]}`, []string{"host"}},
		{"port too big", `{"host":"h","port":65536,"username":"u","paths":["/"]}`, []string{"port"}},
		{"port negative", `{"host":"h","port":-2,"username":"u","paths":["/"]}`, []string{"port"}},
		{"port float", `{"host":"h","port":22.5,"username":"u","paths":["/"]}`, []string{"port"}},
		{"relative path", `{"host":"h","username":"u","paths":["/ok","rel"]}`, []string{"paths[1]"}},
		{"dot dot", `{"host":"h","username":"u","paths":["/a/../b"]}`, []string{"paths[0]"}},
		{"unclean", `{"host":"h","username":"u","paths":["/a//b/"]}`, []string{"paths[0]"}},
		{"nul", `{"host":"h","username":"u","paths":["/a\u0000b"]}`, []string{"paths[0]"}},
		{"bad glob", `{"host":"h","username":"u","paths":["/"],"exclude":["*.log","[a-"]}`, []string{"exclude[1]"}},
		{"bad host key", `{"host":"h","username":"u","paths":["/"],"host_key":"SHA256:short"}`, []string{"host_key"}},
		{"unknown field", `{"host":"h","username":"u","paths":["/"],"password":"x"}`, []string{"password"}},
		{"case variant key", `{"host":"h","usernAme":"u","paths":["/"]}`, []string{"usernAme"}},
		{"transfer and compression", `{"host":"h","username":"u","paths":["/"],"transfer":"exec","compression":"none"}`, nil},
		{"every transfer", `{"host":"h","username":"u","paths":["/"],"transfer":"sftp","compression":"better"}`, nil},
		{"bad transfer", `{"host":"h","username":"u","paths":["/"],"transfer":"scp"}`, []string{"transfer"}},
		{"transfer case", `{"host":"h","username":"u","paths":["/"],"transfer":"EXEC"}`, []string{"transfer"}},
		{"bad compression", `{"host":"h","username":"u","paths":["/"],"compression":"max"}`, []string{"compression"}},
		{"compression key case", `{"host":"h","username":"u","paths":["/"],"Compression":"none"}`, []string{"Compression"}},
		{"incremental off", `{"host":"h","username":"u","paths":["/"],"incremental":false}`, nil},
		{"full every", `{"host":"h","username":"u","paths":["/"],"incremental":true,"full_every":"1d12h"}`, nil},
		{"full every bounds", `{"host":"h","username":"u","paths":["/"],"full_every":"1h"}`, nil},
		{"full every 365d", `{"host":"h","username":"u","paths":["/"],"full_every":"365d"}`, nil},
		{"full every too short", `{"host":"h","username":"u","paths":["/"],"full_every":"30m"}`, []string{"full_every"}},
		{"full every too long", `{"host":"h","username":"u","paths":["/"],"full_every":"366d"}`, []string{"full_every"}},
		{"full every go syntax", `{"host":"h","username":"u","paths":["/"],"full_every":"1.5h"}`, []string{"full_every"}},
		{"full every garbage", `{"host":"h","username":"u","paths":["/"],"full_every":"weekly"}`, []string{"full_every"}},
		{"incremental not a bool", `{"host":"h","username":"u","paths":["/"],"incremental":"no"}`, []string{"incremental"}},
		{"not an object", `["h"]`, []string{""}},
		{"trailing", `{"host":"h","username":"u","paths":["/"]} 1`, []string{""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, f := SSHConfig([]byte(tc.config))
			if len(tc.fields) == 0 {
				require.Empty(t, f)
				require.NotNil(t, cfg)
				require.NotZero(t, cfg.Port)
				return
			}
			require.Nil(t, cfg)
			require.Len(t, f, len(tc.fields), "%v", f)
			for _, k := range tc.fields {
				require.Contains(t, f, k)
			}
		})
	}
}

func TestSSHConfigDefaultsPort(t *testing.T) {
	cfg, f := SSHConfig([]byte(`{"host":"h","username":"u","paths":["/"]}`))
	require.Empty(t, f)
	require.Equal(t, 22, cfg.Port)
}

func TestCheckSourceReportsEverything(t *testing.T) {
	_, f := CheckSource(Source{Type: sdk.SourceSFTP, Name: strings.Repeat("n", 101), Status: sdk.SourceActive,
		Config: json.RawMessage(`{"host":"","port":0,"username":"u","paths":["x"]}`)})
	require.Equal(t, []string{"config.host", "config.paths[0]", "credential_id", "name"}, sortedKeys(f))
	_, f = CheckSource(Source{Type: sdk.SourceMySQL, Name: "db", Status: sdk.SourceActive, Config: json.RawMessage(`"x"`)})
	require.Contains(t, f, "config")
	_, f = CheckSource(Source{Type: sdk.SourceMySQL, Name: "db", Status: sdk.SourceActive, Config: json.RawMessage(`{ "a" : 1 }`)})
	require.Equal(t, []string{"config.a", "config.databases", "config.host", "config.username", "credential_id"}, sortedKeys(f))
}

func TestCredential(t *testing.T) {
	f := Credential(&sdk.CreateCredentialRequest{Name: "x", Kind: sdk.CredentialSSHPrivateKey, PrivateKey: "garbage secret"})
	require.Contains(t, f, "private_key")
	require.NotContains(t, f["private_key"], "garbage")
	require.Contains(t, Credential(&sdk.CreateCredentialRequest{Name: "x", Kind: "token"}), "kind")
	require.Empty(t, Credential(&sdk.CreateCredentialRequest{Name: "x", Kind: sdk.CredentialPassword, Password: "p"}))
}

func sortedKeys(f Fields) []string {
	out := make([]string, 0, len(f))
	for k := range f {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// FuzzValidateSSHConfig: validation never panics, and whatever it accepts
// is normalized, stable under a second pass and meets every rule.
func FuzzValidateSSHConfig(f *testing.F) {
	for _, s := range []string{
		`{"host":"h","username":"u","paths":["/a"]}`,
		`{"host":"1.2.3.4","port":65535,"username":"u","paths":["/a","/b/c"],"exclude":["*.tmp","[ab]"],"host_key":"SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"}`,
		`{"host":"h","port":0,"username":"u","paths":["a/../b"]}`, `{}`, `[]`, `null`, `{"paths":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		cfg, fields := SSHConfig(raw)
		if len(fields) > 0 {
			require.Nil(t, cfg)
			return
		}
		require.NotNil(t, cfg)
		require.True(t, cfg.Port >= 1 && cfg.Port <= 65535)
		require.NotEmpty(t, cfg.Host)
		require.NotEmpty(t, cfg.Username)
		require.NotEmpty(t, cfg.Paths)
		require.Contains(t, []string{"", "auto", "exec", "sftp"}, cfg.Transfer)
		require.Contains(t, []string{"", "fastest", "default", "better", "none"}, cfg.Compression)
		for _, p := range cfg.Paths {
			require.True(t, strings.HasPrefix(p, "/") && path.Clean(p) == p && !strings.Contains(p, ".."+"/"), p)
		}
		again, err := json.Marshal(cfg)
		require.NoError(t, err)
		cfg2, fields2 := SSHConfig(again)
		require.Empty(t, fields2)
		require.Equal(t, cfg, cfg2)
	})
}
