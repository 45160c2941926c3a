package api

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/xvault/xvault/sdk"
)

// objectTables maps the collection of a tenant route /api/v1/<collection>/{id}
// onto the table whose row names the object's tenant. A collection not
// listed here keeps needing tenant_id from a platform admin.
var objectTables = map[string]string{
	"credentials": "credentials",
	"sources":     "sources",
	"schedules":   "schedules",
	"jobs":        "jobs",
	"snapshots":   "snapshots",
	"restores":    "restores",
	"tokens":      "api_tokens",
	"webhooks":    "webhooks",
}

// objectTenant resolves, for a platform admin who passed no tenant_id, the
// tenant of the object a tenant route names by id (xv job show ID without
// --tenant). ok is false when the route names no object this way; an id
// that names no tenant's object is not_found. Tenant tokens never get here:
// their tenant is the token's.
func (s *Server) objectTenant(ctx context.Context, c *call) (tenantID string, ok bool, err error) {
	rest, found := strings.CutPrefix(c.route.Pattern, "/api/v1/")
	if !found {
		return "", false, nil
	}
	collection, tail, _ := strings.Cut(rest, "/")
	table, known := objectTables[collection]
	if !known || (tail != "{id}" && !strings.HasPrefix(tail, "{id}/")) {
		return "", false, nil
	}
	id := c.r.PathValue("id")
	var tenant *string
	err = s.db.NewSelect().Table(table).Column("tenant_id").Where("id = ?", id).Limit(1).Scan(ctx, &tenant)
	if err != nil || tenant == nil || *tenant == "" {
		if err == nil || errors.Is(err, sql.ErrNoRows) {
			return "", true, sdk.Errorf(sdk.CodeNotFound, "%s %s not found in any tenant", strings.TrimSuffix(collection, "s"), id)
		}
		return "", true, wrapf(err, "resolve the tenant of %s %s", collection, id)
	}
	return *tenant, true, nil
}
