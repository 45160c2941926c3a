// Command agentd is xVault's worker daemon: it enrolls with a hub, long-polls
// for jobs, pulls data from customers' systems into encrypted snapshots on
// its own disk, and serves restores.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/xvault/xvault/agentd/agent"
)

func main() {
	app := &cli.App{
		Name:  "agentd",
		Usage: "xVault agent: pulls backups for the hub and keeps them on this machine's disk",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "hub", EnvVars: []string{"XV_HUB_URL"}, Usage: "hub URL, e.g. https://hub.example.com", Required: true},
			&cli.StringFlag{Name: "enroll-token", EnvVars: []string{"XV_ENROLL_TOKEN"}, Usage: "enrollment token (first start only; xv agent enroll-token create)"},
			&cli.StringFlag{Name: "name", EnvVars: []string{"XV_AGENT_NAME"}, Usage: "agent name shown in xv agent list (default: hostname)"},
			&cli.StringFlag{Name: "state-dir", EnvVars: []string{"XV_STATE_DIR"}, Value: "/var/lib/xvault/agent", Usage: "agent identity and token"},
			&cli.StringFlag{Name: "storage-dir", EnvVars: []string{"XV_STORAGE_DIR"}, Value: "/var/lib/xvault/backups", Usage: "where snapshots are kept"},
			&cli.IntFlag{Name: "concurrency", EnvVars: []string{"XV_CONCURRENCY"}, Value: 2, Usage: "jobs run at once"},
			&cli.DurationFlag{Name: "shutdown-grace", EnvVars: []string{"XV_SHUTDOWN_GRACE"}, Value: 30 * time.Second, Usage: "on SIGTERM, how long running jobs may finish before they are aborted"},
			&cli.StringFlag{Name: "log-level", EnvVars: []string{"XV_LOG_LEVEL"}, Value: "info", Usage: "debug, info, warn or error"},
			&cli.StringFlag{Name: "download-listen", EnvVars: []string{"XV_DOWNLOAD_LISTEN"}, Value: agent.DefaultDownloadListen, Usage: "address serving restore downloads (GET /download/{token}); empty: none"},
			&cli.BoolFlag{Name: "allow-loopback", EnvVars: []string{"XV_ALLOW_LOOPBACK"}, Usage: "let sources reach loopback addresses and local unix sockets"},
			&cli.BoolFlag{Name: "allow-private", EnvVars: []string{"XV_ALLOW_PRIVATE"}, Usage: "let sources reach private addresses (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10)"},
			&cli.StringSliceFlag{Name: "allow-local-root", Usage: "a directory local sources may read (repeatable); none by default"},
			&cli.StringFlag{Name: "scratch-mysql", EnvVars: []string{"XV_SCRATCH_MYSQL"}, Usage: "verify jobs load MySQL/MariaDB dumps into throwaway databases here: mysql://USER@HOST:PORT/"},
			&cli.StringFlag{Name: "scratch-mysql-password-file", EnvVars: []string{"XV_SCRATCH_MYSQL_PASSWORD_FILE"}, Usage: "file (mode 0600) holding the --scratch-mysql password"},
			&cli.StringFlag{Name: "scratch-postgres", EnvVars: []string{"XV_SCRATCH_POSTGRES"}, Usage: "verify jobs load PostgreSQL dumps into throwaway databases here: postgres://USER@HOST:PORT/DB?sslmode=…"},
			&cli.StringFlag{Name: "scratch-postgres-password-file", EnvVars: []string{"XV_SCRATCH_POSTGRES_PASSWORD_FILE"}, Usage: "file (mode 0600) holding the --scratch-postgres password"},
			&cli.StringFlag{Name: "metrics-listen", EnvVars: []string{"XV_METRICS_LISTEN"}, Usage: "address serving Prometheus metrics (GET /metrics), e.g. 127.0.0.1:9101; empty (default): none"},
			&cli.DurationFlag{Name: "s3-stale-upload-age", EnvVars: []string{"XV_S3_STALE_UPLOAD_AGE"}, Value: agent.DefaultS3StaleUploadAge, Usage: "a backup to S3 aborts unfinished multipart uploads below its source older than this; keep it longer than the longest backup"},
			&cli.StringFlag{Name: "public-url", EnvVars: []string{"XV_PUBLIC_URL"}, Usage: "base URL of download links, as users reach this agent (default http://{download-listen})"},
		},
		Action: run,
	}
	if err := app.Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "agentd:", err)
		os.Exit(1)
	}
}

func run(c *cli.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	name := c.String("name")
	if name == "" {
		name, _ = os.Hostname()
	}
	scratchMySQL, err := agent.Scratch(c.String("scratch-mysql"), c.String("scratch-mysql-password-file"))
	if err != nil {
		return err
	}
	scratchPostgres, err := agent.Scratch(c.String("scratch-postgres"), c.String("scratch-postgres-password-file"))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(c.Context, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	return agent.Run(ctx, agent.Config{
		HubURL:        c.String("hub"),
		EnrollToken:   c.String("enroll-token"),
		Name:          name,
		StateDir:      c.String("state-dir"),
		StorageDir:    c.String("storage-dir"),
		Concurrency:   c.Int("concurrency"),
		ShutdownGrace: c.Duration("shutdown-grace"),
		Logger:        log,

		DownloadListen: c.String("download-listen"),
		PublicURL:      c.String("public-url"),
		MetricsListen:  c.String("metrics-listen"),

		AllowLoopback: c.Bool("allow-loopback"),
		AllowPrivate:  c.Bool("allow-private"),
		LocalRoots:    c.StringSlice("allow-local-root"),

		ScratchMySQL:    scratchMySQL,
		ScratchPostgres: scratchPostgres,

		S3StaleUploadAge: c.Duration("s3-stale-upload-age"),
	})
}
