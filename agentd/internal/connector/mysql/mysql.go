// Package mysql is the connector of mysql sources (MySQL and MariaDB): it
// dumps the selected databases with the agent's own dump client
// (mariadb-dump, else mysqldump) into spools, then archives them as
// databases/<db>.sql with server/grants.sql, described in xvault.json
// (server and client versions, dump options, tables with engines and row
// counts, warnings). It also exports Session (Open, Dump, Grants) for the
// WordPress connector, which dumps a site's tables through SSH, and Loader
// (NewLoader), which loads such dumps back into a server with the agent's
// command-line client (restores into a database, verify jobs), transforming
// them on the way (DEFINER, sandbox line, GTID statements, a WordPress table
// prefix; see load.go and transform.go). CheckDump checks one structurally.
//
// # Reaching the server
//
// Directly, the host is resolved and checked against the agent's egress
// policy once, and both the agent's metadata connection (Go driver) and the
// dump client use that checked address. A local unix socket is used only
// when the agent allows loopback. Through SSH (the source's "ssh" block),
// the agent connects to the SSH server (host key pinned or trusted on first
// use, like ssh sources) and forwards the database address as seen from
// there (default 127.0.0.1:3306, or a socket there) to a unix socket in a
// private directory of the job; the dump client connects to that socket.
// Nothing is installed or run on the customer's server. The agent's client
// is used rather than the server's own mysqldump over SSH because a
// MySQL-protocol dump client reads any server version (it has no
// pg_dump-style "client older than server" refusal), and because an
// account that may forward ports often may not run commands.
//
// # Dump options
//
// --single-transaction --routines --triggers --events --hex-blob
// --default-character-set=utf8mb4 --no-tablespaces --max-allowed-packet=1G,
// plus --set-gtid-purged=OFF and --column-statistics=0 where the client
// (MySQL's) knows them; the database is named after "--" and without
// --databases, so the dump has no CREATE DATABASE or USE line and loads
// into a database of any name. Lock waits are bounded by the agent (see
// watchLocks). Success is exit status 0 AND the "-- Dump completed" trailer;
// anything else fails the job with the first lines of the client's stderr,
// and nothing is archived.
//
// # Secrets
//
// The password reaches the client only through a 0600 option file in the
// session's private directory, passed with --defaults-file (see
// tool.optionFile); the client runs with a minimal environment (no
// MYSQL_PWD) and a private HOME.
package mysql

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/xvault/xvault/agentd/internal/connector"
	"github.com/xvault/xvault/sdk"
	"github.com/xvault/xvault/sdk/archive"
)

// GrantsName is the archive entry of the accounts' grants.
const GrantsName = archive.ServerPrefix + "grants.sql"

// Connector pulls one mysql source. It implements connector.Connector and
// connector.Tester.
type Connector struct {
	cfg      sdk.MySQLConfig
	srv      Server
	env      connector.Env
	lockWait time.Duration // tests shorten it
}

var (
	_ connector.Connector = (*Connector)(nil)
	_ connector.Tester    = (*Connector)(nil)
)

// New validates cfg and returns a connector. Invalid input is reported with
// an error wrapping connector.ErrPermanent.
func New(cfg sdk.MySQLConfig, hostKey string, secret *sdk.SecretPayload, env connector.Env) (*Connector, error) {
	if err := validateConfig(cfg, secret); err != nil {
		return nil, fmt.Errorf("mysql source: %w: %w", err, connector.ErrPermanent)
	}
	srv := ServerFromConfig(cfg, hostKey, secret)
	if err := srv.validate(); err != nil {
		return nil, fmt.Errorf("mysql source: %w: %w", err, connector.ErrPermanent)
	}
	return &Connector{cfg: cfg, srv: srv, env: env, lockWait: defaultLockWait}, nil
}

func validateConfig(cfg sdk.MySQLConfig, secret *sdk.SecretPayload) error {
	switch {
	case secret == nil:
		return errors.New("no credential was released for the source")
	case len(cfg.Databases) > 0 && cfg.AllDatabases:
		return errors.New("databases and all_databases exclude each other")
	case len(cfg.Databases) == 0 && !cfg.AllDatabases:
		return errors.New("name the databases to back up, or set all_databases")
	case len(cfg.ExcludeDatabases) > 0 && !cfg.AllDatabases:
		return errors.New("exclude_databases needs all_databases")
	}
	for _, db := range cfg.Databases {
		if err := validName("database", db); err != nil {
			return err
		}
	}
	if cfg.SSH != nil {
		switch {
		case cfg.SSH.Host == "" || cfg.SSH.Username == "":
			return errors.New("ssh: host and username are required")
		case secret.SSH == nil:
			return errors.New("ssh: no SSH credential was released (credential_id)")
		}
	}
	return nil
}

// databases chooses what to dump: the configured list (each must exist),
// or every database but the system schemas and the excluded ones.
func (c *Connector) databases(ctx context.Context, s *Session) ([]string, error) {
	all, err := s.Databases(ctx)
	if err != nil {
		return nil, err
	}
	if !c.cfg.AllDatabases {
		for _, db := range c.cfg.Databases {
			if !slices.Contains(all, db) {
				return nil, fmt.Errorf("database %q does not exist on the server (or the account may not see it): %w", db, connector.ErrPermanent)
			}
		}
		return c.cfg.Databases, nil
	}
	var out []string
	for _, db := range all {
		if !slices.Contains(c.cfg.ExcludeDatabases, db) {
			out = append(out, db)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no database to back up: the account sees none but the system schemas and the excluded ones: %w", connector.ErrPermanent)
	}
	return out, nil
}

// Pull dumps every selected database into spools, describes the snapshot,
// then archives each dump and server/grants.sql. A failed dump fails the
// pull before anything is archived.
func (c *Connector) Pull(ctx context.Context, sink connector.Sink) error {
	s, err := Open(ctx, c.srv, c.env)
	if err != nil {
		return err
	}
	defer s.Close()
	s.lockWait = c.lockWait
	if s.toolErr != nil {
		return s.toolErr
	}
	dbs, err := c.databases(ctx, s)
	if err != nil {
		return err
	}
	if tr, ok := sink.(connector.TransferReporter); ok {
		tr.TransferMode(c.transferMode())
	}
	info := s.ServerInfo()
	desc := archive.Descriptor{Connector: "mysql", Server: &info, Tools: []archive.Software{s.Tool()},
		Options: s.tool.dumpFlags(), Warnings: []string{}}
	dumps, err := c.dumpAll(ctx, s, sink, dbs, &desc)
	defer func() {
		for _, d := range dumps {
			d.Spool.Discard()
		}
	}()
	if err != nil {
		return err
	}
	dumped := make([]string, len(dumps))
	for i, d := range dumps {
		dumped[i] = d.Database.Name
	}
	grants, warn, err := s.Grants(ctx, dumped)
	if err != nil {
		return err
	}
	if warn != "" {
		desc.Warnings = append(desc.Warnings, warn)
	}
	if grants != nil {
		desc.Globals = []string{GrantsName}
	}
	if err := sink.Describe(desc); err != nil {
		return err
	}
	return putAll(sink, dumps, grants)
}

// dumpAll spools each database's dump and records it in desc. It returns
// the dumps made so far with its error, for the caller to discard.
func (c *Connector) dumpAll(ctx context.Context, s *Session, sink connector.Sink, dbs []string, desc *archive.Descriptor) ([]*Dump, error) {
	var dumps []*Dump
	for _, db := range dbs {
		sink.Progress(archive.DatabaseEntry(db, "sql"))
		d, err := s.Dump(ctx, db, nil)
		if errors.Is(err, errNoDatabase) && c.cfg.AllDatabases {
			// Dropped since it was listed: there is nothing to back up.
			desc.Warnings = append(desc.Warnings, fmt.Sprintf("database %s was dropped during the backup", db))
			continue
		}
		if err != nil {
			return dumps, err
		}
		dumps = append(dumps, d)
		desc.Databases = append(desc.Databases, d.Database)
		desc.Warnings = append(desc.Warnings, d.Warnings...)
	}
	return dumps, nil
}

func (c *Connector) transferMode() string {
	if c.srv.SSH != nil {
		return "ssh-tunnel"
	}
	return "direct"
}

// putAll archives the spooled dumps, then the grants.
func putAll(sink connector.Sink, dumps []*Dump, grants []byte) error {
	now := time.Now()
	for _, d := range dumps {
		r, err := d.Spool.Reader()
		if err != nil {
			return fmt.Errorf("dump of %s: %w", d.Database.Name, err)
		}
		if err := sink.PutObject(d.Database.File, d.Spool.Size(), now, r); err != nil {
			return err
		}
		d.Spool.Discard()
	}
	if grants != nil {
		return sink.PutObject(GrantsName, int64(len(grants)), now, bytes.NewReader(grants))
	}
	return nil
}
