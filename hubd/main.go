// Command hubd is the xVault hub: the control-plane daemon serving the HTTP
// JSON API. `hubd --dev` runs self-contained from a data directory;
// `hubd serve` (the default) is for production. The logic lives in
// hubd/internal/hub; this file only maps flags and environment onto it.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/agentd/agent"
	"github.com/xvault/xvault/hubd/internal/hub"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newApp().RunContext(ctx, os.Args); err != nil {
		fmt.Fprintf(os.Stderr, "hubd: %v\n", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:    "hubd",
		Usage:   "the xVault hub (control plane)",
		Version: version,
		Flags:   append(serveFlags(), devFlags()...),
		Action:  runServe,
		Commands: []*cli.Command{
			{Name: "serve", Usage: "run the hub (the default command)", Flags: append(serveFlags(), devFlags()...), Action: runServe},
			migrateCommand(),
			adminTokenCommand(),
		},
		HideHelpCommand: true,
	}
}

func devFlags() []cli.Flag {
	return []cli.Flag{
		&cli.BoolFlag{Name: "dev", Usage: "run self-contained: SQLite, generated KEK and admin token in --data-dir"},
		&cli.StringFlag{Name: "data-dir", Value: hub.DefaultDataDir, Usage: "dev mode's data directory", EnvVars: []string{"XV_DATA_DIR"}},
		&cli.BoolFlag{Name: "no-agent", Usage: "dev mode: do not run the embedded agent (snapshots in DIR/backups)"},
		&cli.StringFlag{Name: "download-listen", Value: "127.0.0.1:8082", Usage: "dev mode: where the embedded agent serves restore downloads"},
		&cli.StringSliceFlag{Name: "allow-local-root", Usage: "dev mode: a directory local sources of the embedded agent may read (repeatable); none by default"},
		&cli.StringFlag{Name: "scratch-mysql", EnvVars: []string{"XV_SCRATCH_MYSQL"}, Usage: "dev mode: the embedded agent's scratch MySQL/MariaDB server for verify jobs: mysql://USER@HOST:PORT/"},
		&cli.StringFlag{Name: "scratch-mysql-password-file", EnvVars: []string{"XV_SCRATCH_MYSQL_PASSWORD_FILE"}, Usage: "dev mode: file (mode 0600) holding the --scratch-mysql password"},
		&cli.StringFlag{Name: "scratch-postgres", EnvVars: []string{"XV_SCRATCH_POSTGRES"}, Usage: "dev mode: the embedded agent's scratch PostgreSQL server for verify jobs: postgres://USER@HOST:PORT/DB?sslmode=…"},
		&cli.StringFlag{Name: "scratch-postgres-password-file", EnvVars: []string{"XV_SCRATCH_POSTGRES_PASSWORD_FILE"}, Usage: "dev mode: file (mode 0600) holding the --scratch-postgres password"},
	}
}

func databaseFlag() cli.Flag {
	return &cli.StringFlag{Name: "database-url", EnvVars: []string{"XV_DATABASE_URL"},
		Usage: "postgres://user@host:5432/db?sslmode=disable or sqlite:///path/hub.db"}
}

func serveFlags() []cli.Flag {
	return []cli.Flag{
		databaseFlag(),
		&cli.StringFlag{Name: "kek-file", EnvVars: []string{"XV_KEK_FILE"},
			Usage: "file holding the base64 KEK (mode 0600); or set XV_KEK (several comma-separated: the first encrypts)"},
		&cli.StringFlag{Name: "listen", Value: hub.DefaultListen, EnvVars: []string{"XV_LISTEN"}, Usage: "HTTP listen address"},
		&cli.DurationFlag{Name: "lease", Value: hub.DefaultLease, EnvVars: []string{"XV_LEASE"}, Usage: "job lease duration"},
		&cli.DurationFlag{Name: "retention-interval", Value: hub.DefaultRetentionInterval, EnvVars: []string{"XV_RETENTION_INTERVAL"},
			Usage: "how often every source's retention policy is applied (also after each backup)"},
		&cli.DurationFlag{Name: "scheduler-interval", Value: hub.DefaultSchedulerInterval, EnvVars: []string{"XV_SCHEDULER_INTERVAL"},
			Usage: "how often the scheduler looks for due schedule slots"},
		&cli.DurationFlag{Name: "chain-grace", Value: hub.DefaultChainGrace, EnvVars: []string{"XV_CHAIN_GRACE"},
			Usage: "how long a backup waits for its incremental chain's agent before any agent makes a full"},
		&cli.BoolFlag{Name: "migrate", EnvVars: []string{"XV_MIGRATE"}, Usage: "apply pending database migrations at start"},
		&cli.BoolFlag{Name: "allow-webhook-private", EnvVars: []string{"XV_ALLOW_WEBHOOK_PRIVATE"},
			Usage: "let webhook URLs reach loopback and private addresses (--dev allows them)"},
		&cli.StringFlag{Name: "log-level", Value: "info", EnvVars: []string{"XV_LOG_LEVEL"}, Usage: "debug, info, warn or error"},
		&cli.StringFlag{Name: "log-format", Value: "text", EnvVars: []string{"XV_LOG_FORMAT"}, Usage: "text or json"},
	}
}

func runServe(c *cli.Context) error {
	log, err := newLogger(c.String("log-level"), c.String("log-format"))
	if err != nil {
		return err
	}
	cfg := hub.Config{
		DatabaseURL: c.String("database-url"), Listen: c.String("listen"), Lease: c.Duration("lease"),
		Migrate: c.Bool("migrate"), Dev: c.Bool("dev"), DataDir: c.String("data-dir"),
		Version: version, Log: log, Stdout: os.Stdout,
	}
	cfg.RetentionInterval, cfg.SchedulerInterval = c.Duration("retention-interval"), c.Duration("scheduler-interval")
	cfg.AllowWebhookPrivate = c.Bool("allow-webhook-private")
	cfg.ChainGrace = c.Duration("chain-grace")
	if !cfg.Dev {
		if cfg.Keys, err = hub.LoadKeys(os.Getenv("XV_KEK"), c.String("kek-file")); err != nil {
			return err
		}
	}
	if cfg.Dev && !c.Bool("no-agent") {
		var agentDone sync.WaitGroup
		opts := devAgentOptions{DownloadListen: c.String("download-listen"), LocalRoots: c.StringSlice("allow-local-root")}
		if opts.ScratchMySQL, err = agent.Scratch(c.String("scratch-mysql"), c.String("scratch-mysql-password-file")); err != nil {
			return err
		}
		if opts.ScratchPostgres, err = agent.Scratch(c.String("scratch-postgres"), c.String("scratch-postgres-password-file")); err != nil {
			return err
		}
		cfg.OnReady = devAgent(cfg.DataDir, opts, log, &agentDone)
		cfg.BeforeShutdown = func(ctx context.Context) { waitGroup(ctx, &agentDone) }
	}
	return hub.Run(c.Context, cfg)
}

// waitGroup waits for wg or ctx, whichever comes first.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

func requireDatabase(c *cli.Context) (string, error) {
	url := c.String("database-url")
	if url == "" {
		return "", fmt.Errorf("no database: set XV_DATABASE_URL or --database-url (postgres://… or sqlite:///path/hub.db)")
	}
	return url, nil
}

func migrateCommand() *cli.Command {
	return &cli.Command{
		Name:  "migrate",
		Usage: "apply or show database migrations",
		Subcommands: []*cli.Command{
			{Name: "up", Usage: "apply pending migrations", Flags: []cli.Flag{databaseFlag()},
				Action: func(c *cli.Context) error {
					url, err := requireDatabase(c)
					if err != nil {
						return err
					}
					return hub.MigrateUp(c.Context, url, os.Stdout)
				}},
			{Name: "status", Usage: "list migrations and whether they are applied", Flags: []cli.Flag{databaseFlag()},
				Action: func(c *cli.Context) error {
					url, err := requireDatabase(c)
					if err != nil {
						return err
					}
					return hub.MigrateStatus(c.Context, url, os.Stdout)
				}},
		},
	}
}

func adminTokenCommand() *cli.Command {
	return &cli.Command{
		Name:  "admin-token",
		Usage: "manage platform admin tokens",
		Subcommands: []*cli.Command{{
			Name:  "create",
			Usage: "create a platform admin token and print it (shown once)",
			Flags: []cli.Flag{databaseFlag(), &cli.StringFlag{Name: "name", Value: "admin", Usage: "token name"}},
			Action: func(c *cli.Context) error {
				url, err := requireDatabase(c)
				if err != nil {
					return err
				}
				token, err := hub.CreateAdminToken(c.Context, url, c.String("name"))
				if err != nil {
					return err
				}
				fmt.Fprintln(os.Stdout, token)
				return nil
			},
		}},
	}
}
