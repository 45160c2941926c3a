package root_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJobWatchExitCodes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		final string
		code  int
	}{{"completed", 0}, {"failed", 4}, {"canceled", 4}} {
		t.Run(tt.final, func(t *testing.T) {
			t.Parallel()
			h := newFakeHub(t)
			var gets atomic.Int32
			h.mux.HandleFunc("GET /api/v1/jobs/{id}", func(w http.ResponseWriter, r *http.Request) {
				st := "running"
				if gets.Add(1) > 2 {
					st = tt.final
				}
				writeJSON(w, 200, job(st))
			})
			r := xv(t, hubEnv(h), "", "job", "watch", "job_1", "--poll-interval", "5ms", "-o", "json")
			require.Equal(t, tt.code, r.Code, r.Stderr)
			var got map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.Stdout), &got), r.Stdout)
			require.Equal(t, tt.final, got["status"])
			require.NotContains(t, r.Stderr, "\r", "nothing decorative when stderr is not a terminal")
		})
	}
}

func TestJobRetry(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	failed := job("failed")
	failed["error_message"] = "ssh: connection refused"
	h.reply("GET /api/v1/jobs/job_1", 200, failed)
	h.reply("GET /api/v1/jobs/job_run", 200, job("running"))
	newJob := job("queued")
	newJob["id"] = "job_2"
	h.reply("POST /api/v1/jobs", 201, newJob)

	r := xv(t, hubEnv(h), "", "job", "retry", "job_1", "-o", "json")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Contains(t, r.Stderr, "Retried failed job job_1: new backup of source src_1, job job_2 (queued).")
	last := h.last()
	require.Equal(t, "POST /api/v1/jobs", last.Method+" "+last.Path)
	require.JSONEq(t, `{"source_id":"src_1","type":"backup"}`, string(last.Body))
	require.Contains(t, r.Stdout, `"id": "job_2"`)

	r = xv(t, hubEnv(h), "", "job", "retry", "job_run")
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, "job job_1 is running: only a failed or canceled job can be retried")

	// A restore is started again with the request of the restore it ran.
	rj := job("failed")
	rj["id"], rj["type"], rj["snapshot_id"] = "job_r", "restore", "snap_1"
	h.reply("GET /api/v1/jobs/job_r", 200, rj)
	h.reply("GET /api/v1/restores", 200, map[string]any{"items": []any{
		map[string]any{"id": "rst_0", "snapshot_id": "snap_1", "job_id": "job_other", "format": "zip", "status": "failed"},
		map[string]any{"id": "rst_1", "snapshot_id": "snap_1", "job_id": "job_r", "format": "tar.zst",
			"paths": []string{"var/www"}, "status": "failed"}}})
	h.reply("POST /api/v1/snapshots/{id}/restore", 201, map[string]any{"id": "rst_2", "snapshot_id": "snap_1",
		"job_id": "job_r2", "format": "tar.zst", "status": "pending"})
	r = xv(t, hubEnv(h), "", "job", "retry", "job_r")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Contains(t, r.Stderr, "new restore rst_2 of snapshot snap_1 (tar.zst), job job_r2")
	last = h.last()
	require.Equal(t, "/api/v1/snapshots/snap_1/restore", last.Path)
	require.JSONEq(t, `{"format":"tar.zst","paths":["var/www"]}`, string(last.Body))
}

func TestCompletion(t *testing.T) {
	t.Parallel()
	for shell, want := range map[string]string{
		"bash": "complete -o bashdefault -o default -F _xv_bash_autocomplete xv",
		"zsh":  "compdef _xv_zsh_autocomplete xv",
		"fish": "complete -c xv",
	} {
		r := xv(t, nil, "", "completion", shell)
		require.Equal(t, 0, r.Code, r.Stderr)
		require.Contains(t, r.Stdout, want, shell)
		if shell == "fish" {
			require.Contains(t, r.Stdout, "backup", "the fish script lists the commands")
		}
	}
	r := xv(t, nil, "", "completion", "powershell")
	require.Equal(t, 2, r.Code)
	require.Contains(t, r.Stderr, `"powershell" is not one of bash, zsh, fish`)
}

// TestCompletionProtocol checks what the bash and zsh scripts ask xv: the
// candidates after a command. Not parallel: urfave/cli reads os.Args for it.
func TestCompletionProtocol(t *testing.T) {
	args := []string{"xv", "job", "--generate-bash-completion"}
	saved := os.Args
	os.Args = args
	defer func() { os.Args = saved }()
	r := xv(t, nil, "", args[1:]...)
	require.Equal(t, 0, r.Code, r.Stderr)
	for _, sub := range []string{"list", "show", "watch", "cancel", "retry"} {
		require.Contains(t, strings.Fields(r.Stdout), sub, "stdout %q stderr %q", r.Stdout, r.Stderr)
	}
}

// TestBackupRunPlatformAdminWithoutTenant: the hub asks a platform admin for
// a tenant on POST /api/v1/jobs; xv takes the source's and creates the job there.
func TestBackupRunPlatformAdminWithoutTenant(t *testing.T) {
	t.Parallel()
	h := newFakeHub(t)
	h.reply("GET /api/v1/sources/{id}", 200, sourceJSON)
	h.mux.HandleFunc("POST /api/v1/jobs", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("tenant_id") != "ten_1" {
			writeJSON(w, 400, map[string]any{"error": map[string]any{"code": "invalid_argument",
				"message": "platform admin tokens must name a tenant", "fields": map[string]string{"tenant_id": "is required"}}})
			return
		}
		writeJSON(w, 201, job("queued"))
	})
	r := xv(t, hubEnv(h), "", "backup", "run", "src_1", "-o", "json")
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Contains(t, r.Stdout, `"id": "job_1"`)
	last := h.last()
	require.Equal(t, "POST /api/v1/jobs tenant_id=ten_1", last.Method+" "+last.Path+" "+last.RawQuery)

	// With --tenant xv does not guess: the hub's answer stands.
	r = xv(t, hubEnv(h), "", "backup", "run", "src_1", "--tenant", "ten_2")
	require.Equal(t, 1, r.Code)
	require.Contains(t, r.Stderr, "must name a tenant")
}
