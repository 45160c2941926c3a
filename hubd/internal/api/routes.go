package api

import (
	"context"
	"net/http"
)

// Access says who may call a route. The wrapper enforces it before the
// handler runs, and the tenant isolation test walks routes by it.
type Access int

const (
	// AccessPublic needs no token (health, metrics).
	AccessPublic Access = iota
	// AccessOperator: any operator token (platform admin or tenant).
	AccessOperator
	// AccessTenantRead: tenant-scoped, any role; platform admins pass tenant_id.
	AccessTenantRead
	// AccessTenantWrite: tenant-scoped, owner or admin; platform admins pass tenant_id.
	AccessTenantWrite
	// AccessTenants: the /tenants routes; a tenant token sees only its own
	// tenant, the handler checks which.
	AccessTenants
	// AccessPlatform: platform admins only.
	AccessPlatform
	// AccessAgent: an enrolled agent's token.
	AccessAgent
	// AccessEnroll: an enrollment token, checked by the handler.
	AccessEnroll
)

var accessNames = map[Access]string{
	AccessPublic: "public", AccessOperator: "operator", AccessTenantRead: "tenant-read",
	AccessTenantWrite: "tenant-write", AccessTenants: "tenants", AccessPlatform: "platform",
	AccessAgent: "agent", AccessEnroll: "enroll",
}

func (a Access) String() string { return accessNames[a] }

// handlerFunc does the work of one route and returns the status and body
// to send (body nil: no body), or an error for writeError.
type handlerFunc func(ctx context.Context, c *call) (int, any, error)

// Route is one registered route.
type Route struct {
	Method  string
	Pattern string // net/http pattern without the method
	Access  Access
	// PlatformWide: on a tenant route, a platform admin may omit tenant_id
	// and see every tenant's objects.
	PlatformWide bool
	handle       handlerFunc
}

// Routes is the route table: every route of the API, in one place.
func (s *Server) Routes() []Route {
	const get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	const put = http.MethodPut
	return []Route{
		{Method: get, Pattern: "/healthz", Access: AccessPublic, handle: s.healthz},
		{Method: get, Pattern: "/readyz", Access: AccessPublic, handle: s.readyz},
		{Method: get, Pattern: "/metrics", Access: AccessPublic, handle: s.metricsHandler},
		{Method: get, Pattern: "/api/v1/status", Access: AccessOperator, handle: s.status},

		{Method: post, Pattern: "/api/v1/tenants", Access: AccessPlatform, handle: s.createTenant},
		{Method: get, Pattern: "/api/v1/tenants", Access: AccessTenants, handle: s.listTenants},
		{Method: get, Pattern: "/api/v1/tenants/{id}", Access: AccessTenants, handle: s.getTenant},
		{Method: post, Pattern: "/api/v1/tenants/{id}/key/export", Access: AccessTenants, handle: s.exportTenantKey},
		{Method: patch, Pattern: "/api/v1/tenants/{id}", Access: AccessTenants, handle: s.updateTenant},

		{Method: post, Pattern: "/api/v1/tokens", Access: AccessTenantWrite, handle: s.createToken},
		{Method: get, Pattern: "/api/v1/tokens", Access: AccessTenantRead, handle: s.listTokens},
		{Method: del, Pattern: "/api/v1/tokens/{id}", Access: AccessTenantWrite, handle: s.revokeToken},

		{Method: post, Pattern: "/api/v1/credentials", Access: AccessTenantWrite, handle: s.createCredential},
		{Method: get, Pattern: "/api/v1/credentials", Access: AccessTenantRead, handle: s.listCredentials},
		{Method: get, Pattern: "/api/v1/credentials/{id}", Access: AccessTenantRead, handle: s.getCredential},
		{Method: del, Pattern: "/api/v1/credentials/{id}", Access: AccessTenantWrite, handle: s.deleteCredential},

		// Storage targets (issue 13): a tenant's or the platform's; the handlers resolve the scope.
		{Method: post, Pattern: "/api/v1/storage-targets", Access: AccessOperator, handle: s.createStorageTarget},
		{Method: get, Pattern: "/api/v1/storage-targets", Access: AccessOperator, handle: s.listStorageTargets},
		{Method: get, Pattern: "/api/v1/storage-targets/{id}", Access: AccessOperator, handle: s.getStorageTarget},
		{Method: del, Pattern: "/api/v1/storage-targets/{id}", Access: AccessOperator, handle: s.deleteStorageTarget},
		{Method: post, Pattern: "/api/v1/storage-targets/{id}/test", Access: AccessOperator, handle: s.testStorageTarget},
		{Method: post, Pattern: "/api/v1/admin/credentials", Access: AccessPlatform, handle: s.createPlatformCredential},
		{Method: get, Pattern: "/api/v1/admin/credentials", Access: AccessPlatform, handle: s.listPlatformCredentials},
		{Method: get, Pattern: "/api/v1/admin/credentials/{id}", Access: AccessPlatform, handle: s.getPlatformCredential},
		{Method: del, Pattern: "/api/v1/admin/credentials/{id}", Access: AccessPlatform, handle: s.deletePlatformCredential},

		{Method: post, Pattern: "/api/v1/sources", Access: AccessTenantWrite, handle: s.createSource},
		{Method: get, Pattern: "/api/v1/sources", Access: AccessTenantRead, handle: s.listSources},
		{Method: get, Pattern: "/api/v1/sources/{id}", Access: AccessTenantRead, handle: s.getSource},
		{Method: patch, Pattern: "/api/v1/sources/{id}", Access: AccessTenantWrite, handle: s.updateSource},
		{Method: del, Pattern: "/api/v1/sources/{id}", Access: AccessTenantWrite, handle: s.deleteSource},
		{Method: post, Pattern: "/api/v1/sources/{id}/test", Access: AccessTenantWrite, handle: s.testSource},
		{Method: get, Pattern: "/api/v1/sources/{id}/retention", Access: AccessTenantRead, handle: s.getRetention},
		{Method: http.MethodPut, Pattern: "/api/v1/sources/{id}/retention", Access: AccessTenantWrite, handle: s.putRetention},
		{Method: get, Pattern: "/api/v1/sources/{id}/retention/preview", Access: AccessTenantRead, handle: s.previewRetention},

		{Method: post, Pattern: "/api/v1/schedules", Access: AccessTenantWrite, handle: s.createSchedule},
		{Method: get, Pattern: "/api/v1/schedules", Access: AccessTenantRead, handle: s.listSchedules},
		{Method: get, Pattern: "/api/v1/schedules/{id}", Access: AccessTenantRead, handle: s.getSchedule},
		{Method: http.MethodPut, Pattern: "/api/v1/schedules/{id}", Access: AccessTenantWrite, handle: s.updateSchedule},
		{Method: del, Pattern: "/api/v1/schedules/{id}", Access: AccessTenantWrite, handle: s.deleteSchedule},
		{Method: post, Pattern: "/api/v1/retention/simulate", Access: AccessOperator, handle: s.simulateRetention},
		{Method: post, Pattern: "/api/v1/admin/retention/run", Access: AccessPlatform, handle: s.runRetention},
		{Method: post, Pattern: "/api/v1/admin/retention/run/{id}", Access: AccessPlatform, handle: s.runRetentionSource},

		{Method: post, Pattern: "/api/v1/jobs", Access: AccessTenantWrite, handle: s.createJob},
		{Method: get, Pattern: "/api/v1/jobs", Access: AccessTenantRead, handle: s.listJobs},
		{Method: get, Pattern: "/api/v1/jobs/{id}", Access: AccessTenantRead, handle: s.getJob},
		{Method: post, Pattern: "/api/v1/jobs/{id}/cancel", Access: AccessTenantWrite, handle: s.cancelJob},

		{Method: get, Pattern: "/api/v1/snapshots", Access: AccessTenantRead, handle: s.listSnapshots},
		{Method: get, Pattern: "/api/v1/snapshots/{id}", Access: AccessTenantRead, handle: s.getSnapshot},
		{Method: del, Pattern: "/api/v1/snapshots/{id}", Access: AccessTenantWrite, handle: s.deleteSnapshot},
		{Method: post, Pattern: "/api/v1/snapshots/{id}/restore", Access: AccessTenantWrite, handle: s.createRestore},
		{Method: post, Pattern: "/api/v1/snapshots/{id}/verify", Access: AccessTenantWrite, handle: s.verifySnapshot},
		{Method: post, Pattern: "/api/v1/snapshots/{id}/copy", Access: AccessTenantWrite, handle: s.copySnapshot},
		{Method: get, Pattern: "/api/v1/restores", Access: AccessTenantRead, handle: s.listRestores},
		{Method: get, Pattern: "/api/v1/restores/{id}", Access: AccessTenantRead, handle: s.getRestore},

		{Method: get, Pattern: "/api/v1/admin/settings", Access: AccessPlatform, handle: s.listSettings},
		{Method: get, Pattern: "/api/v1/admin/settings/{id}", Access: AccessPlatform, handle: s.getSetting},
		{Method: put, Pattern: "/api/v1/admin/settings/{id}", Access: AccessPlatform, handle: s.putSetting},

		{Method: get, Pattern: "/api/v1/audit", Access: AccessTenantRead, PlatformWide: true, handle: s.listAudit},

		// Events (issue 11): the live event stream (SSE).
		{Method: get, Pattern: "/api/v1/events", Access: AccessTenantRead, PlatformWide: true, handle: s.streamEvents},

		// Webhooks (issue 11): owner/admin only, since a webhook URL may itself be a capability.
		{Method: post, Pattern: "/api/v1/webhooks", Access: AccessTenantWrite, handle: s.createWebhook},
		{Method: get, Pattern: "/api/v1/webhooks", Access: AccessTenantWrite, handle: s.listWebhooks},
		{Method: get, Pattern: "/api/v1/webhooks/{id}", Access: AccessTenantWrite, handle: s.getWebhook},
		{Method: del, Pattern: "/api/v1/webhooks/{id}", Access: AccessTenantWrite, handle: s.deleteWebhook},
		{Method: post, Pattern: "/api/v1/webhooks/{id}/test", Access: AccessTenantWrite, handle: s.testWebhook},
		{Method: get, Pattern: "/api/v1/webhooks/{id}/deliveries", Access: AccessTenantWrite, handle: s.listWebhookDeliveries},

		{Method: post, Pattern: "/api/v1/agents/enrollment-tokens", Access: AccessPlatform, handle: s.createEnrollmentToken},
		{Method: get, Pattern: "/api/v1/agents/enrollment-tokens", Access: AccessPlatform, handle: s.listEnrollmentTokens},
		{Method: get, Pattern: "/api/v1/agents", Access: AccessPlatform, handle: s.listAgents},
		{Method: get, Pattern: "/api/v1/agents/{id}", Access: AccessPlatform, handle: s.getAgent},

		// Fleet health (issue 11): drain/undrain agents, a schedule's run history.
		{Method: post, Pattern: "/api/v1/agents/{id}/drain", Access: AccessPlatform, handle: s.drainAgent},
		{Method: post, Pattern: "/api/v1/agents/{id}/undrain", Access: AccessPlatform, handle: s.undrainAgent},
		{Method: get, Pattern: "/api/v1/schedules/{id}/runs", Access: AccessTenantRead, handle: s.listScheduleRuns},

		{Method: post, Pattern: "/api/v1/agent/enroll", Access: AccessEnroll, handle: s.enroll},
		{Method: post, Pattern: "/api/v1/agent/heartbeat", Access: AccessAgent, handle: s.heartbeat},
		{Method: post, Pattern: "/api/v1/agent/jobs/claim", Access: AccessAgent, handle: s.claim},
		{Method: post, Pattern: "/api/v1/agent/jobs/{id}/renew", Access: AccessAgent, handle: s.renew},
		{Method: post, Pattern: "/api/v1/agent/jobs/{id}/credentials", Access: AccessAgent, handle: s.releaseCredentials},
		{Method: post, Pattern: "/api/v1/agent/jobs/{id}/host-key", Access: AccessAgent, handle: s.reportHostKey},
		{Method: post, Pattern: "/api/v1/agent/jobs/{id}/complete", Access: AccessAgent, handle: s.complete},
		{Method: post, Pattern: "/api/v1/agent/jobs/{id}/tenant-identity", Access: AccessAgent, handle: s.releaseTenantIdentity},
		{Method: post, Pattern: "/api/v1/agent/restores/{id}/downloads", Access: AccessAgent, handle: s.reportDownload},
	}
}
