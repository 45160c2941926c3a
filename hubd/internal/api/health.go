package api

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xvault/xvault/sdk"
)

// GET /healthz: the process is up.
func (s *Server) healthz(ctx context.Context, c *call) (int, any, error) {
	return http.StatusOK, map[string]string{"status": "ok"}, nil
}

// GET /readyz: the database answers.
func (s *Server) readyz(ctx context.Context, c *call) (int, any, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := s.db.PingContext(ctx); err != nil {
		s.log.Warn("readiness: database ping failed", "error", err)
		return 0, nil, sdk.Errorf(sdk.CodeUnavailable, "database unreachable")
	}
	return http.StatusOK, map[string]string{"status": "ok"}, nil
}

// GET /metrics: Prometheus text format.
func (s *Server) metricsHandler(ctx context.Context, c *call) (int, any, error) {
	promhttp.HandlerFor(s.cfg.Registry, promhttp.HandlerOpts{}).ServeHTTP(c.w, c.r)
	return 0, nil, nil
}
