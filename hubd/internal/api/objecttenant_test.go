package api

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

// TestPlatformAdminByIDNeedsNoTenant: a platform admin acting on one object
// by id is served in the object's tenant; lists still need tenant_id, and
// tenant tokens keep seeing only their own tenant.
func TestPlatformAdminByIDNeedsNoTenant(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a, b := e.newTenant("alpha"), e.setupTenantB()

		var job sdk.Job
		e.call("GET", "/api/v1/jobs/"+b.Job, e.admin, nil, 200, &job)
		require.Equal(t, b.ID, job.TenantID)
		var snap sdk.Snapshot
		e.call("GET", "/api/v1/snapshots/"+b.Snapshot, e.admin, nil, 200, &snap)
		require.Equal(t, b.ID, snap.TenantID)

		// Every tenant GET route with an {id} resolves without tenant_id.
		for _, rt := range e.srv.Routes() {
			tenantRoute := rt.Access == AccessTenantRead || rt.Access == AccessTenantWrite
			if rt.Method != http.MethodGet || !tenantRoute || !strings.Contains(rt.Pattern, "{id}") {
				continue
			}
			path := strings.Replace(rt.Pattern, "{id}", b.idFor(rt.Pattern), 1)
			status, resp := e.do(rt.Method, path, e.admin, nil)
			require.Equal(t, http.StatusOK, status, "%s as platform admin without tenant_id: %s", rt.Pattern, resp)
		}

		// Writes too: the connection test runs in tenant B.
		var tj sdk.Job
		e.call("POST", "/api/v1/sources/"+b.Source+"/test", e.admin, nil, 201, &tj)
		require.Equal(t, b.ID, tj.TenantID)

		// An id of no tenant is not found; lists and creates still need a tenant.
		apiErr := e.apiErr("GET", "/api/v1/jobs/00000000-0000-4000-8000-000000000000", e.admin, nil, 404)
		require.Contains(t, apiErr.Message, "not found in any tenant")
		apiErr = e.apiErr("GET", "/api/v1/jobs", e.admin, nil, 400)
		require.Equal(t, "is required", apiErr.Fields["tenant_id"])
		e.apiErr("POST", "/api/v1/jobs", e.admin, sdk.CreateJobRequest{SourceID: b.Source}, 400)

		// Tenant tokens are untouched: another tenant's id stays not found,
		// and naming another tenant stays forbidden.
		e.apiErr("GET", "/api/v1/jobs/"+b.Job, a.Owner, nil, 404)
		e.apiErr("GET", "/api/v1/jobs/"+b.Job+"?tenant_id="+b.ID, a.Owner, nil, 403)
		e.apiErr("POST", "/api/v1/jobs/"+b.Job+"/cancel", a.Owner, nil, 404)
		e.requireBUntouched(b)

		// A read-only-by-role check still applies after resolution: an
		// explicit tenant_id keeps working as before.
		e.call("GET", "/api/v1/jobs/"+b.Job+"?tenant_id="+b.ID, e.admin, nil, 200, nil)
	})
}
