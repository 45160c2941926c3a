package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/dbtunnel"
	"github.com/xvault/xvault/agentd/internal/egress"
)

// Transfer modes recorded in the descriptor.
const (
	modeDirect = "direct"
	modeSSH    = "ssh-tunnel"
)

// maxSocketPath is the room for a unix socket path (sun_path less its NUL).
const maxSocketPath = 107

// session is one job's way to the server: a private directory (password
// file, empty HOME, tunnel socket), the connection parameters every tool
// gets, and the client programs found.
type session struct {
	c        *Connector
	dir      string   // private, removed by close
	home     string   // empty HOME and PGSYSCONFDIR of the tools
	passfile string   // PGPASSFILE
	base     []string // libpq keyword/value pairs without dbname
	mode     string
	sets     []toolset // every installation found, newest first
	tools    toolset   // the one chosen for the server (after checkVersion)

	client *ssh.Client
	tunnel *dbtunnel.Tunnel
}

// open prepares the private directory and reaches the server: directly
// (egress-checked address) or through an SSH tunnel.
func (c *Connector) open(ctx context.Context) (*session, error) {
	dir, err := os.MkdirTemp(c.env.TempDir, "pg-")
	if err != nil {
		return nil, fmt.Errorf("postgres: private dir: %w", err)
	}
	s := &session{c: c, dir: dir, home: filepath.Join(dir, "home"), passfile: filepath.Join(dir, "pgpass")}
	if err := s.prepare(); err != nil {
		s.close()
		return nil, err
	}
	if c.ssh != nil {
		err = s.openTunnel(ctx)
	} else {
		err = s.direct(ctx)
	}
	if err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *session) prepare() error {
	if err := os.Chmod(s.dir, 0o700); err != nil {
		return fmt.Errorf("postgres: private dir: %w", err)
	}
	if err := os.Mkdir(s.home, 0o700); err != nil {
		return fmt.Errorf("postgres: private home: %w", err)
	}
	f, err := os.OpenFile(s.passfile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("postgres: password file: %w", err)
	}
	_, werr := f.WriteString(passfileLine(s.c.password))
	if err := errors.Join(werr, f.Close()); err != nil {
		return fmt.Errorf("postgres: password file: %w", err)
	}
	return nil
}

// direct checks the server's address against the egress policy.
func (s *session) direct(ctx context.Context) error {
	cfg := s.c.cfg
	port := strconv.Itoa(cfg.Port)
	s.mode = modeDirect
	if strings.HasPrefix(cfg.Host, "/") {
		if err := s.c.env.Egress.CheckSocket(filepath.Join(cfg.Host, ".s.PGSQL."+port)); err != nil {
			return fmt.Errorf("postgres %s: %w: %w", cfg.Host, err, connector.ErrPermanent)
		}
		s.base = s.params("host", cfg.Host, "port", port)
		return nil
	}
	ip, err := s.c.env.Egress.Resolve(ctx, cfg.Host)
	if err != nil {
		if errors.Is(err, egress.ErrRefused) {
			err = fmt.Errorf("%w: %w", err, connector.ErrPermanent)
		}
		return fmt.Errorf("postgres %s: %w", cfg.Host, err)
	}
	s.base = s.params("host", cfg.Host, "hostaddr", ip.String(), "port", port)
	return nil
}

// openTunnel dials the SSH server and forwards the database port to a unix
// socket named as libpq expects (.s.PGSQL.<port>) in a private directory.
func (s *session) openTunnel(ctx context.Context) error {
	cfg := s.c.cfg
	port := strconv.Itoa(cfg.Port)
	s.mode = modeSSH
	sockDir := filepath.Join(s.dir, "s")
	if err := os.Mkdir(sockDir, 0o700); err != nil {
		return fmt.Errorf("postgres: tunnel dir: %w", err)
	}
	sock := filepath.Join(sockDir, ".s.PGSQL."+port)
	if len(sock) > maxSocketPath {
		return fmt.Errorf("postgres: tunnel socket path %s is longer than %d bytes (hint: give the agent a shorter temp dir): %w",
			sock, maxSocketPath, connector.ErrPermanent)
	}
	client, err := s.c.ssh.Dial(ctx)
	if err != nil {
		return fmt.Errorf("postgres through ssh: %w", err)
	}
	s.client = client
	remote := net.JoinHostPort(cfg.Host, port)
	t, err := dbtunnel.Open(client, sock, remote, s.c.log)
	if err != nil {
		return fmt.Errorf("postgres through ssh: %w", err)
	}
	s.tunnel = t
	s.base = s.params("host", sockDir, "port", port)
	return nil
}

// params completes the connection parameters every tool gets.
func (s *session) params(kv ...string) []string {
	kv = append(kv, "user", s.c.cfg.Username, "sslmode", s.c.cfg.SSLMode, "connect_timeout", connectTimeout)
	if m := s.c.cfg.SSLMode; (m == "verify-ca" || m == "verify-full") && s.mode == modeDirect {
		// HOME is private, so libpq's default ~/.postgresql/root.crt does
		// not exist: verify against the system's CA bundle.
		if bundle := systemCABundle(); bundle != "" {
			kv = append(kv, "sslrootcert", bundle)
		}
	}
	return kv
}

func systemCABundle() string {
	for _, p := range []string{
		"/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Alpine
		"/etc/pki/tls/certs/ca-bundle.crt",   // RHEL, Fedora
		"/etc/ssl/cert.pem",                  // macOS, BSD
	} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// conninfo is the connection string for database db. psql sessions also
// get UTF-8 output (names are decoded as JSON). (Session settings are SET
// by the sessions themselves, not sent as startup options, which poolers
// such as PgBouncer refuse.)
func (s *session) conninfo(db string, metadata bool) string {
	kv := append(append([]string(nil), s.base...), "dbname", db)
	if metadata {
		kv = append(kv, "client_encoding", "UTF8")
	}
	return connString(kv...)
}

// environ is the whole environment of every tool.
func (s *session) environ() []string {
	path := "/usr/bin:/bin"
	if s.tools.dir != "" {
		path = s.tools.dir + ":" + path
	}
	return []string{
		"PATH=" + path,
		"HOME=" + s.home,
		"LC_ALL=C",
		"PGPASSFILE=" + s.passfile,
		"PGSSLMODE=" + s.c.cfg.SSLMode,
		"PGCONNECT_TIMEOUT=" + connectTimeout,
		"PGSYSCONFDIR=" + s.home,
	}
}

// tunnelErr is why the SSH server could not reach the database, if it could not.
func (s *session) tunnelErr() error {
	if s.tunnel == nil {
		return nil
	}
	return s.tunnel.Err()
}

func (s *session) close() {
	if s.tunnel != nil {
		_ = s.tunnel.Close()
	}
	if s.client != nil {
		_ = s.client.Close()
	}
	if err := os.RemoveAll(s.dir); err != nil {
		s.c.log.Warn("postgres: remove private dir", "err", err)
	}
}

func egressDialer(env connector.Env) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return egress.Dialer{Policy: env.Egress}.DialContext
}
