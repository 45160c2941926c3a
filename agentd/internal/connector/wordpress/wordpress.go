// Package wordpress is the connector of wordpress sources: a WordPress site
// reached over SSH, backed up as one snapshot holding its database (only
// the tables with the site's table prefix) and its files.
//
// # What a pull does
//
//  1. Connects over SSH (host key pinned, or trusted on first use; the key
//     seen first is pinned for the job's other connections) and reads over
//     SFTP wp-config.php — in path, or in the directory above it when that
//     directory holds no wp-settings.php (WordPress's own rule) — and
//     wp-includes/version.php. Both are parsed, never run (wpconfig.go).
//     No wp-config.php fails the job permanently: without it there is no
//     database to dump. A missing .htaccess or version.php is a warning.
//  2. Lists the tables of DB_NAME through the SSH connection and keeps
//     those whose name starts with the exact table prefix (a string
//     comparison, so "wp_" never matches "wpx_posts" as LIKE 'wp_%' would;
//     case-insensitive only where the server's lower_case_table_names is).
//  3. Dumps those tables with the agent's dump client through an SSH tunnel
//     (package mysql) into a spool, so their row counts are known.
//  4. Describes the snapshot (server, client, dump options, the database
//     and its tables, the WordPress version, prefix, multisite, the path
//     of wp-config.php, warnings), archives the dump as databases/<db>.sql,
//     then the site's files with the sftp connector (default excludes
//     below), and notes dump_to_files_end_seconds: how long after the dump
//     ended the file pull did, i.e. how far apart in time the two halves
//     of the snapshot are.
//
// # Reaching the database
//
// DB_HOST (or the source's db_host) is read as WordPress reads it
// (ParseDBHost) and reached from the SSH server: a host name or address
// over TCP (port 3306 by default); "localhost:/path/to.sock" through that
// unix socket. Plain "localhost" (or an empty DB_HOST) means the server's
// default socket to PHP's mysqli, so the connector looks for a socket at
// the usual paths (defaultSockets) and uses the first it finds, which also
// makes the server see the account's "localhost" host part; when there is
// none, or it cannot be used, it connects to 127.0.0.1 on DB_HOST's port
// (default 3306) with a warning.
//
// DB_PASSWORD can be overridden with the source's db_credential_id (for a
// wp-config.php that computes it), DB_HOST with db_host. DB_NAME, DB_USER
// and $table_prefix must be literals in wp-config.php.
//
// # Excludes
//
// Patterns are matched like the sftp connector's (path.Match on the full
// path and on the base name); a pattern holding "/" that is not absolute is
// taken relative to the site's path ("wp-content/uploads/2019" excludes
// <path>/wp-content/uploads/2019). The defaults (defaultExcludes) skip
// caches, WordPress's upgrade scratch directories, backup plugins' archives
// and *.log files.
package wordpress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/agentd/internal/connector/mysql"
	"github.com/xvault/xvault/agentd/internal/connector/sshconn"
	"github.com/xvault/xvault/agentd/internal/egress"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// ConnectorName is the descriptor's connector.
const ConnectorName = "wordpress"

// NoteDumpToFilesEnd is the note with the seconds between the end of the
// dump and the end of the file pull.
const NoteDumpToFilesEnd = "dump_to_files_end_seconds"

// Connector pulls one wordpress source. It implements connector.Connector
// and connector.Tester.
type Connector struct {
	cfg        sdk.WordPressConfig
	root       string // cfg.Path, cleaned
	hostKey    string
	cred       sshconn.Credential
	dbPassword *string // released db_credential_id password, overriding DB_PASSWORD
	dbHost     *DBHost // cfg.DBHost parsed, overriding DB_HOST
	exclude    []string
	env        connector.Env
	log        *slog.Logger
}

var (
	_ connector.Connector = (*Connector)(nil)
	_ connector.Tester    = (*Connector)(nil)
)

// New validates cfg and the released secret and returns a connector.
// hostKey, when set, is the host key the agent pinned for the source (it
// overrides cfg.HostKey). Invalid input is reported with an error wrapping
// connector.ErrPermanent.
func New(cfg sdk.WordPressConfig, hostKey string, secret *sdk.SecretPayload, env connector.Env) (*Connector, error) {
	c, err := newConnector(cfg, hostKey, secret, env)
	if err != nil {
		return nil, fmt.Errorf("wordpress source: %w: %w", err, connector.ErrPermanent)
	}
	// Checks host, port, username, credential and host key now.
	if _, err := c.dialer(c.hostKey, env.OnHostKey); err != nil {
		return nil, fmt.Errorf("wordpress source: %w", err)
	}
	return c, nil
}

func newConnector(cfg sdk.WordPressConfig, hostKey string, secret *sdk.SecretPayload, env connector.Env) (*Connector, error) {
	if !path.IsAbs(cfg.Path) || strings.ContainsAny(cfg.Path, "\x00\n\r") {
		return nil, fmt.Errorf("path %q must be an absolute path", cfg.Path)
	}
	if secret == nil {
		return nil, errors.New("no SSH credential was released")
	}
	if hostKey == "" {
		hostKey = cfg.HostKey
	}
	c := &Connector{cfg: cfg, root: path.Clean(cfg.Path), hostKey: hostKey, env: env, log: env.Logger,
		cred: sshconn.Credential{Password: secret.Password, PrivateKey: []byte(secret.PrivateKey), Passphrase: secret.Passphrase}}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.log = c.log.With("connector", ConnectorName, "host", cfg.Host)
	switch {
	case secret.DB != nil:
		pw := secret.DB.Password
		c.dbPassword = &pw
	case cfg.DBCredentialID != "":
		return nil, errors.New("db_credential_id is set but its credential was not released")
	}
	if cfg.DBHost != "" {
		h, err := ParseDBHost(cfg.DBHost)
		if err != nil {
			return nil, fmt.Errorf("db_host: %w", err)
		}
		c.dbHost = &h
	}
	var err error
	if c.exclude, err = excludes(c.root, cfg.Exclude); err != nil {
		return nil, err
	}
	if env.TempDir == "" {
		return nil, errors.New("the job has no private temp directory")
	}
	return c, nil
}

// dialer returns an SSH dialer pinned to hostKey ("" = trust on first use,
// reported to onHostKey).
func (c *Connector) dialer(hostKey string, onHostKey func(string) error) (*sshconn.Dialer, error) {
	return sshconn.NewDialer(
		sshconn.Config{Host: c.cfg.Host, Port: c.cfg.Port, Username: c.cfg.Username, HostKey: hostKey},
		c.cred, sshconn.Options{OnHostKey: onHostKey, Logger: c.log, DialContext: egress.Dialer{Policy: c.env.Egress}.DialContext})
}

// keyPin records the host key trusted on first use, so that the job's
// later connections (the dump's tunnel, the file pull) are pinned to it.
type keyPin struct {
	mu     sync.Mutex
	seen   string
	record func(string) error
}

func (k *keyPin) onHostKey(fp string) error {
	k.mu.Lock()
	k.seen = fp
	k.mu.Unlock()
	if k.record == nil {
		return errors.New("no pinned host key and no way to record one")
	}
	return k.record(fp)
}

func (k *keyPin) get() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.seen
}

// Pull archives the site: see the package doc for the order.
func (c *Connector) Pull(ctx context.Context, sink connector.Sink) error {
	s, err := c.inspect(ctx)
	if err != nil {
		return err
	}
	c.log.Info("wordpress site", "config", s.configPath, "version", s.version, "database", s.db.name,
		"prefix", s.db.prefix, "tables", len(s.tables), "route", s.route.String())
	sink.Progress(archive.DatabaseEntry(s.db.name, "sql"))
	sess, err := mysql.Open(ctx, c.mysqlServer(s), c.env)
	if err != nil {
		return fmt.Errorf("wordpress database %s: %w", s.db.name, err)
	}
	dump, err := sess.Dump(ctx, s.db.name, s.tableNames())
	dumpEnd := time.Now()
	server, tool := sess.ServerInfo(), sess.Tool()
	_ = sess.Close()
	if err != nil {
		return fmt.Errorf("wordpress database %s: %w", s.db.name, err)
	}
	defer dump.Spool.Discard()
	desc := archive.Descriptor{
		Connector: ConnectorName, Server: &server, Tools: []archive.Software{tool}, Options: dump.Options,
		Databases: []archive.Database{dump.Database},
		WordPress: &archive.WordPress{Version: s.version, TablePrefix: s.db.prefix, Multisite: s.multisite,
			Database: s.db.name, ConfigPath: s.configPath},
		Warnings: append(s.warnings, dump.Warnings...),
	}
	if err := sink.Describe(desc); err != nil {
		return err
	}
	body, err := dump.Spool.Reader()
	if err != nil {
		return fmt.Errorf("wordpress database %s: %w", s.db.name, err)
	}
	if err := sink.PutObject(dump.Database.File, dump.Spool.Size(), dumpEnd, body); err != nil {
		return err
	}
	dump.Spool.Discard()
	if err := c.pullFiles(ctx, s, sink); err != nil {
		return err
	}
	sink.Note(NoteDumpToFilesEnd, float64(time.Since(dumpEnd).Milliseconds())/1000)
	return nil
}

// mysqlServer is how package mysql reaches the site's database: through
// the same SSH server, pinned to the key seen on the first connection.
func (c *Connector) mysqlServer(s *site) mysql.Server {
	return mysql.Server{
		Host: s.route.host, Port: s.route.port, Socket: s.route.socket,
		Username: s.db.user, Password: s.db.password,
		SSH: &mysql.SSH{Host: c.cfg.Host, Port: c.cfg.Port, Username: c.cfg.Username, HostKey: s.hostKey,
			Password: c.cred.Password, PrivateKey: string(c.cred.PrivateKey), Passphrase: c.cred.Passphrase},
	}
}
