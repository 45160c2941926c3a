package root_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// TestStatusCheckAgainstRealHub drives `xv status --check` against a real
// hubd (no agent): 0 while nothing is unhealthy, 1 naming the source once
// a source was never backed up, in table and JSON form; then the fleet
// health commands' error paths as the real hub answers them.
func TestStatusCheckAgainstRealHub(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts hubd; skipped with -short")
	}
	hubURL, admin := startHubd(t)
	env := func(extra ...string) map[string]string {
		e := map[string]string{"XV_HUB_URL": hubURL, "XV_TOKEN": admin}
		for i := 0; i+1 < len(extra); i += 2 {
			e[extra[i]] = extra[i+1]
		}
		return e
	}

	r := xv(t, env(), "", "status", "--check")
	require.Equal(t, 0, r.Code, "no source yet: healthy: %s", r.Stderr)
	require.Regexp(t, `Health:\s+ok`, r.Stdout)

	r = xv(t, env(), "", "-o", "json", "tenant", "create", "acme")
	require.Equal(t, 0, r.Code, r.Stderr)
	var ten sdk.Tenant
	require.NoError(t, json.Unmarshal([]byte(r.Stdout), &ten))
	tenv := env("XV_TENANT", ten.ID)
	r = xv(t, tenv, "hunter2\n", "-o", "json", "credential", "create", "--name", "pw", "--password-stdin")
	require.Equal(t, 0, r.Code, r.Stderr)
	var cred sdk.Credential
	require.NoError(t, json.Unmarshal([]byte(r.Stdout), &cred))
	r = xv(t, tenv, "", "-o", "json", "source", "create", "--type", "sftp", "--name", "web1", "--host", "127.0.0.1",
		"--port", "2222", "--user", "backup", "--path", "/var/www", "--credential", cred.ID)
	require.Equal(t, 0, r.Code, r.Stderr)
	var src sdk.Source
	require.NoError(t, json.Unmarshal([]byte(r.Stdout), &src))

	r = xv(t, env(), "", "status")
	require.Equal(t, 0, r.Code, "without --check an unhealthy hub is not an error: %s", r.Stderr)
	require.Contains(t, r.Stdout, "UNHEALTHY")

	r = xv(t, env(), "", "status", "--check")
	require.Equal(t, 1, r.Code, r.Stdout)
	require.Contains(t, r.Stdout, "web1")
	require.Contains(t, r.Stdout, sdk.HealthNeverBackedUp)
	require.Contains(t, r.Stderr, "unhealthy: 1 of 1 source(s) need attention")
	require.Contains(t, r.Stderr, sdk.HealthNoAgent)

	r = xv(t, env(), "", "-o", "json", "status", "--check")
	require.Equal(t, 1, r.Code, r.Stderr)
	var st sdk.Status
	require.NoError(t, json.Unmarshal([]byte(r.Stdout), &st), r.Stdout)
	require.False(t, st.Health.Healthy)
	require.Len(t, st.Health.UnhealthySources, 1)
	h := st.Health.UnhealthySources[0]
	require.Equal(t, "web1", h.SourceName)
	require.Equal(t, src.ID, h.SourceID)
	require.True(t, h.HasProblem(sdk.HealthNeverBackedUp), "%v", h.Problems)

	// The tenant's own view: the same source, no agent list.
	r = xv(t, tenv, "", "-o", "json", "token", "create", "--role", "member")
	require.Equal(t, 0, r.Code, r.Stderr)
	var ct sdk.CreatedToken
	require.NoError(t, json.Unmarshal([]byte(r.Stdout), &ct))
	r = xv(t, map[string]string{"XV_HUB_URL": hubURL, "XV_TOKEN": ct.Token}, "", "status", "--check")
	require.Equal(t, 1, r.Code, r.Stderr)
	require.Contains(t, r.Stdout, "web1")
	require.NotContains(t, r.Stdout, "AGENT")

	// A schedule's run history starts empty; unknown ids are not found (exit 3).
	r = xv(t, tenv, "", "-o", "json", "schedule", "create", "--source", src.ID, "--every", "1h")
	require.Equal(t, 0, r.Code, r.Stderr)
	var sch sdk.Schedule
	require.NoError(t, json.Unmarshal([]byte(r.Stdout), &sch))
	r = xv(t, tenv, "", "-o", "json", "schedule", "runs", sch.ID)
	require.Equal(t, 0, r.Code, r.Stderr)
	require.Equal(t, "[]", strings.TrimSpace(r.Stdout))
	r = xv(t, tenv, "", "schedule", "runs", "nope")
	require.Equal(t, 3, r.Code, r.Stderr)
	r = xv(t, tenv, "", "schedule", "runs")
	require.Equal(t, 2, r.Code, r.Stderr)
	r = xv(t, env(), "", "agent", "drain", "nope")
	require.Equal(t, 3, r.Code, r.Stderr)
	r = xv(t, env(), "", "agent", "undrain")
	require.Equal(t, 2, r.Code, r.Stderr)
}
