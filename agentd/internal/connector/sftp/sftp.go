// Package sftp is the connector of ssh/sftp sources: it pulls files from a
// server over SSH, either over SFTP (OpenSSH's sftp subsystem or any SFTP v3
// server) or, where the account may run commands, as a tar stream made on the
// server and re-validated here (package sshexec). Config.Transfer chooses;
// see docs/transfer.md. Both transfers archive the same entries.
//
// # What is archived
//
// Every configured path (absolute; a file, a directory or a symlink) is
// walked depth-first: a directory is emitted before its children, and the
// children of a directory in byte order of their names. Roots are processed
// in sorted order; a root inside another root is walked once. An entry's name
// is its remote absolute path without the leading "/" (/var/www/a.txt →
// "var/www/a.txt"). The parent directories of each root are emitted first, as
// directories, once each, so that extracting the archive recreates them with
// their modes; they are Stat-ed (a parent that is a symlink is archived as the
// directory it points to). Everything below a root is Lstat-ed: symlinks are
// archived as links, their target kept as is and never followed. Regular
// files, directories and symlinks are kept; sockets, devices and fifos are
// skipped with a warning.
//
// # Excludes
//
// Each exclude pattern is matched with [path.Match] against the full remote
// path ("/var/www/cache") and against the base name ("cache", "*.log"). A
// match excludes the entry; an excluded directory is not descended into. The
// parent directories of a root are never excluded; a root itself can be.
// Note that "*" in path.Match does not cross "/": "/var/*/cache" matches
// "/var/www/cache" but not "/var/www/a/cache".
//
// # Files that change while read
//
// A configured path that does not exist (or cannot be stat-ed) fails the job
// with a retryable error. A file that vanishes (or becomes unreadable)
// between listing and open is skipped with a warning. Small files (≤ 1 MiB)
// are read whole before their header is written, so their entry records the
// bytes actually read: a file that shrank is archived with its new, shorter
// size, and one that grew is cut at its listed size; both with a warning.
// Large files are streamed after their header went out, so the body is padded
// with zeros or cut to the listed size, with a warning. Empty files are not
// opened.
//
// # Hostile servers
//
// Names returned by the server in a directory listing must be single path
// elements (no "/", no NUL, not empty, "." or ".."); the job fails with an
// error naming the directory and the bad name otherwise, as it does for a
// listing that holds the same name twice. (github.com/pkg/sftp already drops
// "." and ".." from listings and reduces a name holding "/" to its last
// element, so such a name can never escape its directory.)
package sftp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path"
	"strings"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/sshconn"
	"github.com/xvault/xvault/agentd/internal/connector/sshexec"
)

// Transfer modes (Config.Transfer).
const (
	// TransferAuto probes once per pull and streams a remote tar when the
	// account may run a usable tar, else uses SFTP.
	TransferAuto = "auto"
	// TransferExec streams a remote tar; the pull fails when it cannot.
	TransferExec = "exec"
	// TransferSFTP walks the tree over SFTP.
	TransferSFTP = "sftp"
)

// Config is what to pull and from where. It holds no secret.
type Config struct {
	Host     string
	Port     int // 0 means 22
	Username string
	Paths    []string // absolute remote paths
	Exclude  []string // path.Match globs, see the package doc
	// HostKey is the pinned host key fingerprint ("SHA256:…", as
	// ssh.FingerprintSHA256 prints it), or "" to trust on first use.
	HostKey string
	// Transfer is TransferAuto, TransferExec or TransferSFTP; "" means
	// TransferSFTP (the agent passes the source's setting, default auto).
	Transfer string
}

// Credential authenticates the SSH session. It is never written to disk or logged.
type Credential = sshconn.Credential

// Options tune the connector.
type Options struct {
	// OnHostKey is called with the server's fingerprint on first use (when
	// Config.HostKey is ""), so the agent can record it; an error aborts the
	// connection. Required when Config.HostKey is "".
	OnHostKey func(fingerprint string) error
	Logger    *slog.Logger
	// FilesInFlight is how many small files are read concurrently (default 16).
	FilesInFlight int
	// DialTimeout bounds the TCP connect and the SSH handshake (default 30s).
	DialTimeout time.Duration
	// SmallFileMax is the size up to which a file is read whole, concurrently
	// with others, before it is emitted (default 1 MiB).
	SmallFileMax int64
	// BufferBudget caps the bytes of small files buffered at once (default 32 MiB).
	BufferBudget int64
	// DialContext opens the TCP connection (the agent's egress-checked dialer).
	DialContext func(ctx context.Context, network, addr string) (net.Conn, error)
}

const (
	defaultFilesInFlight = 16
	defaultSmallFileMax  = 1 << 20
	defaultBufferBudget  = 32 << 20
	maxSmallFileMax      = 64 << 20
)

// Connector pulls one ssh/sftp source. It implements connector.Connector.
type Connector struct {
	cfg    Config
	dialer *sshconn.Dialer
	opts   Options
	log    *slog.Logger
}

var _ connector.Connector = (*Connector)(nil)

// New validates cfg and cred and returns a connector. Invalid input is
// reported with an error wrapping connector.ErrPermanent.
func New(cfg Config, cred Credential, opts Options) (*Connector, error) {
	if err := validate(&cfg); err != nil {
		return nil, fmt.Errorf("sftp source: %w: %w", err, connector.ErrPermanent)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	port := cfg.Port
	if port == 0 {
		port = 22
	}
	log = log.With("connector", "sftp", "host", cfg.Host, "port", port)
	dialer, err := sshconn.NewDialer(
		sshconn.Config{Host: cfg.Host, Port: cfg.Port, Username: cfg.Username, HostKey: cfg.HostKey},
		cred, sshconn.Options{OnHostKey: opts.OnHostKey, Logger: log, DialTimeout: opts.DialTimeout, DialContext: opts.DialContext})
	if err != nil {
		return nil, fmt.Errorf("sftp source: %w", err)
	}
	cfg.Port = dialer.Port()
	if opts.FilesInFlight <= 0 {
		opts.FilesInFlight = defaultFilesInFlight
	}
	if opts.SmallFileMax <= 0 {
		opts.SmallFileMax = defaultSmallFileMax
	}
	opts.SmallFileMax = min(opts.SmallFileMax, maxSmallFileMax)
	if opts.BufferBudget <= 0 {
		opts.BufferBudget = defaultBufferBudget
	}
	// The budget must hold at least the largest buffer, or the walk would wait forever.
	opts.BufferBudget = max(opts.BufferBudget, int64(classSize(int(opts.SmallFileMax)+1)))
	return &Connector{cfg: cfg, dialer: dialer, opts: opts, log: log}, nil
}

// validate checks the parts of cfg the dialer does not and normalises its
// paths and transfer mode in place.
func validate(cfg *Config) error {
	switch cfg.Transfer {
	case "":
		cfg.Transfer = TransferSFTP
	case TransferAuto, TransferExec, TransferSFTP:
	default:
		return fmt.Errorf("transfer %q must be auto, exec or sftp", cfg.Transfer)
	}
	if len(cfg.Paths) == 0 {
		return errors.New("at least one path is required")
	}
	paths := make([]string, len(cfg.Paths))
	for i, p := range cfg.Paths {
		if !path.IsAbs(p) || strings.IndexByte(p, 0) >= 0 {
			return fmt.Errorf("path %q must be absolute", p)
		}
		paths[i] = path.Clean(p)
	}
	cfg.Paths = paths
	for _, pat := range cfg.Exclude {
		if _, err := path.Match(pat, ""); err != nil {
			return fmt.Errorf("exclude %q: %w", pat, err)
		}
	}
	return nil
}

func (c *Connector) addr() string { return c.dialer.Addr() }

// Pull connects, chooses the transfer, and hands the entries to sink in
// order. Cancelling ctx closes the connection and returns ctx's error.
func (c *Connector) Pull(ctx context.Context, sink connector.Sink) error {
	client, err := c.dialer.Dial(ctx)
	if err != nil {
		return err
	}
	closeOnce := onceCloser(client)
	defer closeOnce()
	stop := context.AfterFunc(ctx, closeOnce) // unblocks every pending request
	defer stop()
	start := time.Now()
	mode, tar, err := c.chooseTransfer(ctx, client)
	if err == nil {
		if r, ok := sink.(connector.TransferReporter); ok {
			r.TransferMode(mode)
		}
		err = c.pullWith(ctx, client, sink, mode, tar)
	}
	c.log.Debug("pull ended", "transfer", mode, "duration", time.Since(start), "error", err)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("pull %s: %w", c.addr(), ctxErr)
	}
	if err != nil {
		return fmt.Errorf("pull %s: %w", c.addr(), err)
	}
	return nil
}

func (c *Connector) pullWith(ctx context.Context, client *ssh.Client, sink connector.Sink, mode string, t sshexec.Tar) error {
	if mode == TransferExec {
		return sshexec.Pull(ctx, client, sink, c.execOptions(t))
	}
	sc, err := pkgsftp.NewClient(client, pkgsftp.UseConcurrentReads(true), pkgsftp.UseFstat(true))
	if err != nil {
		return fmt.Errorf("start sftp: %w (hint: is the sftp subsystem enabled in sshd_config?)", err)
	}
	defer sc.Close()
	return pull(ctx, sc, sink, c.pullOptions())
}

func (c *Connector) pullOptions() pullOptions {
	return pullOptions{
		paths:        c.cfg.Paths,
		exclude:      c.cfg.Exclude,
		inFlight:     c.opts.FilesInFlight,
		smallFileMax: c.opts.SmallFileMax,
		budget:       c.opts.BufferBudget,
	}
}
