package api

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/xvault/xvault/sdk"
)

func TestOperatorFlow(t *testing.T) {
	forEachDialect(t, func(t *testing.T, e *testEnv) {
		a := e.newTenant("acme")

		var st sdk.Status
		e.call("GET", "/api/v1/status", a.Owner, nil, 200, &st)
		require.Equal(t, a.ID, st.Caller.TenantID)
		require.Equal(t, sdk.RoleOwner, st.Caller.Role)

		var tn sdk.Tenant
		e.call("GET", "/api/v1/tenants/"+a.ID, a.Member, nil, 200, &tn)
		require.Contains(t, tn.PublicKey, "age1")

		var job sdk.Job
		e.call("POST", "/api/v1/jobs", a.Admin, sdk.CreateJobRequest{SourceID: a.Source}, 201, &job)
		require.Equal(t, sdk.JobQueued, job.Status)
		require.NotEmpty(t, job.SnapshotID)
		var again sdk.Job
		e.call("POST", "/api/v1/jobs", a.Admin, sdk.CreateJobRequest{SourceID: a.Source}, 200, &again)
		require.Equal(t, job.ID, again.ID)

		var jobs sdk.Page[sdk.Job]
		e.call("GET", "/api/v1/jobs?status=queued", a.Member, nil, 200, &jobs)
		require.Len(t, jobs.Items, 1)

		var canceled sdk.Job
		e.call("POST", "/api/v1/jobs/"+job.ID+"/cancel", a.Owner, nil, 200, &canceled)
		require.Equal(t, sdk.JobCanceled, canceled.Status)

		var audit sdk.Page[sdk.AuditEvent]
		e.call("GET", "/api/v1/audit?action=job.create", a.Member, nil, 200, &audit)
		require.Len(t, audit.Items, 1)
		require.Equal(t, job.ID, audit.Items[0].ObjectID)

		var exp sdk.TenantKeyExport
		e.call("POST", "/api/v1/tenants/"+a.ID+"/key/export", a.Owner, nil, 200, &exp)
		require.Contains(t, exp.Identity, "AGE-SECRET-KEY-1")
		require.Equal(t, tn.PublicKey, exp.PublicKey)
		e.apiErr("POST", "/api/v1/tenants/"+a.ID+"/key/export", a.Member, nil, 403)
	})
}
