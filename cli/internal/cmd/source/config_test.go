package source

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/cli/internal/cmdutil"
	"github.com/xvault/xvault/sdk"
)

// create parses `xv source create ARGS` and returns the request it would send.
func create(t *testing.T, args ...string) (*sdk.CreateSourceRequest, error) {
	t.Helper()
	opts := &createOptions{}
	app := &cli.App{Flags: opts.flags(), Action: opts.build, DisableSliceFlagSeparator: true /* as root */, HideHelp: true}
	if err := app.Run(append([]string{"xv"}, args...)); err != nil {
		return nil, err
	}
	return &opts.req, nil
}

// update parses `xv source update ARGS ID` and applies its config edits to
// the current config cur of a source of type typ.
func update(t *testing.T, typ sdk.SourceType, cur string, args ...string) (string, error) {
	t.Helper()
	opts := &updateOptions{Config: configFlags{update: true}}
	cfg := map[string]any{}
	require.NoError(t, json.Unmarshal([]byte(cur), &cfg))
	app := &cli.App{DisableSliceFlagSeparator: true, HideHelp: true, Flags: opts.flags(), Action: func(c *cli.Context) error {
		if err := opts.check(c); err != nil {
			return err
		}
		return opts.apply(typ, cfg)
	}}
	if err := app.Run(append([]string{"xv"}, args...)); err != nil {
		return "", err
	}
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	return string(b), nil
}

func TestCreateFlagsMakeConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"sftp", []string{"--type", "sftp", "--host", "web1", "--user", "backup", "--path", "/var/www", "--path", "/etc",
			"--exclude", "*.log", "--host-key", "SHA256:abc", "--transfer", "exec", "--compression", "none"},
			`{"host":"web1","port":22,"username":"backup","paths":["/var/www","/etc"],"exclude":["*.log"],
			  "host_key":"SHA256:abc","transfer":"exec","compression":"none"}`},
		{"ssh fulls only", []string{"--type", "ssh", "--host", "h", "--user", "u", "--path", "/w", "--incremental=false"},
			`{"host":"h","port":22,"username":"u","paths":["/w"],"incremental":false}`},
		{"ssh full every", []string{"--type", "ssh", "--host", "h", "--user", "u", "--path", "/w", "--full-every", "30d"},
			`{"host":"h","port":22,"username":"u","paths":["/w"],"full_every":"30d"}`},
		{"ssh with --username", []string{"--type", "ssh", "--host", "h", "--username", "u", "--path", "/", "--port", "2222"},
			`{"host":"h","port":2222,"username":"u","paths":["/"]}`},
		{"local", []string{"--type", "local", "--path", "/srv/data", "--exclude", "cache/*"},
			`{"paths":["/srv/data"],"exclude":["cache/*"]}`},
		{"ftp", []string{"--type", "ftp", "--host", "ftp.example.com", "--user", "u@example.com", "--path", "/public_html",
			"--tls", "explicit", "--insecure-skip-verify", "--exclude", "*.zip"},
			`{"host":"ftp.example.com","username":"u@example.com","paths":["/public_html"],"tls":"explicit",
			  "insecure_skip_verify":true,"exclude":["*.zip"]}`},
		{"ftp port", []string{"--type", "ftp", "--host", "h", "--user", "u", "--path", "/", "--port", "2121"},
			`{"host":"h","port":2121,"username":"u","paths":["/"]}`},
		{"mysql host", []string{"--type", "mysql", "--host", "db1", "--port", "3307", "--user", "backup",
			"--database", "shop", "--database", "blog", "--tls", "required"},
			`{"host":"db1","port":3307,"username":"backup","databases":["shop","blog"],"tls":"required"}`},
		{"mysql socket all", []string{"--type", "mysql", "--socket", "/run/mysqld/mysqld.sock", "--user", "root",
			"--all-databases", "--exclude-database", "test"},
			`{"socket":"/run/mysqld/mysqld.sock","username":"root","all_databases":true,"exclude_databases":["test"]}`},
		{"mysql through ssh", []string{"--type", "mysql", "--user", "u", "--database", "d", "--ssh-host", "bastion",
			"--ssh-port", "2222", "--ssh-user", "tunnel", "--ssh-credential", "cred_2", "--ssh-host-key", "SHA256:k"},
			`{"username":"u","databases":["d"],"ssh":{"host":"bastion","port":2222,"username":"tunnel",
			  "credential_id":"cred_2","host_key":"SHA256:k"}}`},
		{"postgres", []string{"--type", "postgres", "--host", "pg", "--user", "postgres", "--database", "test",
			"--sslmode", "require", "--format", "custom"},
			`{"host":"pg","username":"postgres","databases":["test"],"sslmode":"require","format":"custom"}`},
		{"postgres through ssh", []string{"--type", "postgres", "--user", "u", "--all-databases", "--ssh-host", "b",
			"--ssh-user", "t", "--ssh-credential", "c"},
			`{"username":"u","all_databases":true,"ssh":{"host":"b","username":"t","credential_id":"c"}}`},
		{"wordpress", []string{"--type", "wordpress", "--host", "web1", "--user", "deploy", "--path", "/var/www/blog",
			"--exclude", "*.zip", "--host-key", "SHA256:k", "--db-host", "localhost:/run/mysqld/mysqld.sock",
			"--db-credential", "cred_3"},
			`{"host":"web1","username":"deploy","path":"/var/www/blog","exclude":["*.zip"],"host_key":"SHA256:k",
			  "db_host":"localhost:/run/mysqld/mysqld.sock","db_credential_id":"cred_3"}`},
		{"values exactly as typed", []string{"--type", "mysql", "--host", "h", "--user", "u", "--database", " shop ",
			"--database", "a,b", "--database", "x\ny"},
			`{"host":"h","username":"u","databases":[" shop ","a,b","x\ny"]}`},
		{"json as given", []string{"--type", "mysql", "--config-json", `{ "host": "db", "future": 1 }`},
			`{"host":"db","future":1}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := create(t, append([]string{"--name", "n", "--credential", "cred_1"}, tc.args...)...)
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(req.Config))
			require.Equal(t, "cred_1", req.CredentialID)
		})
	}
}

func TestCreateUsageErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"flag of another type", []string{"--type", "ftp", "--host", "h", "--user", "u", "--path", "/", "--socket", "/s"},
			"not for a ftp source: --socket (only mysql)"},
		{"several wrong flags", []string{"--type", "local", "--path", "/srv", "--host", "h", "--database", "d"},
			"not for a local source: --host (only ssh, sftp, ftp, mysql, postgres, wordpress), --database (only mysql, postgres)"},
		{"ssh flag on sftp", []string{"--type", "sftp", "--host", "h", "--user", "u", "--path", "/", "--ssh-host", "b"},
			"--ssh-host (only mysql, postgres)"},
		{"transfer on wordpress", []string{"--type", "wordpress", "--host", "h", "--user", "u", "--path", "/w", "--transfer", "exec"},
			"--transfer (only ssh, sftp)"},
		{"sslmode on mysql", []string{"--type", "mysql", "--host", "h", "--user", "u", "--database", "d", "--sslmode", "require"},
			"--sslmode (only postgres)"},
		{"tls on postgres", []string{"--type", "postgres", "--host", "h", "--user", "u", "--database", "d", "--tls", "required"},
			"--tls (only ftp, mysql)"},
		{"db-host on mysql", []string{"--type", "mysql", "--host", "h", "--user", "u", "--database", "d", "--db-host", "x"},
			"--db-host (only wordpress)"},
		{"insecure on sftp", []string{"--type", "sftp", "--host", "h", "--user", "u", "--path", "/", "--insecure-skip-verify"},
			"--insecure-skip-verify (only ftp)"},
		{"missing sftp", []string{"--type", "sftp"}, "needs --host, --user, --path (or the whole config"},
		{"missing mysql", []string{"--type", "mysql", "--host", "h"},
			"a --type mysql source needs --user, --database or --all-databases (or the whole config as --config-json/--config-file)"},
		{"missing mysql endpoint", []string{"--type", "mysql", "--user", "u", "--all-databases"},
			"needs --host or --socket or --ssh-host"},
		{"missing local", []string{"--type", "local"}, "a --type local source needs --path"},
		{"two wordpress paths", []string{"--type", "wordpress", "--host", "h", "--user", "u", "--path", "/a", "--path", "/b"},
			"takes one --path"},
		{"unknown type with flags", []string{"--type", "gopher", "--host", "h"}, `unknown source type "gopher"`},
		{"flags and json", []string{"--type", "mysql", "--host", "h", "--config-json", `{}`}, "not both"},
		{"json not object", []string{"--type", "mysql", "--config-json", `[1]`}, "must be a JSON object"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := create(t, append([]string{"--name", "n"}, tc.args...)...)
			requireUsage(t, err, tc.want)
		})
	}
}

func requireUsage(t *testing.T, err error, want string) {
	t.Helper()
	require.Error(t, err)
	var usage *cmdutil.UsageError
	require.True(t, errors.As(err, &usage), "want a usage error (exit 2), got %v", err)
	require.Equal(t, cmdutil.ExitUsage, cmdutil.ExitCode(err))
	require.Contains(t, err.Error(), want)
}

func TestUpdateMergesConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		typ     sdk.SourceType
		cur     string
		args    []string
		want    string
		wantErr string
	}{
		{name: "sftp keeps unknown fields", typ: sdk.SourceSFTP, cur: `{"host":"h","port":22,"username":"u","paths":["/a"],"transfer":"sftp","future":"kept"}`,
			args: []string{"--path", "/b", "--transfer", "", "--compression", "none"},
			want: `{"host":"h","port":22,"username":"u","paths":["/b"],"compression":"none","future":"kept"}`},
		{name: "sftp no-exclude", typ: sdk.SourceSFTP, cur: `{"host":"h","port":22,"username":"u","paths":["/a"],"exclude":["x"]}`,
			args: []string{"--no-exclude"}, want: `{"host":"h","port":22,"username":"u","paths":["/a"]}`},
		{name: "mysql databases replace all", typ: sdk.SourceMySQL,
			cur:  `{"host":"db","port":3306,"username":"u","all_databases":true,"exclude_databases":["t"],"tls":"preferred"}`,
			args: []string{"--database", "shop"}, want: `{"host":"db","port":3306,"username":"u","databases":["shop"],"tls":"preferred"}`},
		{name: "mysql all replaces databases", typ: sdk.SourceMySQL, cur: `{"host":"db","username":"u","databases":["a"]}`,
			args: []string{"--all-databases", "--exclude-database", "test"},
			want: `{"host":"db","username":"u","all_databases":true,"exclude_databases":["test"]}`},
		{name: "mysql socket replaces host", typ: sdk.SourceMySQL, cur: `{"host":"db","port":3306,"username":"u","databases":["a"]}`,
			args: []string{"--socket", "/run/mysqld/mysqld.sock"},
			want: `{"socket":"/run/mysqld/mysqld.sock","username":"u","databases":["a"]}`},
		{name: "mysql host replaces socket", typ: sdk.SourceMySQL, cur: `{"socket":"/s","username":"u","databases":["a"]}`,
			args: []string{"--host", "db2"}, want: `{"host":"db2","username":"u","databases":["a"]}`},
		{name: "postgres edit ssh field", typ: sdk.SourcePostgres,
			cur:  `{"host":"127.0.0.1","port":5432,"username":"u","databases":["a"],"ssh":{"host":"b","port":22,"username":"t","credential_id":"c","host_key":"SHA256:x"}}`,
			args: []string{"--ssh-user", "t2", "--ssh-host-key", ""},
			want: `{"host":"127.0.0.1","port":5432,"username":"u","databases":["a"],"ssh":{"host":"b","port":22,"username":"t2","credential_id":"c"}}`},
		{name: "postgres no-ssh", typ: sdk.SourcePostgres, cur: `{"host":"h","username":"u","databases":["a"],"ssh":{"host":"b"}}`,
			args: []string{"--no-ssh", "--format", "custom"}, want: `{"host":"h","username":"u","databases":["a"],"format":"custom"}`},
		{name: "postgres add ssh", typ: sdk.SourcePostgres, cur: `{"host":"h","username":"u","databases":["a"]}`,
			args: []string{"--ssh-host", "b", "--ssh-user", "t", "--ssh-credential", "c"},
			want: `{"host":"h","username":"u","databases":["a"],"ssh":{"host":"b","username":"t","credential_id":"c"}}`},
		{name: "wordpress path and db host", typ: sdk.SourceWordPress, cur: `{"host":"h","port":22,"username":"u","path":"/a","db_host":"x"}`,
			args: []string{"--path", "/b", "--db-host", ""}, want: `{"host":"h","port":22,"username":"u","path":"/b"}`},
		{name: "ftp tls off", typ: sdk.SourceFTP, cur: `{"host":"h","port":990,"username":"u","paths":["/"],"tls":"implicit","insecure_skip_verify":true}`,
			args: []string{"--tls", "none", "--insecure-skip-verify=false", "--port", "0"},
			want: `{"host":"h","username":"u","paths":["/"],"tls":"none"}`},
		{name: "flag of another type", typ: sdk.SourceFTP, cur: `{}`, args: []string{"--database", "d"},
			wantErr: "not for a ftp source: --database (only mysql, postgres)"},
		{name: "no-ssh on sftp", typ: sdk.SourceSFTP, cur: `{}`, args: []string{"--no-ssh"}, wantErr: "--no-ssh (only mysql, postgres)"},
		{name: "no-ssh with ssh flag", typ: sdk.SourceMySQL, cur: `{}`, args: []string{"--no-ssh", "--ssh-host", "b"},
			wantErr: "give either --no-ssh or --ssh-host, not both"},
		{name: "no-exclude with exclude", typ: sdk.SourceSFTP, cur: `{}`, args: []string{"--no-exclude", "--exclude", "x"},
			wantErr: "give either --no-exclude or --exclude"},
		{name: "flags and json", typ: sdk.SourceSFTP, cur: `{}`, args: []string{"--host", "h", "--config-json", `{}`},
			wantErr: "not both"},
		{name: "nothing", typ: sdk.SourceSFTP, cur: `{}`, args: nil, wantErr: "nothing to update"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := update(t, tc.typ, tc.cur, append(tc.args, "src_1")...)
			if tc.wantErr != "" {
				requireUsage(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.JSONEq(t, tc.want, got)
		})
	}
}

func TestEveryConfigFieldIsDocumentedOnce(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, fd := range append(append([]configField{}, configFields...), updateOnlyFields...) {
		require.False(t, seen[fd.flag], fd.flag)
		seen[fd.flag] = true
		require.NotEmpty(t, fd.types, fd.flag)
		require.NotEmpty(t, fd.usage, fd.flag)
		for _, typ := range fd.types {
			require.Contains(t, allTypes, typ)
		}
	}
	for typ, groups := range createNeeds {
		for _, g := range groups {
			for _, flag := range g {
				require.True(t, seen[flag], "%s needs unknown --%s", typ, flag)
			}
		}
	}
}
