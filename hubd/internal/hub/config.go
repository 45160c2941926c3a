// Package hub assembles the hub daemon: configuration, opening and
// migrating the database, dev mode (a self-contained data directory), the
// HTTP server with graceful shutdown, and the background loops (lease
// rescuer, cross-replica wake-ups). hubd/main.go only parses flags into a
// Config and calls Run.
package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/xvault/xvault/hubd/internal/keys"
	"github.com/xvault/xvault/hubd/internal/store"
)

// Defaults of the hub's settings.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultLease           = 60 * time.Second
	DefaultDataDir         = "./xvault-data"
	DefaultShutdownTimeout = 10 * time.Second
	// DefaultRetentionInterval: how often every source's policy is applied.
	DefaultRetentionInterval = 6 * time.Hour
	// DefaultSchedulerInterval: how often due schedule slots are looked for.
	DefaultSchedulerInterval = 5 * time.Second
	// DefaultChainGrace: how long a backup waits for its chain's agent.
	DefaultChainGrace = store.DefaultChainGrace
)

// Config is everything Run needs.
type Config struct {
	// DatabaseURL is postgres://… or sqlite:///path (dev mode sets it).
	DatabaseURL string
	// Keys is the KEK ring (dev mode loads or makes DataDir/kek).
	Keys *keys.Ring
	// Listen is the HTTP address; port 0 picks a free port.
	Listen string
	// Lease is how long a claim or renewal holds a job.
	Lease time.Duration
	// RetentionInterval is how often every source's retention policy is
	// applied (XV_RETENTION_INTERVAL); it also runs after each backup.
	RetentionInterval time.Duration
	// SchedulerInterval is how often the scheduler looks for due slots.
	SchedulerInterval time.Duration
	// ChainGrace is how long a backup of a source with an incremental chain
	// waits for the chain's agent (XV_CHAIN_GRACE); after that any agent
	// may take it and makes a full.
	ChainGrace time.Duration
	// Migrate applies pending migrations at start; otherwise a schema that
	// is behind refuses to start. Dev mode always migrates.
	Migrate bool
	// AllowWebhookPrivate lets webhooks go to loopback and private addresses
	// (--allow-webhook-private); dev mode always allows them.
	AllowWebhookPrivate bool

	// Dev runs self-contained from DataDir: SQLite, a generated KEK, and a
	// platform admin token kept in DataDir/admin-token.
	Dev     bool
	DataDir string

	Version string
	Log     *slog.Logger
	// Stdout receives what a user must see (dev mode's token exports).
	Stdout io.Writer
	// ShutdownTimeout bounds the wait for running requests at shutdown.
	ShutdownTimeout time.Duration

	// OnReady, when set, runs once the server accepts requests, with the
	// hub's base URL and (dev mode only, else "") the platform admin token.
	// This is where dev mode starts its embedded agent. An error stops the
	// hub; a long-running job belongs in a goroutine bound to ctx, which is
	// canceled when the hub shuts down.
	OnReady func(ctx context.Context, hubURL, adminToken string) error
	// BeforeShutdown, when set, runs once ctx is done and before the HTTP
	// server stops, with a context bounded by ShutdownTimeout: an embedded
	// agent waits here until it has handed back its jobs, while the API
	// still answers.
	BeforeShutdown func(ctx context.Context)
}

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Lease <= 0 {
		c.Lease = DefaultLease
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.RetentionInterval <= 0 {
		c.RetentionInterval = DefaultRetentionInterval
	}
	if c.SchedulerInterval <= 0 {
		c.SchedulerInterval = DefaultSchedulerInterval
	}
	if c.ChainGrace <= 0 {
		c.ChainGrace = DefaultChainGrace
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.Version == "" {
		c.Version = "dev"
	}
}

// ErrNoKEK is returned when neither XV_KEK nor a KEK file is configured.
var ErrNoKEK = errors.New("no KEK configured: set XV_KEK (base64 of 32 random bytes, several comma-separated for rotation) " +
	"or --kek-file (hint: `openssl rand -base64 32`, or try `hubd --dev`)")

// LoadKeys builds the KEK ring from XV_KEK's value (comma-separated base64
// keys, the first encrypts) and/or a KEK file (which then encrypts). The
// errors never echo key material.
func LoadKeys(kekEnv, kekFile string) (*keys.Ring, error) {
	var keks []keys.KEK
	if kekFile != "" {
		k, err := keys.LoadKEKFile(kekFile)
		if err != nil {
			return nil, err
		}
		keks = append(keks, k)
	}
	for i, part := range strings.Split(kekEnv, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, err := keys.ParseKEK(part)
		if err != nil {
			return nil, fmt.Errorf("XV_KEK key %d: %w", i+1, err)
		}
		keks = append(keks, k)
	}
	if len(keks) == 0 {
		return nil, ErrNoKEK
	}
	return keys.NewRing(keks...)
}
