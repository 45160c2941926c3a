package root_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

var (
	tenantJSON = map[string]any{"id": "ten_1", "name": "acme", "plan": "", "public_key": "age1pub",
		"created_at": "2026-03-01T11:57:00Z", "updated_at": "2026-03-01T11:57:00Z"}
	sourceJSON = map[string]any{"id": "src_1", "tenant_id": "ten_1", "type": "sftp", "name": "web1", "status": "active",
		"credential_id": "cred_1", "config": map[string]any{"host": "web1", "port": 22, "username": "backup",
			"paths": []string{"/var/www"}, "future_field": "kept"},
		"created_at": "2026-03-01T11:00:00Z", "updated_at": "2026-03-01T11:00:00Z"}
	snapshotJSON = map[string]any{"id": "snap_1", "tenant_id": "ten_1", "source_id": "src_1", "job_id": "job_1",
		"status": "completed", "size_bytes": 5 << 20, "plain_bytes": 9 << 20, "sha256": "abc123", "file_count": 1234,
		"storage_backend": "local_fs", "agent_id": "agt_1", "local_path": "/data/tenants/ten_1/x", "age_recipient": "age1pub",
		"created_at": "2026-03-01T10:00:00Z"}
)

func job(status string) map[string]any {
	return map[string]any{"id": "job_1", "tenant_id": "ten_1", "source_id": "src_1", "type": "backup",
		"status": status, "attempt": 1, "max_attempts": 3, "cancel_requested": false,
		"progress":   map[string]any{"files_done": 10, "bytes_read": 2048, "bytes_written": 1024, "warnings": 0},
		"created_at": "2026-03-01T11:59:00Z"}
}

func TestJSONOutputShapes(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	h.reply("POST /api/v1/tenants", 201, tenantJSON)
	h.reply("GET /api/v1/sources/{id}", 200, sourceJSON)
	h.reply("GET /api/v1/snapshots/{id}", 200, snapshotJSON)
	h.reply("GET /api/v1/jobs", 200, map[string]any{"items": []any{job("queued")}})
	h.reply("GET /api/v1/credentials", 200, `{"items":null}`)

	tests := []struct {
		name string
		args []string
		keys []string // keys the object (or first item) must have
		list bool
	}{
		{"tenant create", []string{"-o", "json", "tenant", "create", "acme"}, []string{"id", "name", "public_key", "created_at"}, false},
		{"-o after args", []string{"source", "show", "src_1", "-o", "json"}, []string{"id", "tenant_id", "type", "config", "credential_id"}, false},
		{"snapshot show", []string{"snapshot", "show", "-o", "json", "snap_1"},
			[]string{"id", "tenant_id", "source_id", "job_id", "status", "size_bytes", "sha256", "file_count",
				"storage_backend", "agent_id", "local_path", "created_at"}, false},
		{"job list", []string{"job", "list", "--format=json"},
			[]string{"id", "tenant_id", "source_id", "type", "status", "attempt", "max_attempts", "progress", "created_at"}, true},
		{"empty list is []", []string{"credential", "list", "-o", "json"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := xv(t, hubEnv(h), "", tt.args...)
			require.Equal(t, 0, r.Code, r.Stderr)
			var v any
			require.NoError(t, json.Unmarshal([]byte(r.Stdout), &v), r.Stdout)
			obj, _ := v.(map[string]any)
			if tt.list {
				arr, ok := v.([]any)
				require.True(t, ok, "a list prints a JSON array: %s", r.Stdout)
				if len(tt.keys) == 0 {
					require.Empty(t, arr)
					return
				}
				obj = arr[0].(map[string]any)
			}
			for _, k := range tt.keys {
				require.Contains(t, obj, k)
			}
		})
	}
}

func TestTables(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	h.reply("GET /api/v1/sources", 200, map[string]any{"items": []any{sourceJSON}, "next_cursor": "c2"})
	h.reply("GET /api/v1/snapshots/{id}", 200, snapshotJSON)
	h.reply("GET /api/v1/status", 200, sdk.Status{Version: "v0.1.0", Database: "sqlite",
		Caller: sdk.Caller{Kind: sdk.TokenPlatformAdmin, TokenID: "tok_admin"},
		Agents: sdk.AgentsSummary{Total: 2, Online: 1}, Jobs: map[sdk.JobStatus]int{sdk.JobQueued: 3}})

	r := xv(t, hubEnv(h), "", "source", "list")
	require.Equal(t, 0, r.Code, r.Stderr)
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	require.Len(t, lines, 2)
	require.Regexp(t, `^ID\s+NAME\s+TYPE\s+STATUS\s+TARGET\s+CREATED$`, lines[0])
	require.Regexp(t, `^src_1\s+web1\s+sftp\s+active\s+backup@web1\s+1h ago$`, lines[1])
	require.Contains(t, r.Stderr, "--cursor c2")

	r = xv(t, hubEnv(h), "", "snapshot", "show", "snap_1")
	require.Equal(t, 0, r.Code, r.Stderr)
	for _, want := range []string{"5.0 MiB (5242880 bytes", "SHA256:", "abc123", "1,234", "local_fs", "/data/tenants/ten_1/x", "agt_1"} {
		require.Contains(t, r.Stdout, want)
	}

	r = xv(t, hubEnv(h), "", "status")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Contains(t, r.Stdout, "platform admin (token tok_admin)")
	require.Contains(t, r.Stdout, "1 online of 2")
	require.Contains(t, r.Stdout, "queued 3, running 0")
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	h.reply("GET /api/v1/sources/{id}", 404, map[string]any{"error": map[string]any{"code": "not_found", "message": "source not found"}})
	h.reply("POST /api/v1/sources", 400, map[string]any{"error": map[string]any{"code": "invalid_argument",
		"message": "invalid request", "fields": map[string]string{"config.port": "must be 1-65535", "config.paths[0]": "must be absolute"}}})
	h.reply("GET /api/v1/jobs/{id}", 500, "<html>oops</html>")

	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{"not found", hubEnv(h), []string{"source", "show", "src_x"}, 3, "xv: source not found\n"},
		{"field errors in one line", hubEnv(h), []string{"source", "create", "--type", "sftp", "--name", "w", "--host", "h",
			"--user", "u", "--path", "rel", "--port", "0", "--credential", "c"}, 1,
			"xv: invalid request: config.paths[0] must be absolute; config.port must be 1-65535\n"},
		{"non-JSON 500", hubEnv(h), []string{"job", "show", "job_1"}, 1, "xv: hub answered 500 Internal Server Error\n"},
		{"missing argument", hubEnv(h), []string{"source", "show"}, 2, "want ID"},
		{"extra argument", hubEnv(h), []string{"tenant", "list", "x"}, 2, "want no arguments"},
		{"unknown flag", hubEnv(h), []string{"job", "list", "--bogus"}, 2, "flag provided but not defined"},
		{"bad flag value", hubEnv(h), []string{"source", "create", "--port", "abc"}, 2, "invalid value"},
		{"unknown command", hubEnv(h), []string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{"unknown subcommand", hubEnv(h), []string{"job", "frob"}, 2, `unknown command "frob"`},
		{"bad -o", hubEnv(h), []string{"-o", "yaml", "job", "list"}, 2, "invalid output format"},
		{"token role required", hubEnv(h), []string{"token", "create"}, 2, "--role is required"},
		{"token bad role", hubEnv(h), []string{"token", "create", "--role", "god"}, 2, "not one of owner, admin, member"},
		{"token bad expiry", hubEnv(h), []string{"token", "create", "--role", "admin", "--expires", "soon"}, 2, "--expires"},
		{"credential needs one secret", hubEnv(h), []string{"credential", "create", "--name", "x"}, 2, "exactly one of"},
		{"source missing ssh flags", hubEnv(h), []string{"source", "create", "--type", "sftp", "--name", "x"}, 2,
			"needs --host, --user, --path"},
		{"source flags and json", hubEnv(h), []string{"source", "create", "--type", "sftp", "--name", "x", "--host", "h",
			"--config-json", `{"host":"h"}`}, 2, "not both"},
		{"source other type needs json", hubEnv(h), []string{"source", "create", "--type", "mysql", "--name", "x"}, 2, "--config-json"},
		{"update nothing", hubEnv(h), []string{"source", "update", "src_1"}, 2, "nothing to update"},
		{"job bad status", hubEnv(h), []string{"job", "list", "--status", "done"}, 2, "not one of"},
		{"limit range", hubEnv(h), []string{"job", "list", "--limit", "501"}, 2, "--limit"},
		{"no hub", map[string]string{}, []string{"tenant", "list"}, 1, "xv: no hub address\nxv: hint: set XV_HUB_URL"},
		{"bad hub", map[string]string{"XV_HUB_URL": "ftp://x", "XV_TOKEN": "t"}, []string{"tenant", "list"}, 1, "invalid hub URL"},
		{"no token", map[string]string{"XV_HUB_URL": h.URL}, []string{"tenant", "list"}, 1, "no API token"},
		{"unreachable hub", map[string]string{"XV_HUB_URL": "http://127.0.0.1:1", "XV_TOKEN": "tok-secret"},
			[]string{"tenant", "list"}, 1, "connect to hub http://127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := xv(t, tt.env, "", tt.args...)
			require.Equal(t, tt.code, r.Code, "stderr: %s", r.Stderr)
			require.Contains(t, r.Stderr, tt.stderr)
			require.NotContains(t, r.Stderr, "tok-secret")
			require.NotContains(t, r.Stderr, "&sdk.Error")
			require.NotContains(t, r.Stderr, "Incorrect Usage")
		})
	}
}

func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"source", "create", "--help"}, {"backup", "run", "-h"}, {"tenant"}, {"tenant", "key", "export", "--help"}} {
		r := xv(t, nil, "", args...)
		require.Equal(t, 0, r.Code, "%v: %s", args, r.Stderr)
		require.Contains(t, r.Stdout, "USAGE")
	}
}

func TestTenantParamAndHints(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	h.mux.HandleFunc("GET /api/v1/sources", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("tenant_id") {
		case "":
			writeJSON(w, 400, map[string]any{"error": map[string]any{"code": "invalid_argument",
				"message": "tenant_id is required for platform-admin tokens", "fields": map[string]string{"tenant_id": "required"}}})
		case "ten_other":
			writeJSON(w, 403, map[string]any{"error": map[string]any{"code": "permission_denied", "message": "token is not of tenant ten_other"}})
		default:
			writeJSON(w, 200, map[string]any{"items": []any{}})
		}
	})

	r := xv(t, hubEnv(h), "", "source", "list")
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, "hint: a platform-admin token must name the tenant: --tenant ID or XV_TENANT")

	r = xv(t, hubEnv(h), "", "source", "list", "--tenant", "ten_other")
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, "xv: token is not of tenant ten_other\nxv: hint: tenant ten_other was named")

	r = xv(t, hubEnv(h, "XV_TENANT", "ten_env"), "", "source", "list")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Equal(t, "tenant_id=ten_env", h.last().RawQuery)

	// the flag beats the environment, the global flag works too
	r = xv(t, hubEnv(h, "XV_TENANT", "ten_env"), "", "--tenant", "ten_global", "source", "list")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Equal(t, "tenant_id=ten_global", h.last().RawQuery)
	r = xv(t, hubEnv(h, "XV_TENANT", "ten_env"), "", "--tenant", "ten_global", "source", "list", "--tenant", "ten_local")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Equal(t, "tenant_id=ten_local", h.last().RawQuery)
	require.Equal(t, "Bearer tok-secret", h.last().Auth)
}

func TestLoginAndConfigPrecedence(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	var authSeen atomic.Value
	h.mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, r *http.Request) {
		authSeen.Store(r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") == "Bearer bad" {
			writeJSON(w, 401, map[string]any{"error": map[string]any{"code": "unauthenticated", "message": "invalid token"}})
			return
		}
		writeJSON(w, 200, sdk.Status{Caller: sdk.Caller{Kind: sdk.TokenTenant, TokenID: "tok_1", TenantID: "ten_1", Role: sdk.RoleOwner}})
	})
	h.reply("GET /api/v1/tenants", 200, map[string]any{"items": []any{tenantJSON}})
	cfgHome := t.TempDir()
	env := map[string]string{"XDG_CONFIG_HOME": cfgHome}

	r := xv(t, env, "bad\n", "login", "--hub", h.URL, "--token-stdin")
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, "nothing was saved")
	_, err := os.Stat(filepath.Join(cfgHome, "xvault", "config.json"))
	require.True(t, os.IsNotExist(err))

	r = xv(t, env, "tok-from-stdin\n", "login", "--hub", h.URL, "--token-stdin")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Contains(t, r.Stdout, "owner of tenant ten_1")
	require.Equal(t, "Bearer tok-from-stdin", authSeen.Load())

	path := filepath.Join(cfgHome, "xvault", "config.json")
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	di, err := os.Stat(filepath.Dir(path))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o700), di.Mode().Perm())

	// the saved config is used…
	r = xv(t, env, "", "tenant", "list")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Equal(t, "Bearer tok-from-stdin", h.last().Auth)
	// …the environment beats it…
	r = xv(t, map[string]string{"XDG_CONFIG_HOME": cfgHome, "XV_TOKEN": "tok-env"}, "", "tenant", "list")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Equal(t, "Bearer tok-env", h.last().Auth)
	// …a flag beats both…
	r = xv(t, map[string]string{"XDG_CONFIG_HOME": cfgHome, "XV_TOKEN": "tok-env"}, "", "--token", "tok-flag", "tenant", "list")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Equal(t, "Bearer tok-flag", h.last().Auth)
	r = xv(t, map[string]string{"XDG_CONFIG_HOME": cfgHome, "XV_TOKEN": "tok-env"}, "", "tenant", "list", "--token", "tok-after")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Equal(t, "Bearer tok-after", h.last().Auth)
	// …and the saved token never goes to another hub.
	other := newFakeHub(t)
	r = xv(t, map[string]string{"XDG_CONFIG_HOME": cfgHome, "XV_HUB_URL": other.URL}, "", "tenant", "list")
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, "no API token")
	require.Empty(t, other.requests())
}

func TestCredentialPasswordFromStdin(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	h.reply("POST /api/v1/credentials", 201, map[string]any{"id": "cred_1", "tenant_id": "ten_1", "name": "web1", "kind": "password"})

	r := xv(t, hubEnv(h), "s3cret pass\n", "credential", "create", "--tenant", "ten_1", "--name", "web1", "--password-stdin", "-o", "json")
	require.Equal(t, 0, r.Code, r.Stderr)
	var body sdk.CreateCredentialRequest
	require.NoError(t, json.Unmarshal(h.last().Body, &body))
	require.Equal(t, sdk.CreateCredentialRequest{Name: "web1", Kind: sdk.CredentialPassword, Password: "s3cret pass"}, body)
	require.Equal(t, "tenant_id=ten_1", h.last().RawQuery)
	require.NotContains(t, r.Stdout+r.Stderr, "s3cret")

	r = xv(t, hubEnv(h), "", "credential", "create", "--name", "web1", "--password-stdin")
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, "empty password on stdin")

	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, []byte("not a key"), 0o600))
	r = xv(t, hubEnv(h), "", "credential", "create", "--name", "k", "--private-key-file", keyFile)
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, "private key "+keyFile)
}

func TestTokenCreatePrintsSecretOnce(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	h.reply("POST /api/v1/tokens", 201, map[string]any{"id": "tok_9", "kind": "tenant", "tenant_id": "ten_1", "role": "member",
		"name": "grafana", "created_at": "2026-03-01T12:00:00Z", "token": "xvt_NEWSECRET"})

	r := xv(t, hubEnv(h), "", "token", "create", "--role", "member", "--name", "grafana", "--expires", "720h")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Equal(t, "xvt_NEWSECRET\n", r.Stdout)
	require.Contains(t, r.Stderr, "shown only this once")
	require.JSONEq(t, `{"role":"member","name":"grafana","expires_in":"720h"}`, string(h.last().Body))

	r = xv(t, hubEnv(h), "", "token", "create", "--role", "member", "-o", "json")
	require.Equal(t, 0, r.Code, r.Stderr)
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.Stdout), &got))
	for _, k := range []string{"id", "token", "tenant_id", "role"} {
		require.Contains(t, got, k)
	}
}

func TestKeyExport(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	h.reply("POST /api/v1/tenants/{id}/key/export", 200, sdk.TenantKeyExport{TenantID: "ten_1", KeyID: "key_1",
		PublicKey: "age1pub", Identity: "AGE-SECRET-KEY-1ABC"})

	r := xv(t, hubEnv(h), "", "tenant", "key", "export", "ten_1")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Contains(t, r.Stdout, "# public key: age1pub\nAGE-SECRET-KEY-1ABC\n")
	require.Contains(t, r.Stderr, "warning: this is the secret key")

	file := filepath.Join(t.TempDir(), "key.txt")
	r = xv(t, hubEnv(h), "", "tenant", "key", "export", "ten_1", "--output", file)
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Empty(t, r.Stdout)
	fi, err := os.Stat(file)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	b, _ := os.ReadFile(file)
	require.Contains(t, string(b), "AGE-SECRET-KEY-1ABC")

	n := len(h.requests())
	r = xv(t, hubEnv(h), "", "tenant", "key", "export", "ten_1", "--output", file)
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, "already exists")
	require.Len(t, h.requests(), n, "no (audited) export when the file cannot be written")
}

func TestSourceUpdateKeepsConfig(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	h.reply("GET /api/v1/sources/{id}", 200, sourceJSON)
	h.reply("PATCH /api/v1/sources/{id}", 200, sourceJSON)

	r := xv(t, hubEnv(h), "", "source", "update", "src_1", "--path", "/srv", "--path", "/etc,x", "--host-key", "SHA256:abc", "--disable")
	require.Equal(t, 0, r.Code, r.Stderr)
	last := h.last()
	require.Equal(t, "PATCH", last.Method)
	require.JSONEq(t, `{"status":"disabled","config":{"host":"web1","port":22,"username":"backup",
		"paths":["/srv","/etc,x"],"host_key":"SHA256:abc","future_field":"kept"}}`, string(last.Body))

	r = xv(t, hubEnv(h), "", "source", "update", "src_1", "--name", "new")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.JSONEq(t, `{"name":"new"}`, string(h.last().Body))
}

func TestSourceCreateBody(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	h.reply("POST /api/v1/sources", 201, sourceJSON)
	r := xv(t, hubEnv(h), "", "source", "create", "--type", "sftp", "--name", "web1", "--host", "web1", "--user", "backup",
		"--path", "/var/www", "--exclude", "*.{log,tmp}", "--credential", "cred_1")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.JSONEq(t, `{"type":"sftp","name":"web1","credential_id":"cred_1",
		"config":{"host":"web1","port":22,"username":"backup","paths":["/var/www"],"exclude":["*.{log,tmp}"]}}`, string(h.last().Body))
	require.Contains(t, r.Stdout, "Recorded host key:")
}

func TestBackupRunWait(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		final string
		code  int
	}{{"completed", 0}, {"failed", 4}, {"canceled", 4}} {
		t.Run(tt.final, func(t *testing.T) {
			t.Parallel()
			h := newFakeHub(t)
			h.reply("POST /api/v1/jobs", 201, job("queued"))
			var polls atomic.Int32
			h.mux.HandleFunc("GET /api/v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
				j := job("running")
				if polls.Add(1) >= 3 {
					j = job(tt.final)
					if tt.final == "failed" {
						j["error_message"] = "ssh: authentication failed"
					}
				}
				writeJSON(w, 200, j)
			})
			r := xv(t, hubEnv(h), "", "backup", "run", "src_1", "--wait", "--poll-interval", "5ms", "-o", "json")
			require.Equal(t, tt.code, r.Code, r.Stderr)
			var got sdk.Job
			require.NoError(t, json.Unmarshal([]byte(r.Stdout), &got), r.Stdout)
			require.Equal(t, sdk.JobStatus(tt.final), got.Status)
			require.NotContains(t, r.Stderr, "\r", "no live progress when stderr is not a terminal")
			if tt.final == "failed" {
				require.Contains(t, r.Stderr, "xv: job job_1 failed: ssh: authentication failed")
			}
		})
	}
}

func TestBackupRunAlreadyActive(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	h.reply("POST /api/v1/jobs", 200, job("running"))
	r := xv(t, hubEnv(h), "", "backup", "run", "src_1")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Contains(t, r.Stderr, "already has an active backup: job job_1")
	require.Regexp(t, `Status:\s+running`, r.Stdout)
	require.JSONEq(t, `{"source_id":"src_1","type":"backup"}`, string(h.last().Body))
}

func TestDeleteAndUnauthenticated(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	h.mux.HandleFunc("DELETE /api/v1/credentials/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	h.reply("GET /api/v1/agents", 401, map[string]any{"error": map[string]any{"code": "unauthenticated", "message": "token expired"}})

	r := xv(t, hubEnv(h), "", "credential", "delete", "cred_1", "-o", "json")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.JSONEq(t, `{"id":"cred_1","deleted":true}`, r.Stdout)

	r = xv(t, hubEnv(h), "", "agent", "list")
	require.Equal(t, 1, r.Code)
	require.Equal(t, "xv: token expired\nxv: hint: the hub rejected the token from XV_TOKEN (expired or revoked?); run 'xv login' with a valid one\n", r.Stderr)
}

func TestInterruptedWaitExits130(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	h.reply("POST /api/v1/jobs", 201, job("queued"))
	h.reply("GET /api/v1/jobs/{id}", 200, job("running"))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel) // Ctrl-C
	defer cancel()
	r := xvCtx(t, ctx, hubEnv(h), "", "backup", "run", "src_1", "--wait", "--poll-interval", "10ms")
	require.Equal(t, 130, r.Code, r.Stderr)
	require.Contains(t, r.Stderr, "xv: interrupted\nxv: hint: the job keeps running: 'xv job watch job_1'")
}
