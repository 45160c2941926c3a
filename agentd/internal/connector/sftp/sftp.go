// Package sftp is the connector that pulls files from a server over SSH/SFTP
// (OpenSSH's sftp subsystem or any SFTP v3 server).
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
	"path"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/agentd/internal/connector"
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
}

// Credential authenticates the SSH session. It is never written to disk or logged.
type Credential struct {
	Password   string
	PrivateKey []byte // PEM or OpenSSH format
	Passphrase string // for an encrypted PrivateKey
}

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
}

const (
	defaultPort          = 22
	defaultFilesInFlight = 16
	defaultDialTimeout   = 30 * time.Second
	defaultSmallFileMax  = 1 << 20
	defaultBufferBudget  = 32 << 20
	maxSmallFileMax      = 64 << 20
)

// Connector pulls one SFTP source. It implements connector.Connector.
type Connector struct {
	cfg    Config
	cred   Credential
	signer ssh.Signer // parsed cred.PrivateKey, or nil
	opts   Options
	log    *slog.Logger
}

var _ connector.Connector = (*Connector)(nil)

// New validates cfg and cred and returns a connector. Invalid input is
// reported with an error wrapping connector.ErrPermanent.
func New(cfg Config, cred Credential, opts Options) (*Connector, error) {
	if err := validate(&cfg, cred, opts); err != nil {
		return nil, fmt.Errorf("sftp source: %w: %w", err, connector.ErrPermanent)
	}
	var signer ssh.Signer
	if len(cred.PrivateKey) > 0 {
		var err error
		if signer, err = parseKey(cred); err != nil {
			return nil, fmt.Errorf("sftp source: %w: %w", err, connector.ErrPermanent)
		}
	}
	if opts.FilesInFlight <= 0 {
		opts.FilesInFlight = defaultFilesInFlight
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = defaultDialTimeout
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
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("connector", "sftp", "host", cfg.Host, "port", cfg.Port)
	return &Connector{cfg: cfg, cred: cred, signer: signer, opts: opts, log: log}, nil
}

// validate checks cfg and normalises its port and paths in place.
func validate(cfg *Config, cred Credential, opts Options) error {
	switch {
	case cfg.Host == "":
		return errors.New("host is required")
	case cfg.Port < 0 || cfg.Port > 65535:
		return fmt.Errorf("port %d out of range 1-65535", cfg.Port)
	case cfg.Username == "":
		return errors.New("username is required")
	case len(cfg.Paths) == 0:
		return errors.New("at least one path is required")
	case cred.Password == "" && len(cred.PrivateKey) == 0:
		return errors.New("a password or a private key is required")
	case cfg.HostKey != "" && !strings.HasPrefix(cfg.HostKey, "SHA256:"):
		return fmt.Errorf("host key %q is not a SHA256 fingerprint (hint: ssh-keygen -lf key.pub prints one)", cfg.HostKey)
	case cfg.HostKey == "" && opts.OnHostKey == nil:
		return errors.New("no pinned host key and no way to record one (set Options.OnHostKey)")
	}
	if cfg.Port == 0 {
		cfg.Port = defaultPort
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

// Pull connects, walks every configured path and hands the entries to sink in
// order. Cancelling ctx closes the connection and returns ctx's error.
func (c *Connector) Pull(ctx context.Context, sink connector.Sink) error {
	sess, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer sess.close()
	stop := context.AfterFunc(ctx, sess.close) // unblocks every pending request
	defer stop()
	start := time.Now()
	c.log.Debug("connected", "user", c.cfg.Username)
	err = pull(ctx, sess.sftp, sink, c.pullOptions())
	c.log.Debug("pull ended", "duration", time.Since(start), "error", err)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("pull %s: %w", c.addr(), ctxErr)
	}
	if err != nil {
		return fmt.Errorf("pull %s: %w", c.addr(), err)
	}
	return nil
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
