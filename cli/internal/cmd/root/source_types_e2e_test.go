package root_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// TestSourceTypesAgainstRealHub drives `xv source create|update` for the
// database, ftp, wordpress and local types against a real hubd: the flags
// become the config the hub stores (normalized), and the hub's field-level
// problems reach xv's stderr with their field names.
func TestSourceTypesAgainstRealHub(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts hubd; skipped with -short")
	}
	hubURL, admin := startHubd(t)
	env := map[string]string{"XV_HUB_URL": hubURL, "XV_TOKEN": admin}
	jsonOK := func(v any, stdin string, args ...string) {
		t.Helper()
		r := xv(t, env, stdin, append([]string{"-o", "json"}, args...)...)
		require.Equal(t, 0, r.Code, "xv %v: %s", args, r.Stderr)
		require.NoError(t, json.Unmarshal([]byte(r.Stdout), v), "xv %v: %s", args, r.Stdout)
	}
	var ten sdk.Tenant
	jsonOK(&ten, "", "tenant", "create", "types")
	env["XV_TENANT"] = ten.ID
	var pw sdk.Credential
	jsonOK(&pw, "db-secret\n", "credential", "create", "--name", "db", "--password-stdin")

	// Every problem of a mysql config, in one line, by field.
	r := xv(t, env, "", "source", "create", "--type", "mysql", "--name", "shop", "--credential", pw.ID,
		"--user", "backup", "--database", "shop\n", "--database", "mysql", "--tls", "on",
		"--ssh-host", "bastion.example.com", "--ssh-port", "70000", "--ssh-user", "tunnel", "--ssh-credential", "cred_missing")
	require.Equal(t, 1, r.Code, r.Stderr)
	for _, field := range []string{"config.databases[0]", "config.databases[1]", "config.tls", "config.ssh.port",
		"config.ssh.credential_id not found"} {
		require.Contains(t, r.Stderr, field)
	}
	require.NotContains(t, r.Stderr, "db-secret")

	// A flag of another type never reaches the hub.
	r = xv(t, env, "", "source", "create", "--type", "ftp", "--name", "f", "--credential", pw.ID, "--host", "h",
		"--user", "u", "--path", "/", "--socket", "/run/mysqld/mysqld.sock")
	require.Equal(t, 2, r.Code, r.Stderr)
	require.Contains(t, r.Stderr, "--socket (only mysql)")

	// Through SSH the host defaults to 127.0.0.1 as seen from the SSH server.
	var tunnel sdk.Credential
	jsonOK(&tunnel, "tunnel-secret\n", "credential", "create", "--name", "tunnel", "--password-stdin")
	var src sdk.Source
	jsonOK(&src, "", "source", "create", "--type", "mysql", "--name", "shop", "--credential", pw.ID,
		"--user", "backup", "--database", "shop", "--ssh-host", "bastion.example.com", "--ssh-user", "tunnel",
		"--ssh-credential", tunnel.ID)
	require.JSONEq(t, `{"host":"127.0.0.1","port":3306,"username":"backup","databases":["shop"],"tls":"preferred",
		"ssh":{"host":"bastion.example.com","port":22,"username":"tunnel","credential_id":"`+tunnel.ID+`"}}`, string(src.Config))

	// Update merges: the socket replaces host and port, --no-ssh drops the block.
	r = xv(t, env, "", "source", "update", src.ID, "--socket", "/run/mysqld/mysqld.sock")
	require.Equal(t, 1, r.Code, r.Stderr)
	require.Contains(t, r.Stderr, "config.socket cannot be combined with ssh")
	var upd sdk.Source
	jsonOK(&upd, "", "source", "update", src.ID, "--socket", "/run/mysqld/mysqld.sock", "--no-ssh", "--all-databases")
	require.JSONEq(t, `{"socket":"/run/mysqld/mysqld.sock","username":"backup","all_databases":true,"tls":"preferred"}`,
		string(upd.Config))

	var pg sdk.Source
	jsonOK(&pg, "", "source", "create", "--type", "postgres", "--name", "pg", "--credential", pw.ID,
		"--host", "127.0.0.1", "--user", "postgres", "--database", "test", "--format", "custom")
	require.JSONEq(t, `{"host":"127.0.0.1","port":5432,"username":"postgres","databases":["test"],"sslmode":"prefer",
		"format":"custom"}`, string(pg.Config))

	r = xv(t, env, "", "source", "create", "--type", "wordpress", "--name", "blog", "--credential", tunnel.ID,
		"--host", "web1", "--user", "deploy", "--path", "var/www", "--db-host", "db:0", "--db-credential", "cred_missing")
	require.Equal(t, 1, r.Code, r.Stderr)
	for _, field := range []string{"config.path", "config.db_host", "config.db_credential_id not found"} {
		require.Contains(t, r.Stderr, field)
	}

	var local sdk.Source
	jsonOK(&local, "", "source", "create", "--type", "local", "--name", "here", "--path", "/srv/data")
	require.JSONEq(t, `{"paths":["/srv/data"]}`, string(local.Config))
	r = xv(t, env, "", "source", "show", local.ID)
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Regexp(t, `Target:\s+/srv/data`, r.Stdout)
}
