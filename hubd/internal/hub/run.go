package hub

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/xvault/xvault/hubd/internal/api"
	"github.com/xvault/xvault/hubd/internal/events"
	"github.com/xvault/xvault/hubd/internal/health"
	"github.com/xvault/xvault/hubd/internal/metrics"
	"github.com/xvault/xvault/hubd/internal/queue"
	"github.com/xvault/xvault/hubd/internal/retention"
	"github.com/xvault/xvault/hubd/internal/schedule"
	"github.com/xvault/xvault/hubd/internal/store"
	"github.com/xvault/xvault/hubd/internal/webhook"
)

// Run runs the hub until ctx is canceled, then shuts down gracefully: it
// stops accepting connections, ends waiting long polls, lets running
// requests finish within ShutdownTimeout and stops the background loops.
func Run(ctx context.Context, cfg Config) error {
	cfg.setDefaults()
	if cfg.Dev {
		if err := prepareDev(&cfg); err != nil {
			return err
		}
	}
	switch {
	case cfg.Keys == nil:
		return ErrNoKEK
	case cfg.DatabaseURL == "":
		return errors.New("no database configured: set XV_DATABASE_URL (postgres://… or sqlite:///path/hub.db), or try `hubd --dev`")
	}
	db, err := openSchema(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	var adminToken string
	if cfg.Dev {
		if adminToken, err = devAdminToken(ctx, &cfg, db); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	return serve(ctx, cfg, db, ln, adminToken)
}

// openSchema opens the database and applies (Migrate) or checks the schema.
func openSchema(ctx context.Context, cfg Config) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.Migrate {
		err = store.Migrate(ctx, db)
	} else {
		err = checkSchema(ctx, db)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// checkSchema refuses a database whose schema is behind this binary.
func checkSchema(ctx context.Context, db *store.DB) error {
	ms, err := store.MigrationStatus(ctx, db)
	if err != nil {
		return err
	}
	pending := 0
	for _, m := range ms {
		if !m.Applied {
			pending++
		}
	}
	if pending > 0 {
		return fmt.Errorf("database schema is behind: %d migration(s) pending (hint: run `hubd migrate up`, or start with --migrate)", pending)
	}
	return nil
}

// serve runs the HTTP server and the background loops on ln until ctx ends.
func serve(ctx context.Context, cfg Config, db *store.DB, ln net.Listener, adminToken string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	notifier := queue.NewNotifier(db, cfg.Log)
	go func() { _ = notifier.Listen(ctx) }()
	retainer := retention.NewRunner(db, notifier, cfg.Log)
	retainer.Interval = cfg.RetentionInterval
	broker := &events.Broker{DB: db, Log: cfg.Log} // tails the event log for GET /api/v1/events
	apiSrv := api.New(api.Config{DB: db, Keys: cfg.Keys, Waker: notifier, Log: cfg.Log, Version: cfg.Version,
		Lease: cfg.Lease, Backoff: queue.Backoff, Retention: retainer, Events: broker, ChainGrace: cfg.ChainGrace,
		AllowWebhookPrivate: cfg.AllowWebhookPrivate || cfg.Dev})
	// No WriteTimeout: it would cut every event stream; the stream sets a
	// deadline per write instead (http.ResponseController).
	httpSrv := &http.Server{Handler: apiSrv.Handler(), ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout: 2 * time.Minute}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()

	pruner := &events.Pruner{DB: db, Log: cfg.Log} // keeps the event log's durable window bounded
	pruner.Start(ctx)
	defer pruner.Stop()

	rescuer := queue.NewRescuer(db, notifier, cfg.Log)
	rescuer.Backoff, rescuer.ChainGrace = queue.Backoff, cfg.ChainGrace
	rescuer.Start(ctx)
	defer rescuer.Stop()

	scheduler := &schedule.Scheduler{DB: db, Waker: notifier, Log: cfg.Log, Interval: cfg.SchedulerInterval,
		ChainGrace: cfg.ChainGrace}
	scheduler.Start(ctx)
	defer scheduler.Stop()
	retainer.Start(ctx)
	defer retainer.Stop()
	monitor := &health.Monitor{DB: db, Log: cfg.Log} // agents going offline, overdue sources
	monitor.Start(ctx)
	defer monitor.Stop()
	// Webhooks: fans events out and sends them in its own goroutines.
	hooks := &webhook.Dispatcher{DB: db, Keys: cfg.Keys, Log: cfg.Log,
		Policy: webhook.Policy{AllowPrivate: cfg.AllowWebhookPrivate || cfg.Dev}, Outcome: metrics.WebhookDelivery}
	hooks.Start(ctx)
	defer hooks.Stop()

	hubURL := "http://" + ln.Addr().String()
	cfg.Log.Info("hub listening", "url", hubURL, "database", db.DialectName, "version", cfg.Version,
		"lease", cfg.Lease, "kek_id", cfg.Keys.PrimaryID())
	if cfg.Dev {
		printDevBanner(&cfg, hubURL, adminToken)
	}
	var runErr error
	if cfg.OnReady != nil {
		runErr = cfg.OnReady(ctx, hubURL, adminToken)
	}
	if runErr == nil {
		select {
		case <-ctx.Done():
		case err := <-serveErr:
			runErr = fmt.Errorf("http server: %w", err)
		}
	}
	cancel() // background work bound to ctx (OnReady's) starts stopping
	if cfg.BeforeShutdown != nil {
		bctx, bcancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		cfg.BeforeShutdown(bctx)
		bcancel()
	}
	return errors.Join(runErr, shutdown(cfg, apiSrv, httpSrv))
}

func shutdown(cfg Config, apiSrv *api.Server, httpSrv *http.Server) error {
	cfg.Log.Info("hub shutting down", "timeout", cfg.ShutdownTimeout)
	apiSrv.BeginShutdown()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(ctx); err != nil {
		_ = httpSrv.Close()
		return fmt.Errorf("graceful shutdown: %w", err)
	}
	return nil
}
