package mysql

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"golang.org/x/crypto/ssh"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/dbtunnel"
	"github.com/xvault/xvault/agentd/internal/connector/sshconn"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// Server says how to reach mysqld. Password is the database password.
type Server struct {
	Host     string // default 127.0.0.1 through SSH; required otherwise (unless Socket)
	Port     int    // default 3306
	Socket   string // a unix socket (on the agent, or on the SSH server) instead of Host/Port
	Username string
	Password string
	TLS      string // sdk.MySQLTLS*; "" = preferred
	SSH      *SSH   // nil = direct
}

// SSH is the SSH server the database is reached through.
type SSH struct {
	Host                             string
	Port                             int // default 22
	Username                         string
	HostKey                          string // pinned "SHA256:…", "" = trust on first use (Env.OnHostKey)
	Password, PrivateKey, Passphrase string
}

// ServerFromConfig builds a Server from a source's config and its released
// secret. hostKey, when set, is the SSH host key the agent pinned for the
// source (it overrides cfg.SSH.HostKey).
func ServerFromConfig(cfg sdk.MySQLConfig, hostKey string, secret *sdk.SecretPayload) Server {
	srv := Server{Host: cfg.Host, Port: cfg.Port, Socket: cfg.Socket, Username: cfg.Username, TLS: cfg.TLS}
	if secret != nil {
		srv.Password = secret.Password
	}
	if cfg.SSH != nil {
		s := &SSH{Host: cfg.SSH.Host, Port: cfg.SSH.Port, Username: cfg.SSH.Username, HostKey: cfg.SSH.HostKey}
		if hostKey != "" {
			s.HostKey = hostKey
		}
		if secret != nil && secret.SSH != nil {
			s.Password, s.PrivateKey, s.Passphrase = secret.SSH.Password, secret.SSH.PrivateKey, secret.SSH.Passphrase
		}
		srv.SSH = s
	}
	return srv
}

// Session is an open connection to one server: the agent's own metadata
// connection (Go driver) and what the dump client needs to reach the same
// server. Close it when done.
type Session struct {
	srv     Server
	env     connector.Env
	log     *slog.Logger
	dir     string // private (0700) directory of the session under Env.TempDir
	db      *sql.DB
	conn    conn // how the dump client connects
	info    archive.Software
	tool    *tool
	toolErr error
	ssh     *ssh.Client
	tunnel  interface{ Close() error }
	tunErr  func() error // the tunnel's first remote dial failure
	// lockWait bounds how long the dump may wait for a lock on the server.
	lockWait time.Duration
	dumps    int
}

// conn is how the dump client reaches the server. It holds the password,
// which is written only into the 0600 option file.
type conn struct {
	user, password string
	ip             string // checked address (TCP)
	port           int
	socket         string // unix socket: local, or the SSH tunnel's
	tls            string
}

// defaultLockWait is how long a dump waits for a lock held by another session.
const defaultLockWait = 2 * time.Minute

// Open connects (direct through the egress policy, a unix socket only with
// env.Egress.AllowLoopback, or through SSH via dbtunnel), learns the
// server's version and looks the dump client up. A missing dump client is
// not an error of Open: Tool is then empty and Dump fails (so that Test can
// report it as a check).
func Open(ctx context.Context, srv Server, env connector.Env) (*Session, error) {
	s, err := openSession(ctx, srv, env)
	if err != nil {
		return nil, err
	}
	s.tool, s.toolErr = findTool(ctx, s.dir)
	return s, nil
}

// openSession is Open without the dump client's lookup (the loader looks
// up the command-line client instead).
func openSession(ctx context.Context, srv Server, env connector.Env) (*Session, error) {
	if err := srv.validate(); err != nil {
		return nil, fmt.Errorf("mysql source: %w: %w", err, connector.ErrPermanent)
	}
	s := &Session{srv: srv, env: env, log: env.Logger, lockWait: defaultLockWait}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	dir, err := os.MkdirTemp(env.TempDir, "mysql-")
	if err != nil {
		return nil, fmt.Errorf("mysql: private directory: %w", err)
	}
	s.dir = dir
	if err := s.open(ctx); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

func (srv *Server) validate() error {
	switch {
	case srv.Username == "":
		return errors.New("username is required")
	case strings.ContainsAny(srv.Username, "\x00\n\r"):
		return errors.New("username must not hold NUL or line breaks")
	case srv.Port < 0 || srv.Port > 65535:
		return fmt.Errorf("port %d out of range 1-65535", srv.Port)
	case srv.Host == "" && srv.Socket == "" && srv.SSH == nil:
		return errors.New("host or socket is required")
	case srv.Socket != "" && !filepath.IsAbs(srv.Socket):
		return fmt.Errorf("socket %q must be an absolute path", srv.Socket)
	case strings.ContainsAny(srv.Host+srv.Socket, "\x00\n\r"):
		return errors.New("host and socket must not hold NUL or line breaks")
	case strings.IndexByte(srv.Password, 0) >= 0:
		return errors.New("the password holds a NUL byte")
	}
	switch srv.TLS {
	case "", sdk.MySQLTLSPreferred, sdk.MySQLTLSRequired, sdk.MySQLTLSVerifyCA, sdk.MySQLTLSDisabled:
	default:
		return fmt.Errorf("tls %q must be preferred, required, verify_ca or disabled", srv.TLS)
	}
	if srv.Port == 0 {
		srv.Port = 3306
	}
	if srv.TLS == "" {
		srv.TLS = sdk.MySQLTLSPreferred
	}
	return nil
}

// open sets up the route and the metadata connection.
func (s *Session) open(ctx context.Context) error {
	srv := s.srv
	s.conn = conn{user: srv.Username, password: srv.Password, port: srv.Port, tls: srv.TLS}
	cfg := gomysql.NewConfig()
	cfg.User, cfg.Passwd = srv.Username, srv.Password
	cfg.Timeout = 30 * time.Second
	cfg.Params = map[string]string{"lock_wait_timeout": strconv.Itoa(int(defaultLockWait / time.Second))}
	cfg.Logger = &gomysql.NopLogger{}
	var where string
	switch {
	case srv.SSH != nil:
		if err := s.openSSH(ctx, cfg); err != nil {
			return err
		}
		where = "through SSH " + net.JoinHostPort(srv.SSH.Host, strconv.Itoa(srv.SSH.Port))
	case srv.Socket != "":
		if err := s.env.Egress.CheckSocket(srv.Socket); err != nil {
			return fmt.Errorf("mysql: %w", err)
		}
		cfg.Net, cfg.Addr = "unix", srv.Socket
		s.conn.socket = srv.Socket
		where = srv.Socket
	default:
		ip, err := s.env.Egress.Resolve(ctx, srv.Host)
		if err != nil {
			return fmt.Errorf("mysql: %w", err)
		}
		s.conn.ip = ip.String()
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(s.conn.ip, strconv.Itoa(srv.Port))
		cfg.DialFunc = egress.Dialer{Policy: s.env.Egress}.DialContext
		where = net.JoinHostPort(srv.Host, strconv.Itoa(srv.Port))
	}
	setTLS(cfg, s.conn.tls, srv.Host)
	dc, err := gomysql.NewConnector(cfg)
	if err != nil {
		return fmt.Errorf("mysql: %w: %w", err, connector.ErrPermanent)
	}
	s.db = sql.OpenDB(dc)
	s.db.SetMaxOpenConns(2)
	s.db.SetConnMaxIdleTime(time.Minute)
	var version string
	if err := s.db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return s.connectError(where, err)
	}
	s.info = serverSoftware(version)
	s.log.Debug("connected", "server", s.info.Name+" "+s.info.Version, "via", where)
	return nil
}

// setTLS maps the source's tls setting onto the driver's configuration.
func setTLS(cfg *gomysql.Config, mode, host string) {
	switch mode {
	case sdk.MySQLTLSDisabled:
	case sdk.MySQLTLSRequired:
		cfg.TLS = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // "required" encrypts without verifying, as MySQL's ssl-mode=REQUIRED
	case sdk.MySQLTLSVerifyCA:
		cfg.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	default:
		cfg.TLSConfig = "preferred"
	}
}

// openSSH connects to the SSH server and forwards the database to a unix
// socket in the session's directory, for the dump client; the driver dials
// through the SSH connection itself.
func (s *Session) openSSH(ctx context.Context, cfg *gomysql.Config) error {
	sc := s.srv.SSH
	d, err := sshconn.NewDialer(
		sshconn.Config{Host: sc.Host, Port: sc.Port, Username: sc.Username, HostKey: sc.HostKey},
		sshconn.Credential{Password: sc.Password, PrivateKey: []byte(sc.PrivateKey), Passphrase: sc.Passphrase},
		sshconn.Options{OnHostKey: s.env.OnHostKey, Logger: s.log, DialContext: egress.Dialer{Policy: s.env.Egress}.DialContext})
	if err != nil {
		return fmt.Errorf("mysql through ssh: %w", err)
	}
	client, err := d.Dial(ctx)
	if err != nil {
		return fmt.Errorf("mysql through ssh: %w", err)
	}
	s.ssh = client
	sock := filepath.Join(s.dir, "tunnel.sock")
	network, remote := "tcp", net.JoinHostPort(cmp(s.srv.Host, "127.0.0.1"), strconv.Itoa(s.srv.Port))
	if s.srv.Socket != "" {
		network, remote = "unix", s.srv.Socket
	}
	t, err := dbtunnel.OpenNetwork(client, sock, network, remote, s.log)
	if err != nil {
		return fmt.Errorf("mysql through ssh: %w", err)
	}
	s.tunnel, s.tunErr = t, t.Err
	s.conn.socket = sock
	// SSH already encrypts the way to the server; the server sees a
	// connection from its own host. TLS stays preferred (unless disabled).
	if s.conn.tls != sdk.MySQLTLSDisabled {
		s.conn.tls = sdk.MySQLTLSPreferred
	}
	cfg.Net, cfg.Addr = network, remote
	cfg.DialFunc = func(ctx context.Context, _, _ string) (net.Conn, error) {
		c, err := client.DialContext(ctx, network, remote)
		if err != nil {
			return nil, fmt.Errorf("the SSH server could not reach %s: %w", remote, err)
		}
		return c, nil
	}
	return nil
}

func cmp(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// connectError classifies a failed first query: refused credentials and
// TLS refusals are permanent, network trouble is not.
func (s *Session) connectError(where string, err error) error {
	var me *gomysql.MySQLError
	if errors.As(err, &me) {
		switch me.Number {
		case 1045, 1698: // ER_ACCESS_DENIED_ERROR, ER_ACCESS_DENIED_NO_PASSWORD_ERROR
			return fmt.Errorf("mysql %s: authentication failed for user %q: %s (hint: check the source's password credential and the account's host part): %w",
				where, s.srv.Username, me.Message, connector.ErrPermanent)
		case 1129, 1130, 1131, 1132: // host blocked, host not allowed, …
			return fmt.Errorf("mysql %s: %s: %w", where, me.Message, connector.ErrPermanent)
		}
		return fmt.Errorf("mysql %s: %w", where, err)
	}
	if errors.Is(err, gomysql.ErrNoTLS) {
		return fmt.Errorf("mysql %s: tls %s, but the server does not offer TLS: %w", where, s.srv.TLS, connector.ErrPermanent)
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return fmt.Errorf("mysql %s: %w: %w", where, err, connector.ErrPermanent)
	}
	if s.tunErr != nil {
		if terr := s.tunErr(); terr != nil {
			err = errors.Join(err, terr)
		}
	}
	return fmt.Errorf("mysql %s: %w", where, err)
}

var leadingVersion = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*`)

// serverSoftware reads VERSION(): "10.11.19-MariaDB-0+deb12u1" → MariaDB
// 10.11.19; "8.0.36" → MySQL 8.0.36.
func serverSoftware(v string) archive.Software {
	name := "MySQL"
	if strings.Contains(strings.ToLower(v), "mariadb") {
		name = "MariaDB"
	}
	if m := leadingVersion.FindString(v); m != "" {
		return archive.Software{Name: name, Version: m}
	}
	return archive.Software{Name: name, Version: v}
}

// Close ends the metadata connection and the SSH tunnel, and removes the
// session's directory (option files, the tunnel's socket).
func (s *Session) Close() error {
	var errs []error
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	if s.tunnel != nil {
		errs = append(errs, s.tunnel.Close())
	}
	if s.ssh != nil {
		_ = s.ssh.Close()
	}
	if s.dir != "" {
		errs = append(errs, os.RemoveAll(s.dir))
	}
	return errors.Join(errs...)
}

// ServerInfo is the server's software: {Name: "MariaDB"|"MySQL", Version}.
func (s *Session) ServerInfo() archive.Software { return s.info }

// Tool is the dump client found on the agent (zero when none was found).
func (s *Session) Tool() archive.Software {
	if s.tool == nil {
		return archive.Software{}
	}
	return s.tool.software()
}

// systemSchemas are never dumped.
var systemSchemas = []string{"mysql", "information_schema", "performance_schema", "sys"}

func isSystemSchema(db string) bool { return slices.Contains(systemSchemas, strings.ToLower(db)) }

// Databases lists the databases the account sees, system schemas excluded, sorted.
func (s *Session) Databases(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	defer rows.Close()
	var dbs []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("list databases: %w", err)
		}
		if !isSystemSchema(n) {
			dbs = append(dbs, n)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	return dbs, nil
}
