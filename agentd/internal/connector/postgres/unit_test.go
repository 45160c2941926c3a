package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := sdk.PostgresConfig{Host: "db.example.com", Username: "u", Databases: []string{"shop"}}
	for _, tc := range []struct {
		name string
		edit func(*sdk.PostgresConfig)
		err  string
	}{
		{"ok", func(*sdk.PostgresConfig) {}, ""},
		{"ipv6", func(c *sdk.PostgresConfig) { c.Host = "2001:db8::1" }, ""},
		{"socket dir", func(c *sdk.PostgresConfig) { c.Host = "/var/run/postgresql" }, ""},
		{"no host", func(c *sdk.PostgresConfig) { c.Host = "" }, "host is required"},
		{"host list", func(c *sdk.PostgresConfig) { c.Host = "a.example,b.example" }, "not an IP address or a DNS name"},
		{"host with space", func(c *sdk.PostgresConfig) { c.Host = "a b" }, "not an IP address or a DNS name"},
		{"host conninfo", func(c *sdk.PostgresConfig) { c.Host = "x' hostaddr='1.2.3.4" }, "not an IP address"},
		{"unclean socket", func(c *sdk.PostgresConfig) { c.Host = "/var/run/../tmp" }, "clean absolute path"},
		{"port", func(c *sdk.PostgresConfig) { c.Port = 70000 }, "port 70000 out of range"},
		{"no user", func(c *sdk.PostgresConfig) { c.Username = "" }, "username is required"},
		{"long user", func(c *sdk.PostgresConfig) { c.Username = strings.Repeat("u", 64) }, "1-63 bytes"},
		{"sslmode", func(c *sdk.PostgresConfig) { c.SSLMode = "maybe" }, `sslmode "maybe"`},
		{"format", func(c *sdk.PostgresConfig) { c.Format = "tar" }, `format "tar"`},
		{"no databases", func(c *sdk.PostgresConfig) { c.Databases = nil }, "name the databases"},
		{"both", func(c *sdk.PostgresConfig) { c.AllDatabases = true }, "exclude each other"},
		{"exclude without all", func(c *sdk.PostgresConfig) { c.ExcludeDatabases = []string{"x"} }, "needs all_databases"},
		{"template", func(c *sdk.PostgresConfig) { c.Databases = []string{"template1"} }, "template database"},
		{"nul", func(c *sdk.PostgresConfig) { c.Databases = []string{"a\x00b"} }, "without NUL"},
		{"bad utf8", func(c *sdk.PostgresConfig) { c.Databases = []string{"\xff"} }, "valid UTF-8"},
		{"socket via ssh", func(c *sdk.PostgresConfig) {
			c.Host = "/run/pg"
			c.SSH = &sdk.DatabaseSSH{Host: "h", Username: "u"}
		}, "cannot be forwarded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := ok
			tc.edit(&cfg)
			err := validate(&cfg)
			if tc.err == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.err)
		})
	}
}

func TestValidateDefaults(t *testing.T) {
	t.Parallel()
	cfg := sdk.PostgresConfig{Username: "u", Databases: []string{"a", "b", "a"}, SSH: &sdk.DatabaseSSH{Host: "h"}}
	require.NoError(t, validate(&cfg))
	require.Equal(t, "127.0.0.1", cfg.Host)
	require.Equal(t, 5432, cfg.Port)
	require.Equal(t, "prefer", cfg.SSLMode)
	require.Equal(t, "plain", cfg.Format)
	require.Equal(t, []string{"a", "b"}, cfg.Databases)
}

func TestNewRefusesBadSecrets(t *testing.T) {
	t.Parallel()
	cfg := sdk.PostgresConfig{Host: "h", Username: "u", Databases: []string{"d"}}
	env := connector.Env{TempDir: t.TempDir()}
	_, err := New(cfg, "", &sdk.SecretPayload{Password: "a\nb"}, env)
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.ErrorContains(t, err, "line break")
	require.NotContains(t, err.Error(), "a\nb")
	_, err = New(cfg, "", nil, connector.Env{})
	require.ErrorContains(t, err, "no temp dir")
	_, err = New(cfg, "", nil, env)
	require.NoError(t, err, "no password: trust or peer authentication")
}

func TestConnString(t *testing.T) {
	t.Parallel()
	require.Equal(t, `host='h' dbname='it\'s \\ a = "db"'`, connString("host", "h", "dbname", `it's \ a = "db"`))
	require.Equal(t, "dbname='a\nb' user=''", connString("dbname", "a\nb", "user", ""))
}

func TestPassfileLine(t *testing.T) {
	t.Parallel()
	require.Equal(t, "", passfileLine(""))
	require.Equal(t, `*:*:*:*:a\:b\\c*`+"\n", passfileLine(`a:b\c*`))
}

func TestVersions(t *testing.T) {
	t.Parallel()
	for v, want := range map[string]int{"15.20": 1500, "17": 1700, "9.6.24": 906, "10.1": 1000, "9.2": 902} {
		require.Equal(t, want, majorNumber(v), v)
	}
	for num, want := range map[int]int{150020: 1500, 170002: 1700, 100001: 1000, 90624: 906} {
		require.Equal(t, want, serverMajor(num), num)
	}
	require.Equal(t, "15", majorName(1500))
	require.Equal(t, "9.6", majorName(906))
	m := toolVersionRE.FindStringSubmatch("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n")
	require.Equal(t, "15.20", m[1])
	require.Equal(t, "15.20", serverInfo{Version: "15.20 (Debian 15.20-0+deb12u1)"}.shortVersion())
}

func TestChooseToolset(t *testing.T) {
	t.Parallel()
	sets := []toolset{{dir: "/17", version: "17.2", major: 1700}, {dir: "/16", version: "16.6", major: 1600},
		{dir: "/14", version: "14.1", major: 1400}}
	for server, want := range map[int]string{1600: "/16", 1500: "/16", 1400: "/14", 1300: "/14", 1700: "/17", 906: "/14"} {
		got, err := chooseToolset(sets, server, "x")
		require.NoError(t, err)
		require.Equal(t, want, got.dir, server)
	}
	_, err := chooseToolset(sets, 1800, "18.1")
	require.ErrorIs(t, err, connector.ErrPermanent)
	require.EqualError(t, err, "pg_dump 17.2 (/17) is older than the server (PostgreSQL 18.1) and cannot dump it "+
		"(hint: install postgresql-client-18 on the agent): permanent failure")
}

func TestToolErrorDiagnoses(t *testing.T) {
	t.Parallel()
	s := &session{c: &Connector{password: "s3cret-pw"}}
	exit := errors.New("exit status 2")
	for _, tc := range []struct {
		stderr, hint string
		permanent    bool
	}{
		{`psql: error: connection to server at "db" (10.0.0.1), port 5432 failed: FATAL:  password authentication failed for user "u"`,
			"check the password", true},
		{`FATAL:  database "shop" does not exist`, "check the source's database names", true},
		{`FATAL:  role "u" does not exist`, "check the source's username", true},
		{`FATAL:  no pg_hba.conf entry for host "10.0.0.2", user "u", database "d", no encryption`, "pg_hba.conf", true},
		{"pg_dump: error: query failed: ERROR:  permission denied for table secret", "grant the privilege", true},
		{`server does not support SSL, but SSL was required`, "enable SSL", true},
		{`connection to server at "db" (10.0.0.1), port 5432 failed: Connection refused`, "", false},
		{"the password s3cret-pw leaked", "", false},
	} {
		err := s.toolError(context.Background(), "psql", exit, tc.stderr)
		require.Equal(t, tc.permanent, errors.Is(err, connector.ErrPermanent), tc.stderr)
		require.Contains(t, err.Error(), tc.hint)
		require.NotContains(t, err.Error(), "s3cret-pw")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, s.toolError(ctx, "pg_dump", exit, "killed"), context.Canceled)
}

func TestOutputCheck(t *testing.T) {
	t.Parallel()
	plain := "--\n-- PostgreSQL database dump\n--\n" + strings.Repeat("x", 5000) +
		"\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n\n"
	for _, chunk := range []int{1, 7, 1000, len(plain)} {
		o := &outputCheck{}
		for i := 0; i < len(plain); i += chunk {
			_, _ = o.Write([]byte(plain[i:min(i+chunk, len(plain))]))
		}
		require.NoError(t, o.verify("sql"), chunk)
		require.Error(t, o.verify("custom"))
	}
	cut := &outputCheck{}
	_, _ = cut.Write([]byte(plain[:len(plain)-100]))
	require.ErrorContains(t, cut.verify("sql"), "completion trailer")
	custom := &outputCheck{}
	_, _ = custom.Write([]byte("PG"))
	_, _ = custom.Write([]byte("DMP\x01\x0e"))
	require.NoError(t, custom.verify("custom"))
	require.ErrorContains(t, (&outputCheck{}).verify("globals"), "cluster dump complete")
}

func TestHeadBufferAndFirstLines(t *testing.T) {
	t.Parallel()
	h := &headBuffer{}
	n, err := h.Write([]byte(strings.Repeat("e", 3000)))
	require.NoError(t, err)
	require.Equal(t, 3000, n)
	_, _ = h.Write([]byte("more"))
	require.Len(t, h.String(), stderrLimit)
	require.Equal(t, "a; b; c", firstLines("a\n\n  b \nc\nd\n", 3))
	require.Equal(t, "x [redacted] y", redact("x secret y", "secret"))
	require.Equal(t, "x ab y", redact("x ab y", "ab"), "too short to redact without mangling")
}
