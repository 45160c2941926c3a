// Package api is the hub's HTTP JSON API: the operator routes under
// /api/v1, the agent protocol under /api/v1/agent, and /healthz, /readyz
// and /metrics. Every route is registered through one table (routes.go)
// that also says who may call it, so authentication, tenant resolution,
// logging and metrics happen in one place and tests can walk every route.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xvault/xvault/hubd/internal/auth"
	"github.com/xvault/xvault/hubd/internal/events"
	"github.com/xvault/xvault/hubd/internal/retention"
	"github.com/xvault/xvault/hubd/internal/store"
)

// Sealer encrypts secrets at rest with the KEK ring (keys.Ring).
type Sealer interface {
	Seal(plaintext, ad []byte) (ciphertext []byte, keyID string, err error)
	Open(ciphertext, ad []byte, keyID string) ([]byte, error)
}

// Waker wakes agents' long-poll claims when work is enqueued (queue.Notifier).
type Waker interface {
	// Notify wakes every waiting claimer (in this process and, on
	// PostgreSQL, in the other hub replicas).
	Notify(ctx context.Context)
	// Subscribe returns a channel that receives after the next Notify, and
	// a function to release it.
	Subscribe() (wake <-chan struct{}, release func())
}

// Config holds the API's dependencies.
type Config struct {
	DB      *store.DB
	Keys    Sealer
	Waker   Waker
	Log     *slog.Logger
	Version string
	// Lease is how long a claim or renewal holds a job (default 60 s).
	Lease time.Duration
	// AgentOfflineAfter marks agents offline when not seen for this long
	// (default 90 s, about three heartbeats).
	AgentOfflineAfter time.Duration
	// ClaimRecheck bounds a claim's wait between two looks at the queue, so
	// jobs whose backoff (run_after) ends are found without a wake-up.
	ClaimRecheck time.Duration
	// Backoff is the delay before a failed job's next attempt (queue.Backoff).
	Backoff func(attempt int) time.Duration
	// Now is the clock (tests replace it); default time.Now.
	Now func() time.Time
	// ChainGrace is how long a backup of a source with an incremental chain
	// waits for the chain's agent (XV_CHAIN_GRACE, default 1h): a new backup
	// is targeted at that agent while it was seen within the grace.
	ChainGrace time.Duration
	// Registry receives the API's metrics; default a fresh registry.
	Registry *prometheus.Registry
	// Retention applies retention policies (on demand, previews, and after
	// each successful backup); default a runner that is not started.
	Retention RetentionRunner
	// Events fans the event log out to GET /api/v1/events; default a
	// broker on DB (it runs while someone is subscribed).
	Events *events.Broker
	// AllowWebhookPrivate lets webhook URLs resolve to loopback and private
	// addresses (hubd --allow-webhook-private; --dev).
	AllowWebhookPrivate bool
}

// Server is the hub's HTTP API.
type Server struct {
	cfg      Config
	db       *store.DB
	log      *slog.Logger
	resolver *auth.Resolver
	metrics  *metrics
	mux      *http.ServeMux

	stopOnce sync.Once
	stopping chan struct{} // closed by BeginShutdown: long polls return

	retention RetentionRunner // Config.Retention or a runner that is not started
	events    *events.Broker  // Config.Events or a broker on DB
}

// New builds the API server and its router.
func New(cfg Config) *Server {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 60 * time.Second
	}
	if cfg.AgentOfflineAfter <= 0 {
		cfg.AgentOfflineAfter = 90 * time.Second
	}
	if cfg.ClaimRecheck <= 0 {
		cfg.ClaimRecheck = 5 * time.Second
	}
	if cfg.ChainGrace <= 0 {
		cfg.ChainGrace = store.DefaultChainGrace
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Server{
		cfg: cfg, db: cfg.DB, log: cfg.Log,
		stopping: make(chan struct{}),
	}
	s.resolver = &auth.Resolver{DB: cfg.DB, Now: s.now}
	s.retention = cfg.Retention
	if s.retention == nil {
		r := retention.NewRunner(cfg.DB, cfg.Waker, cfg.Log)
		r.Now = cfg.Now
		s.retention = r
	}
	s.events = cfg.Events
	if s.events == nil {
		s.events = &events.Broker{DB: cfg.DB, Log: cfg.Log}
	}
	s.metrics = newMetrics(cfg.Registry, s)
	s.mux = http.NewServeMux()
	for _, rt := range s.Routes() {
		s.mux.Handle(rt.Method+" "+rt.Pattern, s.wrap(rt))
	}
	s.mux.Handle("/", s.wrap(Route{Pattern: "/", Access: AccessPublic, handle: s.notFound}))
	return s
}

// Handler is the root HTTP handler.
func (s *Server) Handler() http.Handler { return s.mux }

// BeginShutdown makes waiting long polls return at once (empty), so the
// HTTP server's graceful shutdown is not held up by them.
func (s *Server) BeginShutdown() {
	s.stopOnce.Do(func() { close(s.stopping) })
}

func (s *Server) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }
