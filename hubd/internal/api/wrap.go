package api

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/xvault/xvault/hubd/internal/auth"
	"github.com/xvault/xvault/sdk"
)

// call is one request on its way through a route.
type call struct {
	w        http.ResponseWriter
	r        *http.Request
	route    *Route
	caller   *auth.Caller // nil on public and enroll routes
	tenantID string       // resolved tenant of tenant-scoped routes ("" = platform-wide)
}

// remoteAddr is the client's address without its port (audit events).
func (c *call) remoteAddr() string {
	host, _, err := net.SplitHostPort(c.r.RemoteAddr)
	if err != nil {
		return c.r.RemoteAddr
	}
	return host
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap turns a route into an http.Handler: authenticate and authorize,
// run the handler, write its answer, then log and count the request. A
// streaming handler (GET /api/v1/events) writes the response itself and
// returns status 0.
func (s *Server) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		c := &call{w: sw, r: r, route: &rt}
		status, body, err := s.serve(r.Context(), c)
		if err == nil && r.Method != http.MethodGet {
			s.events.Notify() // a change committed; its events go out now, not at the next poll
		}
		switch {
		case err != nil:
			s.writeError(c, err)
		case status != 0:
			writeJSON(sw, status, body)
		}
		s.observe(c, sw.status, time.Since(start))
	})
}

func (s *Server) serve(ctx context.Context, c *call) (int, any, error) {
	if err := s.authorize(ctx, c); err != nil {
		return 0, nil, err
	}
	if c.caller != nil {
		ctx = auth.WithCaller(ctx, c.caller)
	}
	return c.route.handle(ctx, c)
}

// authorize resolves the caller and checks the route's access class.
func (s *Server) authorize(ctx context.Context, c *call) error {
	access := c.route.Access
	if access == AccessPublic || access == AccessEnroll {
		return nil
	}
	caller, err := s.resolver.Resolve(ctx, c.r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	c.caller = caller
	switch access {
	case AccessAgent:
		if !caller.IsAgent() {
			return sdk.Errorf(sdk.CodePermissionDenied, "this route takes an agent token")
		}
		return nil
	case AccessPlatform:
		if !caller.IsPlatformAdmin() {
			return sdk.Errorf(sdk.CodePermissionDenied, "this route needs a platform admin token")
		}
		return nil
	}
	if !caller.IsOperator() {
		return sdk.Errorf(sdk.CodePermissionDenied, "agent tokens open only /api/v1/agent/*")
	}
	if access == AccessTenantRead || access == AccessTenantWrite {
		return s.resolveTenant(ctx, c, access == AccessTenantWrite)
	}
	return nil
}

// resolveTenant sets c.tenantID: a tenant token's own tenant, or the
// tenant_id a platform admin names (which must exist).
func (s *Server) resolveTenant(ctx context.Context, c *call, write bool) error {
	named := c.r.URL.Query().Get("tenant_id")
	switch {
	case c.caller.Kind == sdk.TokenTenant:
		if named != "" && named != c.caller.TenantID {
			return sdk.Errorf(sdk.CodePermissionDenied, "tenant_id names another tenant than the token's")
		}
		c.tenantID = c.caller.TenantID
	case named == "" && c.route.PlatformWide && !write:
		return nil
	case named == "":
		// A platform admin acting on one object by id: the object names its tenant.
		id, ok, err := s.objectTenant(ctx, c)
		if err != nil {
			return err
		}
		if !ok {
			return &sdk.Error{Code: sdk.CodeInvalidArgument,
				Message: "platform admin tokens must name a tenant; hint: add ?tenant_id=ID (xv --tenant ID)",
				Fields:  map[string]string{"tenant_id": "is required"}}
		}
		c.tenantID = id
	default:
		if _, err := s.tenant(ctx, named); err != nil {
			return err
		}
		c.tenantID = named
	}
	if write && !c.caller.CanWrite(c.tenantID) {
		return sdk.Errorf(sdk.CodePermissionDenied, "role %s is read-only; hint: use an owner or admin token", c.caller.Role)
	}
	return nil
}

// observe logs the request and counts it in the metrics. It never logs
// headers (the Authorization header holds a secret) or bodies.
func (s *Server) observe(c *call, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK
	}
	s.metrics.observe(c.route.Method, c.route.Pattern, status, d)
	level := slog.LevelInfo
	if c.route.Access == AccessPublic && status < 500 {
		level = slog.LevelDebug
	}
	attrs := []slog.Attr{
		slog.String("method", c.r.Method), slog.String("route", c.route.Pattern),
		slog.Int("status", status), slog.Duration("duration", d), slog.String("remote", c.remoteAddr()),
	}
	if c.tenantID != "" {
		attrs = append(attrs, slog.String("tenant_id", c.tenantID))
	}
	if c.caller != nil {
		attrs = append(attrs, slog.String("token_id", c.caller.TokenID))
		if c.caller.AgentID != "" {
			attrs = append(attrs, slog.String("agent_id", c.caller.AgentID))
		}
	}
	s.log.LogAttrs(c.r.Context(), level, "http request", attrs...)
}
