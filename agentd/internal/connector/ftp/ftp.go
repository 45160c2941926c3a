// Package ftp is the connector of ftp sources: it pulls files from an FTP
// server, in plain FTP or FTPS (explicit AUTH TLS or implicit TLS), with
// github.com/jlaffaye/ftp for the protocol.
//
// # Connections
//
// The control connection and every data connection are dialed through the
// agent's egress policy. Data connections are passive (EPSV, else PASV) and
// always go to the address of the control connection, whatever host a PASV
// reply names (a server behind NAT often names a private address). With
// TLS the certificate is verified against the system roots and the
// configured host; data connections are protected too (PROT P) and resume
// the control connection's TLS session, which vsftpd requires by default.
// insecure_skip_verify accepts any certificate; every run logs it and
// reports it as a warning of the snapshot. One control connection serves
// the whole pull: directories are listed and files retrieved one at a time,
// each over its own data connection, so memory stays bounded by the
// listings of the directories on the current path.
//
// # What is archived
//
// Configured paths are absolute paths of the FTP session (a chrooted
// account's "/" is its root) and are walked like the sftp connector's
// (see its package doc): roots in sorted order, a root inside another once,
// the parent directories of each root first, depth-first, children in byte
// order of their names, excludes matched against the full path and the base
// name ([sshconn.Excluded]), symlinks archived as links with the target the
// listing shows, devices, pipes and sockets skipped with a warning.
//
// Directories are listed with MLSD where the server has it (FEAT lists
// MLST): exact mtimes, and modes where it sends UNIX.mode. Elsewhere they
// are listed with LIST -a (so that .htaccess and other dotfiles are kept),
// parsed in the Unix "ls -l" form (or the MS-DOS form), and each regular
// file's exact mtime is asked with MDTM when the server has it (LIST shows
// minutes, or only the day for older files). Each directory is entered with
// CWD and listed without an argument, so no server can take a name for a
// glob pattern. A root's own attributes come from its parent's listing.
//
// # Hostile servers
//
// Every listed name must be a single path element (no "/", no NUL, not
// empty); "." and ".." are dropped, a name listed twice or a line that
// cannot be parsed fails the job with an error naming the directory.
// Symlink lines are split at the " -> " that the listed size (the target's
// length) points at, so a name holding " -> " cannot shift the target.
//
// # Files that change, vanish or cannot be read
//
// A regular file is retrieved (RETR) after its header went out with the
// listed size: a file that grew is cut, one that shrank is padded with
// zeros, both with a warning. Empty files are not retrieved. A file or
// directory the server refuses (450/55x: vanished, no permission) is
// skipped with a warning. vsftpd lists a directory it cannot open as empty;
// since it lists "." in every directory it can read, an empty listing
// without "." from a server that showed "." before is reported as a warning.
// A configured path that does not exist fails the job (retryable).
package ftp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// TLS modes, as sdk.FTPConfig.TLS spells them.
const (
	tlsNone     = sdk.FTPTLSNone
	tlsExplicit = sdk.FTPTLSExplicit
	tlsImplicit = sdk.FTPTLSImplicit
)

const (
	defaultDialTimeout = 30 * time.Second
	defaultIdleTimeout = 2 * time.Minute
)

// Connector pulls one ftp source. It implements connector.Connector and
// connector.Tester.
type Connector struct {
	cfg      sdk.FTPConfig
	password string
	env      connector.Env
	log      *slog.Logger
	addr     string // host:port

	// Tuned by tests.
	dialTimeout time.Duration
	idleTimeout time.Duration
	disableEPSV bool           // force PASV
	rootCAs     *x509.CertPool // nil: the system roots
	lastDialed  map[string]int // connections the last pull dialed, per host
}

var (
	_ connector.Connector = (*Connector)(nil)
	_ connector.Tester    = (*Connector)(nil)
)

// New validates cfg and returns a connector; invalid input is reported
// with an error wrapping connector.ErrPermanent. The password is kept in
// memory only and never appears in logs or errors.
func New(cfg sdk.FTPConfig, password string, env connector.Env) (*Connector, error) {
	if err := validate(&cfg, password); err != nil {
		return nil, fmt.Errorf("ftp source: %w: %w", err, connector.ErrPermanent)
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	return &Connector{
		cfg: cfg, password: password, env: env, addr: addr,
		log:         log.With("connector", "ftp", "addr", addr),
		dialTimeout: defaultDialTimeout, idleTimeout: defaultIdleTimeout,
	}, nil
}

// validate checks cfg and normalises it in place (default TLS mode and
// port, clean paths).
func validate(cfg *sdk.FTPConfig, password string) error {
	if cfg.Host == "" || strings.ContainsAny(cfg.Host, " /\\@\r\n\t\x00") {
		return fmt.Errorf("host %q is not a host name or address", cfg.Host)
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = tlsNone
	case tlsNone, tlsExplicit, tlsImplicit:
	default:
		return fmt.Errorf("tls %q must be none, explicit or implicit", cfg.TLS)
	}
	switch {
	case cfg.Port < 0 || cfg.Port > 65535:
		return fmt.Errorf("port %d must be 1-65535", cfg.Port)
	case cfg.Port == 0 && cfg.TLS == tlsImplicit:
		cfg.Port = 990
	case cfg.Port == 0:
		cfg.Port = 21
	}
	if cfg.Username == "" || strings.ContainsAny(cfg.Username, "\r\n\x00") {
		return errors.New("username must be set and hold no line break or NUL")
	}
	if strings.ContainsAny(password, "\r\n\x00") {
		return errors.New("the password credential holds a line break or NUL, which FTP cannot send")
	}
	if len(cfg.Paths) == 0 {
		return errors.New("at least one path is required")
	}
	paths := make([]string, len(cfg.Paths))
	for i, p := range cfg.Paths {
		if !path.IsAbs(p) || strings.ContainsAny(p, "\r\n\x00") {
			return fmt.Errorf("path %q must be absolute, without line breaks", p)
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

func (c *Connector) tlsConfig() *tls.Config {
	if c.cfg.TLS == tlsNone {
		return nil
	}
	return &tls.Config{
		ServerName:         c.cfg.Host, // also the session cache key shared by control and data connections
		InsecureSkipVerify: c.cfg.InsecureSkipVerify,
		RootCAs:            c.rootCAs,
		MinVersion:         tls.VersionTLS12,
		ClientSessionCache: tls.NewLRUClientSessionCache(8),
	}
}

// insecureWarning is the warning of every run with insecure_skip_verify.
func (c *Connector) insecureWarning() error {
	if c.cfg.TLS == tlsNone || !c.cfg.InsecureSkipVerify {
		return nil
	}
	return errors.New("insecure_skip_verify is set: the server's TLS certificate is not verified, " +
		"so a man in the middle could read the files and the password")
}

// connect dials and logs in.
func (c *Connector) connect(ctx context.Context) (*session, error) {
	s, err := c.dial(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.login(c, c.password); err != nil {
		s.close()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("log in to %s: %w", c.addr, ctx.Err())
		}
		return nil, err
	}
	return s, nil
}

// Pull connects, logs in and hands every entry to sink in archive order.
// Cancelling ctx closes the connections and returns ctx's error.
func (c *Connector) Pull(ctx context.Context, sink connector.Sink) error {
	start := time.Now()
	err := c.pull(ctx, sink)
	c.log.Debug("pull ended", "duration", time.Since(start), "error", err)
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("pull %s: %w", c.addr, ctxErr)
	}
	if err != nil {
		return fmt.Errorf("pull %s: %w", c.addr, err)
	}
	return nil
}

func (c *Connector) pull(ctx context.Context, sink connector.Sink) error {
	warn := c.insecureWarning()
	if warn != nil {
		c.log.Warn("TLS certificate not verified", "warning", warn)
	}
	s, err := c.connect(ctx)
	if err != nil {
		return err
	}
	defer func() { c.lastDialed = s.d.dialedHosts() }()
	defer s.close()
	if warn != nil {
		sink.Warn(c.addr, warn) // before Describe, so xvault.json lists it too
	}
	server := s.server()
	if err := sink.Describe(archive.Descriptor{
		Connector: "ftp",
		Server:    &server,
		Options:   []string{"tls=" + c.cfg.TLS, "listing=" + s.listingMethod(), "passive"},
	}); err != nil {
		return err
	}
	s.onPlainList = func(dir string, refusal error) {
		sink.Warn(dir, fmt.Errorf("the server refused LIST -a (%w); directories are listed with LIST, "+
			"which may leave out hidden files such as .htaccess", refusal))
	}
	w := &walker{s: s, sink: sink, exclude: c.cfg.Exclude, parents: map[string]bool{}}
	return w.run(ctx, c.cfg.Paths)
}
