// Package agent is xVault's worker: it long-polls the hub for jobs, pulls
// data from customers' systems through connectors, streams it into encrypted
// artifacts on its own disk, and reports back. agentd runs it as a daemon;
// `hubd --dev` runs one in-process.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/xvault/xvault/agentd/internal/incremental"
	"github.com/xvault/xvault/agentd/internal/storage"
	"github.com/xvault/xvault/sdk"
)

// Version is reported to the hub at enrollment and in heartbeats.
var Version = "dev"

// Config configures one agent.
type Config struct {
	HubURL        string
	EnrollToken   string // needed only on first start
	Name          string
	StateDir      string        // identity and agent token (0700)
	StorageDir    string        // snapshots
	Concurrency   int           // jobs at once, default 2
	ShutdownGrace time.Duration // how long running jobs may finish after ctx ends, default 30s
	Logger        *slog.Logger
	HTTPClient    *http.Client

	// Protocol timings; zero means the default.
	ClaimWait         time.Duration // long-poll wait, default 30s
	RenewInterval     time.Duration // default 5s
	HeartbeatInterval time.Duration // default 15s

	// Restore downloads (GET /download/{token}). DownloadListen "" serves
	// none; PublicURL is the links' base (default http://{listen address}).
	// DownloadListenOptional logs instead of failing when the address is
	// taken (hubd --dev's embedded agent).
	DownloadListen         string
	PublicURL              string
	DownloadListenOptional bool
	CleanupInterval        time.Duration // expired restores, default 1m

	// MetricsListen serves Prometheus metrics (GET /metrics) on this
	// address; "" (the default) serves none.
	MetricsListen string

	// Egress: loopback and private addresses are refused unless allowed
	// (link-local, multicast and unspecified ones always are).
	AllowLoopback bool
	AllowPrivate  bool
	// LocalRoots are the directories local sources may read
	// (--allow-local-root); none by default.
	LocalRoots []string

	// S3StaleUploadAge: a backup to S3 aborts the unfinished multipart
	// uploads below its source's prefix older than this (0: 24 h).
	S3StaleUploadAge time.Duration

	// Scratch servers verify jobs load dumps into; nil: dumps are checked
	// structurally only (docs/restore.md).
	ScratchMySQL    *ScratchServer
	ScratchPostgres *ScratchServer
}

func (c *Config) setDefaults() error {
	if c.HubURL == "" {
		return errors.New("hub URL is required (--hub or XV_HUB_URL)")
	}
	if c.StateDir == "" || c.StorageDir == "" {
		return errors.New("state dir and storage dir are required")
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 2
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 30 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.ClaimWait <= 0 {
		c.ClaimWait = 30 * time.Second
	}
	if c.RenewInterval <= 0 {
		c.RenewInterval = 5 * time.Second
	}
	if c.HeartbeatInterval <= 0 {
		c.HeartbeatInterval = 15 * time.Second
	}
	if c.CleanupInterval <= 0 {
		c.CleanupInterval = time.Minute
	}
	if c.ScratchMySQL != nil {
		if _, err := scratchMySQL(c.ScratchMySQL); err != nil {
			return err
		}
	}
	if c.ScratchPostgres != nil {
		if _, err := scratchPostgres(c.ScratchPostgres); err != nil {
			return err
		}
	}
	return nil
}

// Agent is a running agent.
type Agent struct {
	cfg Config
	// indexCache keeps the incremental index of each source's newest snapshot.
	indexCache incremental.Cache
	log        *slog.Logger
	st         *state
	hub        *sdk.Client
	store      *storage.Store

	downloads *downloads // nil: no download server, restores fail

	localRoots []string // cfg.LocalRoots, resolved
	ownDirs    []string // state and storage dirs, resolved: never a local source

	mu      sync.Mutex
	running map[string]context.CancelFunc // job id → abort
	meter   pipelineMeter                 // bytes through jobs, for metrics

	// drained: a platform admin drained this agent (from the last
	// heartbeat's answer); the claim loop then claims nothing.
	drained atomic.Bool
}

// tmpDirName is the state dir's folder of per-job private temp dirs.
const tmpDirName = "tmp"

// resolveDirs makes each directory absolute and resolves its symlinks.
func resolveDirs(dirs []string) ([]string, error) {
	var out []string
	for _, d := range dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
		fi, err := os.Stat(real)
		if err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("%s is not a directory", d)
		}
		out = append(out, real)
	}
	return out, nil
}

// capabilities tell the hub what this agent can run: "backup:<source
// type>" for every source type in the connector registry, and job types.
func capabilities() []string {
	return []string{"backup:ssh", "backup:sftp", "backup:local", "backup:ftp", "backup:mysql", "backup:postgres", "backup:wordpress", "delete_snapshot", "restore", "restore:database", "test_connection", "verify", sdk.CapabilityIncremental, sdk.CapabilityStorageS3}
}

// Run enrolls (first start), then serves jobs until ctx ends. On ctx end it
// stops claiming, gives running jobs ShutdownGrace to finish, then aborts
// them (their leases lapse and the hub re-queues them).
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.setDefaults(); err != nil {
		return err
	}
	a, err := newAgent(ctx, cfg)
	if err != nil {
		return err
	}
	stopDownloads, err := a.startDownloads(ctx)
	if err != nil {
		return err
	}
	defer stopDownloads()
	_, stopMetrics, err := a.startMetrics()
	if err != nil {
		return err
	}
	defer stopMetrics()
	return a.serve(ctx)
}

func newAgent(ctx context.Context, cfg Config) (*Agent, error) {
	st, err := loadOrEnroll(ctx, cfg)
	if err != nil {
		return nil, err
	}
	store, err := storage.Open(cfg.StorageDir)
	if err != nil {
		return nil, fmt.Errorf("open storage: %w", err)
	}
	// At start this agent holds no job, so every partial artifact is a leftover.
	removed, err := store.CleanupPartials(func(string) bool { return false })
	if err != nil {
		return nil, fmt.Errorf("clean partial artifacts: %w", err)
	}
	log := cfg.Logger.With("agent_id", st.AgentID)
	for _, p := range removed {
		log.Info("removed leftover partial artifact", "path", p)
	}
	if err := os.RemoveAll(filepath.Join(cfg.StateDir, tmpDirName)); err != nil {
		return nil, fmt.Errorf("clean job temp dirs: %w", err)
	}
	roots, err := resolveDirs(cfg.LocalRoots)
	if err != nil {
		return nil, fmt.Errorf("--allow-local-root: %w", err)
	}
	own, err := resolveDirs([]string{cfg.StateDir, cfg.StorageDir})
	if err != nil {
		return nil, err
	}
	return &Agent{
		cfg: cfg, log: log, st: st, store: store, localRoots: roots, ownDirs: own,
		indexCache: incremental.Cache{Dir: cfg.StateDir},
		hub:        sdk.New(cfg.HubURL, st.Token, sdk.WithHTTPClient(cfg.HTTPClient)),
		running:    map[string]context.CancelFunc{},
	}, nil
}

func (a *Agent) serve(ctx context.Context) error {
	a.log.Info("agent started", "hub", a.cfg.HubURL, "storage", a.cfg.StorageDir, "concurrency", a.cfg.Concurrency)
	// Jobs outlive ctx by the grace period: they get their own context.
	jobsCtx, abortJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer abortJobs()

	var hbWG sync.WaitGroup
	hbWG.Add(1)
	go func() { defer hbWG.Done(); a.heartbeatLoop(ctx) }()

	var jobs sync.WaitGroup
	slots := make(chan struct{}, a.cfg.Concurrency)
	a.claimLoop(ctx, jobsCtx, slots, &jobs)

	a.log.Info("shutting down: no new jobs; waiting for running jobs", "grace", a.cfg.ShutdownGrace, "running", a.runningCount())
	done := make(chan struct{})
	go func() { jobs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(a.cfg.ShutdownGrace):
		a.log.Warn("grace period over: aborting running jobs; the hub re-queues them when their leases lapse")
		abortJobs()
		<-done
	}
	hbWG.Wait()
	a.log.Info("agent stopped")
	return nil
}

// claimLoop claims one job whenever a slot is free: an idle agent makes one
// long-poll request per wait period.
func (a *Agent) claimLoop(ctx, jobsCtx context.Context, slots chan struct{}, jobs *sync.WaitGroup) {
	failures := 0
	for {
		if a.drained.Load() { // finish running jobs, claim no new ones
			if !sleep(ctx, a.cfg.HeartbeatInterval) {
				return
			}
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		resp, err := a.hub.Claim(ctx, sdk.ClaimRequest{WaitSeconds: int(a.cfg.ClaimWait / time.Second)})
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return
			}
			failures++
			delay := min(time.Duration(failures)*time.Second, 30*time.Second)
			a.log.Warn("claim failed; retrying", "err", err, "in", delay)
			if !sleep(ctx, delay) {
				return
			}
			continue
		}
		failures = 0
		if resp.Job == nil {
			<-slots
			continue
		}
		jobs.Add(1)
		go func(j *sdk.ClaimedJob) {
			defer jobs.Done()
			defer func() { <-slots }()
			a.runJob(jobsCtx, j)
		}(resp.Job)
	}
}

// heartbeatLoop reports liveness until ctx ends, then says once that this
// agent is draining (it takes no new jobs while running ones finish).
func (a *Agent) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		a.heartbeat(ctx, sdk.AgentOnline)
		select {
		case <-ctx.Done():
			a.heartbeat(context.WithoutCancel(ctx), sdk.AgentDraining)
			return
		case <-t.C:
		}
	}
}

func (a *Agent) heartbeat(ctx context.Context, status sdk.AgentStatus) {
	hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req := sdk.HeartbeatRequest{Version: Version, Status: status, RunningJobs: a.runningCount(), Capabilities: capabilities()}
	if free, total, err := storageSpace(a.cfg.StorageDir); err == nil {
		req.StorageFreeBytes, req.StorageTotalBytes = &free, &total
	} else {
		a.log.Warn("storage space unknown", "dir", a.cfg.StorageDir, "err", err)
	}
	resp, err := a.hub.Heartbeat(hctx, req)
	if err != nil {
		if ctx.Err() == nil {
			a.log.Warn("heartbeat failed", "status", status, "err", err)
		}
		return
	}
	if was := a.drained.Swap(resp.Draining); was != resp.Draining {
		if resp.Draining {
			a.log.Info("drained by the hub: claiming no new jobs; running jobs finish", "running", a.runningCount())
		} else {
			a.log.Info("undrained by the hub: claiming jobs again")
		}
	}
}

// storageSpace is the free (available to this process) and total bytes of
// dir's file system.
func storageSpace(dir string) (free, total int64, err error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	bs := int64(st.Bsize)
	return int64(st.Bavail) * bs, int64(st.Blocks) * bs, nil
}

func (a *Agent) runningCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.running)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
