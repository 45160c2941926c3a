package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/xvault/xvault/agentd/agent"
	"github.com/xvault/xvault/sdk"
)

// devAgent returns the hub's OnReady hook for `hubd --dev`: it runs an agent
// in-process with its state in DIR/agent and snapshots in DIR/backups,
// enrolling it with a one-use token on first start. wg is done when the agent
// has stopped, so main can wait for its running jobs to hand back.
// downloadListen is where it serves restore downloads ("" = the default).
// The embedded agent may reach loopback and private addresses (the dev
// machine's own servers) and the local roots given.
// devAgentOptions are the embedded agent's settings from hubd's flags.
type devAgentOptions struct {
	DownloadListen                string
	LocalRoots                    []string
	ScratchMySQL, ScratchPostgres *agent.ScratchServer
}

func devAgent(dataDir string, opts devAgentOptions, log *slog.Logger, wg *sync.WaitGroup) func(ctx context.Context, hubURL, adminToken string) error {
	return func(ctx context.Context, hubURL, adminToken string) error {
		cfg := agent.Config{
			HubURL:        hubURL,
			Name:          "embedded",
			StateDir:      filepath.Join(dataDir, "agent"),
			StorageDir:    filepath.Join(dataDir, "backups"),
			ShutdownGrace: 8 * time.Second, // within the hub's 10 s shutdown timeout
			Logger:        log.With("component", "agent"),

			DownloadListen:         opts.DownloadListen,
			DownloadListenOptional: opts.DownloadListen == agent.DefaultDownloadListen,

			AllowLoopback: true,
			AllowPrivate:  true,
			LocalRoots:    opts.LocalRoots,

			ScratchMySQL:    opts.ScratchMySQL,
			ScratchPostgres: opts.ScratchPostgres,
		}
		if !agent.Enrolled(cfg.StateDir) {
			tok, err := sdk.New(hubURL, adminToken).CreateEnrollmentToken(ctx, sdk.CreateEnrollmentTokenRequest{
				Name: "embedded dev agent", ExpiresIn: "10m", Uses: 1,
			})
			if err != nil {
				return fmt.Errorf("embedded agent: create enrollment token: %w", err)
			}
			cfg.EnrollToken = tok.Token
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := agent.Run(ctx, cfg); err != nil {
				log.Error("embedded agent stopped", "err", err)
			}
		}()
		return nil
	}
}
